/**
 * Reports across messages as operators see them: versions and their status, observations with
 * their history, pending and subcontracted tests, parked results, deliveries per version and
 * recipient; a version's PDF and its narrative rendered on the server; the diff of two versions.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext, ConsoleRoutes } from '../context';
import type { Result } from '../../lab';
import { pendingObservations, reportFromJson, type ObservationEntry, type ReportState } from '../../reports';
import { OrderBook } from '../../orders';
import { parkedItemId } from '../../reports/parked-actions';
import type { StoredVersionDelivery } from '../../store/types';
import { MASK, badRequest, intParam, json, maskTail, notFound, seesIdentity } from './common';
import { versionFolder, writtenVersion } from './version-files';
import { diffLines, narrativeLines, type DiffLine } from './version-diff';
import { NarrativeRenderer } from '../web/narrative';

export interface ObservationView {
  key: string;
  code: string;
  name: string;
  value: string;
  status: string;
  flags: string[];
  range: string;
  withdrawn?: string;
  messageId: string;
  history: { value: string; status: string; endedBy: string; messageId: string }[];
}

export interface ReportView {
  lab: string;
  fillerOrder: string;
  revision: number;
  updatedAt: string;
  messages: string[];
  patient: { name: string; birthDate: string; sex: string; ins: string; insQualified: boolean; masked: boolean };
  dossier: string;
  prescriber: string;
  versions: { version: number; status: string; written: boolean; createdAt: string; documents: boolean }[];
  observations: ObservationView[];
  pending: string[];
  parked: { id: string; messageId: string; observationKey: string; reason: string; detail: string }[];
  /** Operators' decisions on the report (publish now, parked results), oldest first. */
  actions: { action: string; by: string; at: string; note?: string; outcome?: string }[];
  order?: { key: string; status: string; tests: { placer: string; code: string; display: string; state: string; subOrder?: string }[]; subOrders: { number: string; subcontractor: string; finess?: string; state: string; note: string; parked: boolean }[] };
  deliveries: (Omit<StoredVersionDelivery, 'updatedAt' | 'lab' | 'fillerOrder'> & { updatedAt: string })[];
}

/** A result's value as a reader sees it, bounded (an embedded document is named, not shown). */
export function valueOf(r: Result): string {
  const v = r.value;
  const unit = r.unitText ?? r.unit ?? '';
  let s: string;
  if (v.type === 'NM') s = `${v.value}${unit ? ` ${unit}` : ''}`;
  else if (v.type === 'SN') s = `${v.text}${unit ? ` ${unit}` : ''}`;
  else if (v.type === 'CWE') s = v.coded.display ?? v.coded.code;
  else if (v.type === 'ED') s = `[${v.mediaType}, ${v.data.length} bytes]`;
  else if ('text' in v) s = String(v.text);
  else if ('value' in v) s = String(v.value);
  else s = '';
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function observationView(e: ObservationEntry): ObservationView {
  const r = e.current ?? e.history.at(-1)?.result;
  return {
    key: e.key,
    code: `${r?.code.loinc?.code ?? r?.code.local?.code ?? e.key}${r?.subId ? `[${r.subId}]` : ''}`,
    name: r?.code.text ?? '',
    value: e.current ? valueOf(e.current) : '',
    status: e.current?.status ?? '',
    flags: e.current?.flags ?? [],
    range: e.current?.range?.text ?? '',
    ...(e.withdrawn ? { withdrawn: e.withdrawn.reason } : {}),
    messageId: e.messageId,
    history: e.history.map((h) => ({ value: valueOf(h.result), status: h.result.status, endedBy: h.endedBy, messageId: h.messageId })),
  };
}

function patientOf(state: ReportState, identity: boolean): ReportView['patient'] {
  const p = state.patientRecord;
  const ins = p.ins ?? p.insReceived;
  const name = [p.usedFamily && p.usedFamily !== p.birthFamily ? `${p.usedFamily} (né(e) ${p.birthFamily})` : p.birthFamily, p.usedGiven ?? p.firstBirthGiven].filter(Boolean).join(' ');
  return identity
    ? { name, birthDate: (p.birthDate ?? '').replace(/^(\d{4})(\d\d)(\d\d)$/, '$1-$2-$3'), sex: p.sex, ins: ins?.matricule ?? '', insQualified: !!p.ins, masked: false }
    : { name: MASK, birthDate: MASK, sex: p.sex, ins: ins ? maskTail(ins.matricule) : '', insQualified: !!p.ins, masked: true };
}

async function loadState(ctx: ConsoleContext, lab: string, fillerOrder: string): Promise<{ state: ReportState; updatedAt: Date }> {
  const row = await ctx.store.getReport(lab, fillerOrder);
  if (!row) throw notFound(`report ${fillerOrder} of ${lab}`);
  return { state: reportFromJson(row.state), updatedAt: row.updatedAt };
}

/** The whole report; audited as a view of patient data. */
export async function reportView(ctx: ConsoleContext, req: FastifyRequest, lab: string, fillerOrder: string): Promise<ReportView> {
  const { state, updatedAt } = await loadState(ctx, lab, fillerOrder);
  await ctx.audit(req, { action: 'report.view', target: `${lab}/${fillerOrder}`, patient: true });
  const [versions, deliveries, order] = await Promise.all([
    ctx.store.reportVersions(lab, fillerOrder),
    ctx.store.versionDeliveries(lab, fillerOrder),
    new OrderBook(ctx.store, { authority: '' }).byRef('filler', lab, fillerOrder),
  ]);
  const resulted = new Set(state.requests.filter((r) => state.observations.some((e) => e.requestKey === r.key && e.current)).flatMap((r) => [r.request.code.loinc?.code, r.request.code.local?.code]));
  const pending = pendingObservations(state);
  const h = state.header;
  return {
    lab,
    fillerOrder,
    revision: state.revision,
    updatedAt: updatedAt.toISOString(),
    messages: state.messages,
    patient: patientOf(state, seesIdentity(req)),
    dossier: h.dossier,
    prescriber: [h.prescriber?.prefix, h.prescriber?.given, h.prescriber?.family].filter(Boolean).join(' '),
    versions: versions.map((v) => ({ version: v.version, status: v.status, written: v.written, createdAt: v.createdAt.toISOString(), documents: v.written && v.status !== 'deleted' && !!versionFolder(ctx, fillerOrder, v.version) })),
    observations: state.observations.map(observationView),
    pending: pending.map((k) => {
      const o = observationView(state.observations.find((e) => e.key === k)!);
      return `${o.code} ${o.name}`.trim();
    }),
    parked: state.parked.map((p) => ({ id: parkedItemId(p), messageId: p.messageId, observationKey: p.observationKey, reason: p.reason, detail: p.detail })),
    actions: (state.actions ?? []).map((a) => ({ action: a.action, by: a.by, at: a.at, ...(a.note ? { note: a.note } : {}), ...(a.outcome ? { outcome: a.outcome } : {}) })),
    ...(order
      ? {
          order: {
            key: order.key,
            status: order.status,
            tests: order.tests.map((t) => ({ placer: t.placer, code: t.code.code, display: t.code.display ?? '', state: t.cancelled ? 'cancelled' : resulted.has(t.code.code) ? 'resulted' : 'awaited', ...(t.subOrder ? { subOrder: t.subOrder } : {}) })),
            subOrders: order.subOrders.map((s) => ({
              number: s.number,
              subcontractor: s.subcontractor,
              ...(s.finess ? { finess: s.finess } : {}),
              state: s.state,
              note: [s.answer, s.keptIn && `results kept in ${s.keptIn.lab}/${s.keptIn.fillerOrder}`, s.parked, ...(s.released ?? [])].filter(Boolean).join('; '),
              parked: !!s.parked,
            })),
          },
        }
      : {}),
    deliveries: deliveries.map((d) => ({ version: d.version, target: d.target, state: d.state, detail: d.detail, updatedAt: d.updatedAt.toISOString() })),
  };
}

/** The diff between two written versions' narratives (no identity in it: the header is left out). */
export async function versionDiff(ctx: ConsoleContext, req: FastifyRequest, lab: string, fillerOrder: string, a: number, b: number): Promise<DiffLine[]> {
  await loadState(ctx, lab, fillerOrder);
  await ctx.audit(req, { action: 'report.diff', target: `${lab}/${fillerOrder} v${a}..v${b}`, patient: true });
  return diffLines(narrativeLines(writtenVersion(ctx, fillerOrder, a).n3), narrativeLines(writtenVersion(ctx, fillerOrder, b).n3));
}

type ReportReq = FastifyRequest<{ Params: { lab: string; filler: string; n?: string }; Querystring: Record<string, string | undefined> }>;

export const reportRoutes: ConsoleRoutes = (app: FastifyInstance, ctx: ConsoleContext) => {
  const narratives = new NarrativeRenderer();
  app.addHook('onClose', async () => narratives.close());

  app.get('/api/reports', json(async (req: FastifyRequest<{ Querystring: { filler?: string } }>) => {
    const filler = req.query.filler?.trim();
    if (!filler) throw badRequest('filler: the filler order number to look up');
    return (await ctx.store.reportsByFillerOrder(filler)).map((r) => ({ lab: r.lab, fillerOrder: r.fillerOrder, updatedAt: r.updatedAt.toISOString() }));
  }));

  app.get('/api/reports/:lab/:filler', json(async (req: ReportReq) => reportView(ctx, req, req.params.lab, req.params.filler)));

  app.get('/api/reports/:lab/:filler/diff', json(async (req: ReportReq) => {
    const a = intParam(req.query.a, 0, 1, 1_000_000);
    const b = intParam(req.query.b, 0, 1, 1_000_000);
    if (!a || !b) throw badRequest('a and b: the two versions to compare');
    return { a, b, lines: await versionDiff(ctx, req, req.params.lab, req.params.filler, a, b) };
  }));

  // The documents carry the full identity: operators only.
  app.get('/api/reports/:lab/:filler/versions/:n/pdf', { config: { role: 'operator' } }, json(async (req: ReportReq, reply) => {
    const n = intParam(req.params.n, 0, 1, 1_000_000);
    await loadState(ctx, req.params.lab, req.params.filler);
    const v = writtenVersion(ctx, req.params.filler, n);
    if (!v.pdf) throw notFound(`PDF of ${req.params.filler} v${n}`);
    await ctx.audit(req, { action: 'report.pdf', target: `${req.params.lab}/${req.params.filler} v${n}`, patient: true });
    return reply
      .type('application/pdf')
      .header('content-disposition', `inline; filename="${v.pdf.fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
      .header('cache-control', 'private, no-store')
      .send(v.pdf.data);
  }));

  app.get('/api/reports/:lab/:filler/versions/:n/narrative', { config: { role: 'operator' } }, json(async (req: ReportReq, reply) => {
    const n = intParam(req.params.n, 0, 1, 1_000_000);
    await loadState(ctx, req.params.lab, req.params.filler);
    const v = writtenVersion(ctx, req.params.filler, n);
    const page = await narratives.render(`${v.dir}/${v.profile}`, v.n3);
    await ctx.audit(req, { action: 'report.narrative', target: `${req.params.lab}/${req.params.filler} v${n}`, patient: true });
    // Shown in a sandboxed frame; the document may not run anything nor fetch anything.
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
      .header('cache-control', 'private, no-store')
      .send(page);
  }));
};

/**
 * The human-readable part of the N3 (DOC.03: "auto-présentable"). Every structured fact is
 * printed here first, in section/text tables, and the entries point back to it with
 * `#ID` references; the narrative therefore carries the same information as the PDF:
 * result name (with the Cofrac `*`), value, unit, reference range, interpretation, non-final
 * status, comments, specimen, validator and the performing lab of subcontracted results.
 */
import type { Comment, Organization, Professional, Request, Result, Specimen } from '../lab/report';
import type { DocumentProfile, LabProfile } from '../lab/profile';
import { type El, ncName, professionalLabel } from './xml';
import { flagLabel, PROFESSIONAL_ONLY_COMMENT_TYPES, statusLabel } from './vocab';
import { formatTs, valueText } from './values';

/** Hands out unique XML IDs for narrative anchors. */
export class IdRegistry {
  private readonly used = new Set<string>();
  next(hint: string): string {
    const base = ncName(hint);
    let id = base;
    for (let i = 2; this.used.has(id); i++) id = `${base}-${i}`;
    this.used.add(id);
    return id;
  }
}

export interface RenderContext {
  lab: LabProfile;
  profile: DocumentProfile;
  ids: IdRegistry;
}

/** Narrative anchors of one result, used by the entries. */
export interface ResultRefs {
  name: string;
  value: string;
  comments: Array<{ comment: Comment; id: string }>;
  /** observationMedia ID for ED images. */
  media?: string;
}

export interface RequestRefs {
  results: Map<string, ResultRefs>;
  comments: Array<{ comment: Comment; id: string }>;
  isolates: Map<string, string>;
  /** Anchor of the "en cours" line when nothing of the request can be structured yet. */
  pendingNote?: string;
}

/** Comments the audience may read: the patient profile leaves professional-only notes out (DOC.02). */
export function visibleComments(list: Comment[], profile: DocumentProfile): Comment[] {
  return list.filter((c) => profile === 'pro' || !PROFESSIONAL_ONLY_COMMENT_TYPES.has((c.type ?? '').toUpperCase()));
}

/** True when the lab configured this test as covered by its Cofrac accreditation (DOC.10). */
export function isAccredited(r: Result, lab: LabProfile): boolean {
  if (r.accredited !== undefined) return r.accredited;
  const codes = new Set(lab.accreditedCodes);
  return [r.code.loinc?.code, r.code.local?.code].some((c) => !!c && codes.has(c));
}

/** Multi-line text: lines separated by <br/> inside the given element. */
export function lines(el: El, text: string): El {
  text.split(/\r?\n/).forEach((l, i) => {
    if (i > 0) el.ele('br');
    el.txt(l);
  });
  return el;
}

export function orgLabel(o: Organization): string {
  const a = o.address;
  const where = a ? [a.street?.join(' '), a.postalCode, a.city].filter(Boolean).join(' ') : '';
  const tel = (o.telecom ?? []).map((t) => t.replace(/^tel:/, 'Tél. ').replace(/^mailto:/, '')).join(', ');
  return [o.name, where, tel].filter(Boolean).join(' – ');
}

const HEAD = ['Examen', 'Résultat', 'Unité', 'Valeurs de référence', 'Interprétation'];

function table(text: El, caption?: El | ((th: El) => void)): El {
  const t = text.ele('table', { border: '1', width: '100%' });
  const head = t.ele('thead');
  if (typeof caption === 'function') caption(head.ele('tr').ele('th', { colspan: String(HEAD.length), align: 'left' }));
  const tr = head.ele('tr');
  for (const h of HEAD) tr.ele('th').txt(h);
  return t.ele('tbody');
}

function resultRow(tbody: El, r: Result, ctx: RenderContext, refs: Map<string, ResultRefs>): void {
  const tr = tbody.ele('tr');
  const name = ctx.ids.next(`res-${r.id}`);
  const value = ctx.ids.next(`val-${r.id}`);
  const nameCell = tr.ele('td');
  nameCell.ele('content', { ID: name }).txt(r.code.text);
  if (isAccredited(r, ctx.lab) && ctx.lab.cofrac) nameCell.txt(' *');
  const status = statusLabel(r.status);
  if (status) nameCell.txt(` (${status})`);
  if (r.autoValidated) nameCell.txt(' (validation automatique)');
  const valueCell = tr.ele('td');
  let media: string | undefined;
  if (r.value.type === 'ED' && r.value.mediaType.startsWith('image/')) {
    media = ctx.ids.next(`img-${r.id}`);
    valueCell.ele('content', { ID: value }).ele('renderMultiMedia', { referencedObject: media });
  } else {
    const shown = r.value.type === 'NM' || r.value.type === 'SN' ? rawValue(r) : valueText(r);
    const attrs: Record<string, string> = { ID: value };
    if (r.flags.some((f) => !['N', ''].includes(f.trim().toUpperCase()))) attrs.styleCode = 'Bold';
    lines(valueCell.ele('content', attrs), shown || (r.status === 'pending' ? 'en cours' : ''));
  }
  tr.ele('td').txt(r.unitText?.trim() || (r.unit && r.unit !== '1' ? r.unit : ''));
  tr.ele('td').txt(r.range?.text ?? '');
  tr.ele('td').txt(r.flags.map(flagLabel).join(', '));
  const comments = visibleComments(r.comments, ctx.profile).map((comment) => {
    const id = ctx.ids.next(`com-${r.id}`);
    lines(tbody.ele('tr').ele('td', { colspan: String(HEAD.length) }).ele('content', { ID: id, styleCode: 'Italics' }), comment.text);
    return { comment, id };
  });
  if (r.performer) {
    tbody.ele('tr').ele('td', { colspan: String(HEAD.length) }).txt(`Examen réalisé par : ${orgLabel(r.performer.organization)}`);
  }
  refs.set(r.id, { name, value, comments, media });
}

/** NM and SN values as sent, without the unit (the unit has its own column). */
function rawValue(r: Result): string {
  const v = r.value;
  if (v.type === 'NM') return v.value;
  if (v.type === 'SN') return v.text || [v.comparator, v.num1, v.separator, v.num2].filter(Boolean).join('');
  return '';
}

function specimenLine(s: Specimen): string {
  const parts = [`Échantillon : ${s.type?.display || s.type?.code || 'non précisé'}`];
  if (s.site) parts.push(`site ${s.site.display || s.site.code}`);
  if (s.id) parts.push(`n° ${s.id}`);
  if (s.collectedAt) parts.push(`prélevé le ${formatTs(s.collectedAt)}`);
  if (s.receivedAt) parts.push(`reçu le ${formatTs(s.receivedAt)}`);
  if (s.rejectReason) parts.push(`non conforme : ${s.rejectReason.display || s.rejectReason.code}`);
  return parts.join(', ');
}

function latestValidation(req: Request): string | undefined {
  let at: string | undefined;
  for (const r of req.results) if (r.validatedAt && (!at || r.validatedAt.slice(0, 14) > at.slice(0, 14))) at = r.validatedAt;
  return at;
}

function validatorLine(p: Professional | undefined, at: string | undefined): string | undefined {
  if (!p) return undefined;
  return `Résultats validés par ${professionalLabel(p)}${at ? ` le ${formatTs(at)}` : ''}`;
}

/** Results of the request that sit outside any isolate. */
export function directResults(req: Request): Result[] {
  const inIsolate = new Set((req.isolates ?? []).flatMap((i) => [...i.susceptibilities.map((s) => s.id), ...isolateOwnResults(req, i.subId).map((r) => r.id)]));
  return req.results.filter((r) => !inIsolate.has(r.id));
}

/** Results carrying exactly the isolate's sub-id (count, identification) and not in its antibiogram. */
export function isolateOwnResults(req: Request, subId: string): Result[] {
  const iso = req.isolates?.find((i) => i.subId === subId);
  const sus = new Set(iso?.susceptibilities.map((s) => s.id));
  return req.results.filter((r) => r.subId === subId && !sus.has(r.id));
}

/** Narrative of one request (sub-chapter text); returns the anchors the entry will reference. */
export function requestNarrative(text: El, req: Request, ctx: RenderContext): RequestRefs {
  const refs: RequestRefs = { results: new Map(), comments: [], isolates: new Map() };
  for (const s of req.specimens) {
    text.ele('paragraph').txt(specimenLine(s));
    // Observations on the specimen itself (volume, aspect…): shown, not structured as results.
    if (s.observations?.length) {
      const list = text.ele('list');
      for (const o of s.observations) list.ele('item').txt(`${o.code.text} : ${valueText(o)}`);
    }
  }
  const direct = directResults(req);
  if (direct.length) {
    const tbody = table(text);
    for (const r of direct) resultRow(tbody, r, ctx, refs.results);
  }
  for (const iso of req.isolates ?? []) {
    const isoId = ctx.ids.next(`iso-${req.id}-${iso.subId}`);
    refs.isolates.set(iso.subId, isoId);
    const tbody = table(text, (th) => {
      th.txt('Isolat : ');
      th.ele('content', { ID: isoId }).txt(iso.organism.display || iso.organism.code);
    });
    for (const r of isolateOwnResults(req, iso.subId)) resultRow(tbody, r, ctx, refs.results);
    for (const r of iso.susceptibilities) resultRow(tbody, r, ctx, refs.results);
  }
  if (!direct.length && !(req.isolates ?? []).length) {
    refs.pendingNote = ctx.ids.next(`pending-${req.id}`);
    text.ele('paragraph').ele('content', { ID: refs.pendingNote }).txt(`${req.code.text} : examen en cours`);
  }
  for (const c of visibleComments(req.comments, ctx.profile)) {
    const id = ctx.ids.next(`com-${req.id}`);
    lines(text.ele('paragraph').ele('content', { ID: id }), c.text);
    refs.comments.push({ comment: c, id });
  }
  if (req.performer) text.ele('paragraph').txt(`Examen sous-traité, réalisé par : ${orgLabel(req.performer.organization)}${req.performer.performedAt ? ` le ${formatTs(req.performer.performedAt)}` : ''}`);
  // The latest validation time of the request's results, as the PDF and the header say it.
  const v = validatorLine(req.validator, latestValidation(req) ?? req.reportedAt);
  if (v) text.ele('paragraph').txt(v);
  return refs;
}

/**
 * `passerelle report <filler order number>`: what the store holds of a report across messages
 * — its versions, each observation's current value with its history, what is pending and what
 * was parked — for an operator. Codes and values only: no patient name or identifier.
 */
import { existsSync } from 'node:fs';
import { engineConfigFromEnv } from '../config/engine-config';
import { loadChannelDir } from '../config/load-channels';
import { storeSettings } from '../engine';
import { createStore } from '../store';
import { ReportPublisher, reportsDestinationOptions } from '../documents';
import { silentLogger } from '../runtime/logger';
import { AnsKit } from '../validation';
import type { Result } from '../lab';
import { pendingObservations, reportFromJson, type ObservationEntry } from '../reports';
import { OrderBook } from '../orders';

const out = (s: string): void => void process.stdout.write(s + '\n');

function valueText(r: Result): string {
  const v = r.value;
  const unit = r.unitText ? ` ${r.unitText}` : '';
  switch (v.type) {
    case 'NM':
      return v.value + unit;
    case 'SN':
      return v.text + unit;
    case 'CWE':
      return v.coded.display ?? v.coded.code;
    case 'ST':
    case 'TX':
    case 'FT':
      return v.text.length > 40 ? `${v.text.slice(0, 40).replace(/\n/g, ' ')}…` : v.text.replace(/\n/g, ' ');
    case 'ED':
      return `${v.mediaType} (${v.data.length} bytes)`;
    case 'DT':
    case 'TS':
      return v.value;
    default:
      return '-';
  }
}

function codeText(e: ObservationEntry): string {
  const r = e.current ?? e.history.at(-1)?.result;
  const code = r?.code.loinc?.code ?? r?.code.local?.code ?? e.key;
  return `${code}${r?.subId ? `[${r.subId}]` : ''} ${r?.code.text ?? ''}`.trim();
}

export async function reportCommand(fillerOrder: string, lab: string | undefined): Promise<number> {
  const store = createStore(storeSettings(engineConfigFromEnv()));
  await store.init();
  try {
    const rows = (await store.reportsByFillerOrder(fillerOrder)).filter((r) => lab === undefined || r.lab === lab);
    if (rows.length === 0) {
      process.stderr.write(`no report ${fillerOrder}${lab ? ` of ${lab}` : ''} in the store\n`);
      return 1;
    }
    for (const row of rows) {
      const state = reportFromJson(row.state);
      out(`report ${fillerOrder} of ${row.lab}: revision ${state.revision}, ${state.messages.length} message(s), updated ${row.updatedAt.toISOString()}`);
      const versions = await store.reportVersions(row.lab, fillerOrder);
      out(versions.length === 0 ? 'versions: none published' : 'versions:');
      for (const v of versions) out(`  v${v.version}\t${v.status}\t${v.written ? 'written' : 'reserved, not written'}\t${v.createdAt.toISOString()}`);
      out('observations:');
      for (const e of state.observations) {
        const now = e.current ? `${valueText(e.current)}\t${e.current.status}` : `withdrawn (${e.withdrawn?.reason ?? '?'})`;
        const before = e.history.map((h) => `${valueText(h.result)} ${h.result.status}, ended by ${h.endedBy}`).join('; ');
        out(`  ${codeText(e)}\t${now}${before ? `\t[before: ${before}]` : ''}`);
      }
      const pending = pendingObservations(state);
      out(`pending: ${pending.length === 0 ? 'none' : pending.map((k) => codeText(state.observations.find((e) => e.key === k)!)).join(', ')}`);
      if (state.parked.length > 0) {
        out(`parked for an operator: ${state.parked.length}`);
        for (const p of state.parked) out(`  ${p.observationKey}\t${p.reason}\tfrom ${p.messageId}\t${p.detail}`);
      }
      await printOrder(new OrderBook(store, { authority: '' }), row.lab, fillerOrder, state);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** The order the report answers: ordered tests (awaited ones marked), sub-orders, status. */
async function printOrder(book: OrderBook, lab: string, fillerOrder: string, state: ReturnType<typeof reportFromJson>): Promise<void> {
  const order = await book.byRef('filler', lab, fillerOrder);
  if (!order) return out('order: none in the store (completeness from the results alone)');
  out(`order ${order.key}: status ${order.status}${order.notified?.length ? `, placer told ${order.notified.join(', ')}` : ''}`);
  const resulted = new Set(state.requests.filter((r) => state.observations.some((e) => e.requestKey === r.key && e.current)).flatMap((r) => [r.request.code.loinc?.code, r.request.code.local?.code]));
  for (const t of order.tests) {
    const what = t.cancelled ? 'cancelled' : resulted.has(t.code.code) ? 'resulted' : 'awaited';
    out(`  ${t.placer}\t${t.code.code} ${t.code.display ?? ''}\t${what}${t.subOrder ? `\tsub-order ${t.subOrder}` : ''}`);
  }
  for (const sub of order.subOrders) {
    const extra = [sub.answer, sub.keptIn && `results kept in ${sub.keptIn.lab}/${sub.keptIn.fillerOrder}`, sub.parked].filter(Boolean).join('; ');
    out(`  sub-order ${sub.number}\tto ${sub.subcontractor}${sub.finess ? ` (FINESS ${sub.finess})` : ''}\t${sub.state}${extra ? `\t${extra}` : ''}`);
  }
}

/**
 * `passerelle publish <filler order>`: publishes the next version of a report now, whatever its
 * channel's policy (a partial report sent on request: DSR DMP.04, MSS.23). Rendered in this
 * process with the channel's reports destination settings; the store's version numbering keeps
 * it consistent with a running engine.
 */
export async function publishCommand(fillerOrder: string, opts: { channel?: string; lab?: string }): Promise<number> {
  const cfg = engineConfigFromEnv();
  const candidates = loadChannelDir(cfg.channelsDir).flatMap((l) =>
    l.config.destinations.filter((d) => d.type === 'reports').map((d) => ({ channel: l.config.name, d })),
  );
  const chosen = candidates.filter((c) => opts.channel === undefined || c.channel === opts.channel);
  if (chosen.length !== 1) {
    process.stderr.write(
      chosen.length === 0
        ? `no reports destination${opts.channel ? ` in channel ${opts.channel}` : ''} in ${cfg.channelsDir}\n`
        : `several channels publish reports (${chosen.map((c) => c.channel).join(', ')}): name one with --channel\n`,
    );
    return 1;
  }
  const d = chosen[0]!.d;
  if (d.type !== 'reports') return 1;
  if (!existsSync(cfg.ansKitDir)) {
    process.stderr.write(`no ANS kit at ${cfg.ansKitDir}: documents cannot be validated, so none is published (set PASSERELLE_ANS_KIT or run \`passerelle kit\`)\n`);
    return 1;
  }
  const store = createStore(storeSettings(cfg));
  await store.init();
  try {
    const rows = (await store.reportsByFillerOrder(fillerOrder)).filter((r) => opts.lab === undefined || r.lab === opts.lab);
    if (rows.length !== 1) {
      process.stderr.write(rows.length === 0 ? `no report ${fillerOrder} in the store\n` : `several labs have a report ${fillerOrder} (${rows.map((r) => r.lab).join(', ')}): name one with --lab\n`);
      return 1;
    }
    const kit = AnsKit.open(cfg.ansKitDir, { cacheDir: cfg.cacheDir });
    const publisher = new ReportPublisher(reportsDestinationOptions(d, { store, kit, logger: silentLogger() }));
    out(await publisher.publish(reportFromJson(rows[0]!.state), true));
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `passerelle report <filler order number>`: what the store holds of a report across messages
 * — its versions, each observation's current value with its history, what is pending and what
 * was parked — for an operator. Codes and values only: no patient name or identifier.
 */
import { existsSync } from 'node:fs';
import { engineConfigFromEnv, type EngineConfig } from '../config/engine-config';
import { storeSettings } from '../engine';
import { createStore, type MessageStore } from '../store';
import { openReportsPublisher, publishReportNow, reportsDestinationOf } from '../documents/publish-now';
import { parkedItemId, releaseParkedResult, releaseParkedSubOrder, type ParkedDecision } from '../reports/parked-actions';
import { PasserelleError } from '../errors';
import { cliActor } from '../operator-action';
import { redisOptionsFromUrl } from '../runtime/redis';
import { silentLogger } from '../runtime/logger';
import { AnsKit } from '../validation';
import type { Result } from '../lab';
import { pendingObservations, reportFromJson, type ObservationEntry } from '../reports';
import { OrderBook } from '../orders';
import { runAction } from './ops-commands';

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
        for (const p of state.parked) out(`  ${p.observationKey}\t${p.reason}\tfrom ${p.messageId}\t${p.detail}\tid ${parkedItemId(p)}`);
      }
      for (const a of state.actions ?? []) out(`operator: ${a.action} by ${a.by} at ${a.at}${a.item ? ` (${parkedItemId(a.item)})` : ''}${a.subOrder ? ` (sub-order ${a.subOrder})` : ''}${a.note ? `: ${a.note}` : ''}`);
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
    const extra = [sub.answer, sub.keptIn && `results kept in ${sub.keptIn.lab}/${sub.keptIn.fillerOrder}`, sub.parked, sub.released?.at(-1)].filter(Boolean).join('; ');
    out(`  sub-order ${sub.number}\tto ${sub.subcontractor}${sub.finess ? ` (FINESS ${sub.finess})` : ''}\t${sub.state}${extra ? `\t${extra}` : ''}`);
  }
}

/**
 * `passerelle publish <filler order>`: publishes the next version of a report now, whatever its
 * channel's policy (a partial report sent on request: DSR DMP.04, MSS.23), through
 * engine/documents/publish-now.ts. Rendered in this process with the channel's reports
 * destination settings; its deliveries are queued for the running engine to send.
 */
export async function publishCommand(fillerOrder: string, opts: { channel?: string; lab?: string }): Promise<number> {
  const cfg = engineConfigFromEnv();
  const refused = checkDestination(cfg, opts.channel);
  if (refused !== undefined) return refused;
  if (!existsSync(cfg.ansKitDir)) {
    process.stderr.write(`no ANS kit at ${cfg.ansKitDir}: documents cannot be validated, so none is published (set PASSERELLE_ANS_KIT or run \`passerelle kit\`)\n`);
    return 1;
  }
  return withStore(cfg, async (store) => {
    const opened = openPublisher(cfg, store, opts.channel, AnsKit.open(cfg.ansKitDir, { cacheDir: cfg.cacheDir }));
    try {
      return await runAction(() => publishReportNow({ store, publisher: opened.publisher }, { fillerOrder, ...(opts.lab ? { lab: opts.lab } : {}) }, cliActor()));
    } finally {
      await opened.close();
    }
  });
}

/**
 * `passerelle release <filler order> [<parked item>] --accept|--drop [--sub-order <n>]`: an
 * operator's decision on a parked result (its id as `passerelle report` prints it), or on a
 * subcontractor's results parked on a sub-order (engine/reports/parked-actions.ts). An accepted
 * change publishes per the channel's policy when the ANS kit is there.
 */
export async function releaseCommand(fillerOrder: string, item: string | undefined, opts: { accept?: boolean; drop?: boolean; subOrder?: string; lab?: string; channel?: string; note?: string }): Promise<number> {
  if (!!opts.accept === !!opts.drop || (item === undefined) === (opts.subOrder === undefined)) {
    process.stderr.write('release takes a parked item id or --sub-order <number>, and one of --accept or --drop\n');
    return 1;
  }
  const decision: ParkedDecision = opts.accept ? 'accept' : 'drop';
  const cfg = engineConfigFromEnv();
  return withStore(cfg, async (store) => {
    // Only an accepted change publishes; without a kit or a reports destination it waits for the next message or `publish`.
    let opened: ReturnType<typeof openPublisher> | undefined;
    if (decision === 'accept' && existsSync(cfg.ansKitDir)) {
      try {
        opened = openPublisher(cfg, store, opts.channel, AnsKit.open(cfg.ansKitDir, { cacheDir: cfg.cacheDir }));
      } catch (e) {
        if (!(e instanceof PasserelleError)) throw e;
        process.stderr.write(`not published by this command: ${e.message}\n`);
      }
    }
    const deps = { store, ...(opened ? { publisher: opened.publisher } : {}) };
    const ref = { fillerOrder, ...(opts.lab ? { lab: opts.lab } : {}) };
    try {
      return await runAction(() =>
        item !== undefined ? releaseParkedResult(deps, { ...ref, item }, decision, cliActor(), opts.note) : releaseParkedSubOrder(deps, { ...ref, subOrder: opts.subOrder! }, decision, cliActor(), opts.note),
      );
    } finally {
      await opened?.close();
    }
  });
}

/** The reports destination the command would use exists (else 1 and why, on stderr). */
function checkDestination(cfg: EngineConfig, channel: string | undefined): number | undefined {
  try {
    reportsDestinationOf(cfg.channelsDir, channel);
    return undefined;
  } catch (e) {
    if (!(e instanceof PasserelleError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
}

function openPublisher(cfg: EngineConfig, store: MessageStore, channel: string | undefined, kit: AnsKit): ReturnType<typeof openReportsPublisher> {
  return openReportsPublisher({ channelsDir: cfg.channelsDir, channel, store, kit, redis: { connection: redisOptionsFromUrl(cfg.redisUrl), prefix: cfg.prefix }, logger: silentLogger() });
}

async function withStore<T>(cfg: EngineConfig, fn: (store: MessageStore) => Promise<T>): Promise<T> {
  const store = createStore(storeSettings(cfg));
  await store.init();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

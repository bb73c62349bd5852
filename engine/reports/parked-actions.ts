/**
 * Operators' decisions on what a report keeps parked (docs/design.md "Operator actions"):
 *
 *  - a result (or withdrawal) that could not be ordered safely against the stored value
 *    (engine/reports/accumulate.ts: late lower status, older time, final changed without a
 *    correction) is accepted — it becomes the current value, the old one going to the history
 *    with who decided — or dropped;
 *  - a subcontractor's results parked on a sub-order because their identity disagrees with our
 *    report's (INS.46/.47, engine/documents/report-publisher.ts) are fused into our report once
 *    an operator verified the patient, or dropped.
 *
 * Either way the decision is written into the report (its `actions`, and the sub-order's
 * `released`) with who and when; a change then publishes per the channel's policy through the
 * publisher given (without one, the next message or `publish` does).
 */
import { PasserelleError, errorCodeOf } from '../errors';
import { actionTrace, checkActor, operatorText, type ActionResult } from '../operator-action';
import type { MessageStore, StoredReport } from '../store/types';
import { OrderBook, type OrderStore } from '../orders/order-book';
import type { ReportPublisher } from '../documents/report-publisher';
import { ReportBook } from './report-book';
import { reportFromJson, reportToJson } from './serialize';
import { reportOf } from './to-report';
import type { ParkedItem, ReportAction, ReportState } from './state';

/** A report, by its filler order number; `lab` may be left out when only one lab has that number. */
export interface ReportRef {
  lab?: string;
  fillerOrder: string;
}

export type ParkedDecision = 'accept' | 'drop';

export type ReportActionStore = Pick<MessageStore, 'reportsByFillerOrder' | 'getReport' | 'putReport'>;

export interface ParkedActionDeps {
  store: ReportActionStore & OrderStore;
  /** Publishes the report per its channel's policy once a decision changed it (a ReportsDestination's publisher). */
  publisher?: Pick<ReportPublisher, 'publish'>;
}

/** Compare-and-set attempts before giving up (PSL_REPORT_CONTENDED, like ReportBook). */
const MAX_ATTEMPTS = 8;

/** The report a reference names, or a coded refusal (none, or several labs). */
export async function findReport(store: Pick<MessageStore, 'reportsByFillerOrder'>, ref: ReportRef): Promise<StoredReport> {
  const rows = (await store.reportsByFillerOrder(ref.fillerOrder)).filter((r) => ref.lab === undefined || r.lab === ref.lab);
  if (rows.length === 0) throw new PasserelleError('PSL_REPORT_NOT_FOUND', `no report ${ref.fillerOrder}${ref.lab ? ` of ${ref.lab}` : ''} in the store`);
  if (rows.length > 1) throw new PasserelleError('PSL_REPORT_AMBIGUOUS', `several labs have a report ${ref.fillerOrder} (${rows.map((r) => r.lab).join(', ')}): name one`);
  return rows[0]!;
}

/**
 * Changes a report with `fn` under compare-and-set (another channel may write it meanwhile);
 * `fn` returns false when there is nothing to write. Returns the state as written (or as read).
 */
export async function updateReport(store: Pick<MessageStore, 'getReport' | 'putReport'>, lab: string, fillerOrder: string, fn: (s: ReportState) => boolean): Promise<ReportState> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const row = await store.getReport(lab, fillerOrder);
    if (!row) throw new PasserelleError('PSL_REPORT_NOT_FOUND', `no report ${fillerOrder} of ${lab} in the store`);
    const state = reportFromJson(row.state);
    if (!fn(state)) return state;
    if (await store.putReport(lab, fillerOrder, reportToJson(state), row.rowVersion)) return state;
  }
  throw new PasserelleError('PSL_REPORT_CONTENDED', `report ${lab}/${fillerOrder}: still changing after ${MAX_ATTEMPTS} attempts`);
}

/** Appends an operator action to a report's record. */
export function recordAction(state: ReportState, a: ReportAction): void {
  (state.actions ??= []).push(a);
}

/** A parked item's id: `<message id>/<observation key>`, `/withdrawal` for a parked withdrawal. Stable while it stays parked. */
export function parkedItemId(item: ParkedItem): string {
  return `${item.messageId}/${item.observationKey}${item.withdrawal ? '/withdrawal' : ''}`;
}

/**
 * Accepts or drops one parked item of a report. Accepting a result makes it the observation's
 * current value (the one it replaces goes to the history, `by` saying who decided); accepting
 * a withdrawal withdraws the observation. Dropping leaves the observation as it is. Both take
 * the item out of `parked` and record it in `actions`. An accepted change publishes per policy.
 */
export async function releaseParkedResult(deps: ParkedActionDeps, ref: ReportRef & { item: string }, decision: ParkedDecision, actor: string, note?: string): Promise<ActionResult> {
  checkActor(actor);
  checkDecision(decision);
  const text = operatorText(note, 'a note', false);
  const row = await findReport(deps.store, ref);
  const at = new Date();
  let changed = false;
  let found = false;
  const state = await updateReport(deps.store, row.lab, row.fillerOrder, (s) => {
    const i = s.parked.findIndex((p) => parkedItemId(p) === ref.item);
    found = i >= 0;
    if (!found) return false;
    const [item] = s.parked.splice(i, 1);
    changed = decision === 'accept' && apply(s, item!, actionTrace(`accepted`, actor, at));
    if (changed) s.revision++;
    recordAction(s, { action: decision === 'accept' ? 'accept-parked' : 'drop-parked', by: actor, at: at.toISOString(), ...(text ? { note: text } : {}), item: item! });
    return true;
  });
  if (!found) throw new PasserelleError('PSL_PARKED_NOT_FOUND', `report ${row.fillerOrder}: no parked item ${ref.item}`);
  const what = `report ${row.fillerOrder}: parked ${ref.item} ${decision === 'accept' ? 'accepted' : 'dropped'}`;
  if (!changed) return { outcome: decision === 'accept' ? 'accepted' : 'dropped', detail: decision === 'accept' ? `${what} (the report already showed it)` : what };
  return { outcome: 'accepted', detail: `${what}; ${await publishPerPolicy(deps.publisher, state)}` };
}

/** Applies an accepted parked item to its observation; false when that changes nothing shown. */
function apply(s: ReportState, item: ParkedItem, by: string): boolean {
  const e = s.observations.find((o) => o.key === item.observationKey);
  if (!e) return false; // items are parked against a stored observation; none left means nothing to replace
  if (item.withdrawal) {
    if (!e.current) return false;
    e.history.push({ result: e.current, messageId: e.messageId, endedBy: 'withdrawal', by });
    delete e.current;
    const w = item.withdrawal;
    e.withdrawn = w.at ? { reason: w.reason, at: w.at, messageId: item.messageId } : { reason: w.reason, messageId: item.messageId };
    e.messageId = item.messageId;
    return true;
  }
  if (!item.result) return false;
  if (e.current) e.history.push({ result: e.current, messageId: e.messageId, endedBy: item.result.status === 'corrected' ? 'correction' : 'update', by });
  e.current = item.result;
  delete e.withdrawn;
  e.messageId = item.messageId;
  return true;
}

/**
 * Fuses or drops a subcontractor's results parked on a sub-order of our report's order (their
 * identity disagreed with ours). Fusing applies them to our report as if they named our patient
 * (the operator verified it is the same person) and publishes per policy; dropping leaves them
 * in the subcontractor's own report, never published, and stops the order pointing at them
 * (their next results are checked again). The sub-order's `released` says who decided, when,
 * and what was parked.
 */
export async function releaseParkedSubOrder(deps: ParkedActionDeps, ref: ReportRef & { subOrder: string }, decision: ParkedDecision, actor: string, note?: string): Promise<ActionResult> {
  checkActor(actor);
  checkDecision(decision);
  const text = operatorText(note, 'a note', false);
  const row = await findReport(deps.store, ref);
  const orders = new OrderBook(deps.store, { authority: '' });
  const order = await orders.byRef('filler', row.lab, row.fillerOrder);
  const sub = order?.subOrders.find((s) => s.number === ref.subOrder && s.parked && s.keptIn);
  if (!order || !sub) throw new PasserelleError('PSL_SUBORDER_NOT_PARKED', `report ${row.fillerOrder}: no sub-order ${ref.subOrder} with results parked`);
  const keptIn = sub.keptIn!;
  const at = new Date();
  let outcome = 'dropped';
  let published = '';
  if (decision === 'accept') {
    const book = new ReportBook(deps.store);
    const kept = await book.get(keptIn.lab, keptIn.fillerOrder);
    if (!kept) throw new PasserelleError('PSL_SUBORDER_NOT_PARKED', `report ${row.fillerOrder}: the results of sub-order ${ref.subOrder} are no longer in ${keptIn.lab}/${keptIn.fillerOrder}`);
    const ours = reportFromJson(row.state);
    // The id the order's own fusion uses (report-publisher followOrder): a later pass over the same kept revision is a no-op.
    const out = await book.apply({
      messageId: `kept:${keptIn.lab}|${keptIn.fillerOrder}|${kept.revision}`,
      lab: row.lab,
      fillerOrder: row.fillerOrder,
      subcontractor: { ...keptIn },
      patient: ours.patientRecord,
      header: kept.header,
      requests: reportOf(kept).requests,
    });
    if (out.kind !== 'applied') throw new PasserelleError('PSL_REPORT_IDENTITY_MISMATCH', `report ${row.fillerOrder}: ${out.detail}`);
    outcome = 'accepted';
    if (out.changes.length > 0) published = await publishPerPolicy(deps.publisher, out.state);
  }
  // Our report first, then the order: a crash between leaves the sub-order parked, and deciding again is harmless.
  await updateReport(deps.store, row.lab, row.fillerOrder, (s) => {
    recordAction(s, { action: decision === 'accept' ? 'accept-subcontracted' : 'drop-subcontracted', by: actor, at: at.toISOString(), ...(text ? { note: text } : {}), subOrder: sub.number, outcome: `results of ${keptIn.lab}/${keptIn.fillerOrder}${published ? `; ${published}` : ''}` });
    return true;
  });
  const trace = `${actionTrace(decision === 'accept' ? 'fused' : 'dropped', actor, at)}${text ? `: ${text}` : ''} (was: ${sub.parked}; results in ${keptIn.lab}/${keptIn.fillerOrder})`;
  await orders.update(order.key, (o) => {
    const s = o.subOrders.find((x) => x.number === sub.number);
    if (!s?.parked) return false;
    delete s.parked;
    // Dropped: the order no longer points at them, so a later message of our report does not try to fuse them again.
    if (decision === 'drop') delete s.keptIn;
    (s.released ??= []).push(trace.slice(0, 1000));
    return true;
  });
  const what = `report ${row.fillerOrder}: results of sub-order ${sub.number} ${decision === 'accept' ? 'fused' : 'dropped'}`;
  return { outcome, detail: published ? `${what}; ${published}` : what };
}

function checkDecision(decision: string): void {
  if (decision !== 'accept' && decision !== 'drop') throw new PasserelleError('PSL_ACTION_INVALID', `a decision on parked results is accept or drop, not ${String(decision)}`);
}

/**
 * The report's next version if its policy says so. A failure here (no kit, another writer) does
 * not undo the decision: the next message, or `publish`, publishes it.
 */
async function publishPerPolicy(publisher: ParkedActionDeps['publisher'], state: ReportState): Promise<string> {
  if (!publisher) return 'not published here: the next message or `publish` does';
  try {
    return await publisher.publish(state, false);
  } catch (e) {
    return `not published yet (${errorCodeOf(e)}: ${(e as Error).message}): the next message or \`publish\` does`;
  }
}

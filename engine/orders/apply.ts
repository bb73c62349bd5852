/**
 * Applying one order change (one ORC group) to the requisition it belongs to (pure;
 * docs/design.md "Orders"). Each change speaks for its own placer order number only:
 * - NW adds that placer order's tests (a second NW for a known number changes them, as XO does);
 * - XO replaces that placer order's tests: those no longer asked for are cancelled;
 * - CA cancels that placer order's tests; the requisition is cancelled once none is left;
 * - SC records the status the placer sent (ORC-5).
 * Tests matching a subcontracting rule go to a sub-order of that subcontractor; a sub-order
 * whose tests are all cancelled is to be cancelled at the subcontractor. New sub-orders carry
 * an empty number: the order book numbers them before writing (store sequence).
 */
import { testKey, type OrderChange } from './from-hl7';
import type { OrderState, OrderStatus, SubOrder } from './state';
import { orderKey } from './state';

/** Which tests go to which subcontractor (channel file, `orders` destination `subcontracting`). */
export interface SubcontractRule {
  subcontractor: string;
  finess?: string;
  /** OBR-4 codes (OBR-4.1) sent to this subcontractor. */
  tests: readonly string[];
}

export interface OrderOutcome {
  state: OrderState;
  /** False when the message was applied before (a redelivery): nothing written. */
  changed: boolean;
}

export function applyOrderChange(
  current: OrderState | undefined,
  change: OrderChange,
  messageId: string,
  ourAuthority: string,
  rules: readonly SubcontractRule[],
): OrderOutcome {
  const applied = `${messageId}#${change.placer.number}`;
  if (current?.messages.includes(applied)) return { state: current, changed: false };
  const state: OrderState = current
    ? structuredClone(current)
    : {
        key: requisitionKey(change),
        placer: { number: change.group ?? change.placer.number, authority: change.placer.authority },
        placers: [],
        patient: change.patient,
        pid: change.pid,
        encoding: change.encoding,
        specimens: [],
        tests: [],
        status: 'SC',
        history: [],
        subOrders: [],
        messages: [],
        revision: 0,
      };
  if (!state.placers.includes(change.placer.number)) state.placers.push(change.placer.number);
  if (change.filler && change.filler.number) state.filler = change.filler;
  if (change.group) state.group = change.group;
  if (change.prescriber) state.prescriber = change.prescriber;
  if (change.pid) {
    state.pid = change.pid;
    state.encoding = change.encoding;
  }
  if (change.specimens.length > 0) state.specimens = change.specimens;
  let status: OrderStatus = state.status;
  switch (change.control) {
    case 'NW':
    case 'XO':
      setTests(state, change, ourAuthority, rules);
      if (state.status === 'CA') status = 'SC'; // a new order under a cancelled number opens it again
      break;
    case 'CA':
      for (const t of state.tests) if (t.placer === change.placer.number) t.cancelled = true;
      cancelIdleSubOrders(state);
      if (state.tests.every((t) => t.cancelled)) status = 'CA';
      break;
    case 'SC':
      if (change.status) status = change.status;
      break;
  }
  setStatus(state, status, messageId);
  state.messages.push(applied);
  state.revision += 1;
  return { state, changed: true };
}

/** Records a status change (the placer's, or the lab's from its results). */
export function setStatus(state: OrderState, status: OrderStatus, messageId: string): boolean {
  if (state.status === status && state.history.length > 0) return false;
  state.status = status;
  state.history.push({ status, at: new Date().toISOString(), messageId });
  return true;
}

function setTests(state: OrderState, change: OrderChange, ourAuthority: string, rules: readonly SubcontractRule[]): void {
  const placer = change.placer.number;
  const asked = new Map(change.tests.map((c) => [testKey(c), c]));
  for (const t of state.tests) {
    if (t.placer !== placer) continue;
    if (!asked.has(t.key)) t.cancelled = true;
    else delete t.cancelled;
  }
  for (const [key, code] of asked) {
    if (!state.tests.some((t) => t.key === key && t.placer === placer)) state.tests.push({ key, placer, code });
  }
  cancelIdleSubOrders(state);
  // Tests that a rule sends out and no live sub-order carries yet: one new sub-order per subcontractor.
  const fresh = new Map<string, SubOrder>();
  for (const t of state.tests) {
    if (t.cancelled) continue;
    const live = t.subOrder && state.subOrders.find((s) => s.number === t.subOrder && (s.state === 'to-send' || s.state === 'accepted'));
    if (live) continue;
    const rule = rules.find((r) => r.tests.includes(t.code.code));
    if (!rule) continue;
    let sub = fresh.get(rule.subcontractor);
    if (!sub) {
      sub = { number: '', authority: ourAuthority, subcontractor: rule.subcontractor, tests: [], state: 'to-send' };
      if (rule.finess) sub.finess = rule.finess;
      fresh.set(rule.subcontractor, sub);
      state.subOrders.push(sub);
    }
    sub.tests.push(t.key);
  }
}

/** The requisition an order change belongs to: its placer group, else its own placer order. */
export function requisitionKey(change: Pick<OrderChange, 'placer' | 'group'>): string {
  return orderKey(change.placer.authority, change.group ?? change.placer.number);
}

/** A sub-order none of whose tests is wanted any more is to be cancelled at the subcontractor. */
function cancelIdleSubOrders(state: OrderState): void {
  for (const s of state.subOrders) {
    if (s.state !== 'to-send' && s.state !== 'accepted') continue;
    const wanted = state.tests.some((t) => t.subOrder === s.number && !t.cancelled) || (s.number === '' && s.tests.some((k) => state.tests.some((t) => t.key === k && !t.cancelled)));
    if (wanted) continue;
    // Never sent: nothing to cancel over there.
    s.state = s.state === 'to-send' && s.number === '' ? 'cancelled' : 'cancel-to-send';
  }
}

/**
 * A lab order as the engine keeps it (issue 8, docs/design.md "Orders"): one requisition sent
 * by a clinical service in OML^O21 / ORM^O01 (IHE LTW LAB-1) — the placer orders (ORC-2, one
 * test each) that share a placer group number (ORC-4), or a single placer order sent without
 * one — the tests they ask for, and the sub-orders sent to subcontracting labs for some of them
 * (IHE ILW LAB-35). A requisition is one lab file: one report. Plain JSON: the store keeps it.
 */
import type { Coded, Professional } from '../lab';
import type { PatientKeys } from '../reports';

/** ORC-5 of HL7 table 0038 as the engine follows it. */
export type OrderStatus = 'SC' | 'IP' | 'A' | 'CM' | 'CA';

export interface OrderedTest {
  /** `<code>^<coding system>` of OBR-4. */
  key: string;
  /** The placer order number (ORC-2.1) that asks for it. */
  placer: string;
  code: Coded;
  cancelled?: boolean;
  /** Number of the sub-order that carries it, when subcontracted. */
  subOrder?: string;
}

export interface SubOrder {
  /** Our sub-order number, sent in ORC-2 / OBR-2 (ILW: the requester's placer number). */
  number: string;
  /** Its namespace: our application (ORC-2.2). */
  authority: string;
  /** Name of the subcontractor rule (channel file). */
  subcontractor: string;
  finess?: string;
  /** Keys of the tests it carries. */
  tests: string[];
  /** `to-send` until the subcontractor answered; then its ORL ORC-1 (OK, UA) or the cancel's (CR, UC). */
  state: 'to-send' | 'accepted' | 'refused' | 'cancel-to-send' | 'cancelled' | 'cancel-refused';
  /** What the subcontractor's answer said when it was not OK. */
  answer?: string;
  /**
   * Where its results wait when they came before our report existed, or were parked: the
   * subcontractor's own report (never published). Fused into ours once it exists.
   */
  keptIn?: { lab: string; fillerOrder: string };
  /** Why its results were not fused (an INS that disagrees with ours: INS.46/.47), for an operator. */
  parked?: string;
  /** Operators' decisions on results parked here, oldest first: `fused by <actor> at <time> (was: <why parked>)` (engine/reports/parked-actions.ts). */
  released?: string[];
}

export interface OrderState {
  /** `<placer namespace>|<placer group number>`, or `<placer namespace>|<placer order number>` without a group. */
  key: string;
  /** The placer's namespace, and the number the key names. */
  placer: { number: string; authority: string };
  /** Placer order numbers of the requisition (each linked to it as `placer:<namespace>|<number>`). */
  placers: string[];
  /** The lab's own number (ORC-3 / OBR-3), once known: sent in the order or learnt from results. */
  filler?: { number: string; authority: string };
  /** ORC-4.1, when the placer groups its orders. */
  group?: string;
  patient: PatientKeys;
  /** PID as received, and the encoding characters it was written with (MSH-1, MSH-2): sub-orders carry it as is. */
  pid: string;
  encoding: string;
  prescriber?: Professional;
  specimens: { id: string; type?: Coded; collectedAt?: string }[];
  tests: OrderedTest[];
  status: OrderStatus;
  history: { status: OrderStatus; at: string; messageId: string }[];
  subOrders: SubOrder[];
  /** The line that tells the placer of status changes (`<channel>.<destination>`), when the channel has one. */
  statusLine?: string;
  /** Statuses the placer has been told of (OML ORC-1 SC). */
  notified?: OrderStatus[];
  /** Ids of the messages applied, oldest first: applying one twice changes nothing. */
  messages: string[];
  revision: number;
}

/** The key of a placer order. */
export function orderKey(authority: string, number: string): string {
  return `${authority}|${number}`;
}

/** Key under which another number of an order is linked to it (store order_refs). */
export function refKey(kind: 'filler' | 'sub' | 'placer', authority: string, number: string): string {
  return `${kind}:${authority}|${number}`;
}

/** Tests still to be done: ordered and not cancelled. */
export function activeTests(state: OrderState): OrderedTest[] {
  return state.tests.filter((t) => !t.cancelled);
}

/**
 * The orders a store holds: applies an order change with compare-and-set (the order channel
 * and the results channel both write an order: tests and status from one, status and filler
 * number from the other), numbers new sub-orders from a store sequence, and links the other
 * numbers of an order (our filler number, our sub-order numbers) to it.
 */
import { PasserelleError } from '../errors';
import type { MessageStore } from '../store';
import { applyOrderChange, requisitionKey, type OrderOutcome, type SubcontractRule } from './apply';
import type { OrderChange } from './from-hl7';
import { refKey, type OrderState } from './state';

const MAX_ATTEMPTS = 8;

export type OrderStore = Pick<MessageStore, 'getOrder' | 'putOrder' | 'linkOrder' | 'orderKeyOf' | 'nextSequence'>;

export interface OrderBookOptions {
  /** Our namespace for sub-order numbers (ORC-2.2 of a sub-order), e.g. the lab system's application name. */
  authority: string;
  /** Sub-order numbers are `<prefix><sequence, 4 digits at least>`; default `SUB-`. */
  subOrderPrefix?: string;
  rules?: readonly SubcontractRule[];
  /** Name of the line that tells placers of status changes, kept on the orders it opens. */
  statusLine?: string;
}

export class OrderBook {
  constructor(
    private readonly store: OrderStore,
    private readonly o: OrderBookOptions,
  ) {}

  async get(key: string): Promise<OrderState | undefined> {
    const row = await this.store.getOrder(key);
    return row && (JSON.parse(row.state) as OrderState);
  }

  /** The order a filler or sub-order number belongs to. */
  async byRef(kind: 'filler' | 'sub', authority: string, number: string): Promise<OrderState | undefined> {
    const key = await this.store.orderKeyOf(refKey(kind, authority, number));
    return key === undefined ? undefined : this.get(key);
  }

  async apply(change: OrderChange, messageId: string): Promise<OrderOutcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const row = await this.store.getOrder(await this.keyOf(change));
      const before = row && (JSON.parse(row.state) as OrderState);
      const out = applyOrderChange(before, change, messageId, this.o.authority, this.o.rules ?? []);
      if (!out.changed) return out;
      if (this.o.statusLine) out.state.statusLine = this.o.statusLine;
      await this.numberSubOrders(out.state);
      if (await this.store.putOrder(out.state.key, JSON.stringify(out.state), row?.rowVersion ?? null)) {
        await this.link(out.state);
        return out;
      }
    }
    throw new PasserelleError('PSL_ORDER_CONTENDED', `order ${change.placer.number}: still changing after ${MAX_ATTEMPTS} attempts`);
  }

  /**
   * The requisition a change belongs to: the one its placer number is linked to already (an
   * XO or CA may come without the group number), else its group's, else its own.
   */
  private async keyOf(change: OrderChange): Promise<string> {
    return (await this.store.orderKeyOf(refKey('placer', change.placer.authority, change.placer.number))) ?? requisitionKey(change);
  }

  /** The requisition of a placer order number, if known. */
  async byPlacer(authority: string, number: string): Promise<OrderState | undefined> {
    const key = (await this.store.orderKeyOf(refKey('placer', authority, number))) ?? `${authority}|${number}`;
    return this.get(key);
  }

  /** Changes an order with `fn` (false: nothing to write) under compare-and-set; the state written, or undefined. */
  async update(key: string, fn: (s: OrderState) => boolean): Promise<OrderState | undefined> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const row = await this.store.getOrder(key);
      if (!row) return undefined;
      const state = JSON.parse(row.state) as OrderState;
      if (!fn(state)) return state;
      state.revision += 1;
      if (await this.store.putOrder(key, JSON.stringify(state), row.rowVersion)) {
        await this.link(state);
        return state;
      }
    }
    throw new PasserelleError('PSL_ORDER_CONTENDED', `order ${key}: still changing after ${MAX_ATTEMPTS} attempts`);
  }

  private async numberSubOrders(state: OrderState): Promise<void> {
    for (const s of state.subOrders) {
      if (s.number !== '') continue;
      const n = await this.store.nextSequence(`suborder:${this.o.authority}`);
      s.number = `${this.o.subOrderPrefix ?? 'SUB-'}${String(n).padStart(4, '0')}`;
      const live = (n: string | undefined): boolean => !!n && state.subOrders.some((x) => x.number === n && (x.state === 'to-send' || x.state === 'accepted'));
      for (const t of state.tests) if (s.tests.includes(t.key) && !t.cancelled && !live(t.subOrder)) t.subOrder = s.number;
    }
  }

  /** Links are written after the order: a number linked to an order always finds it. */
  private async link(state: OrderState): Promise<void> {
    for (const p of state.placers) await this.store.linkOrder(refKey('placer', state.placer.authority, p), state.key);
    if (state.filler) await this.store.linkOrder(refKey('filler', state.filler.authority, state.filler.number), state.key);
    for (const s of state.subOrders) await this.store.linkOrder(refKey('sub', s.authority, s.number), state.key);
  }
}

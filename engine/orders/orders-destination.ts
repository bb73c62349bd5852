/**
 * The `orders` destination of a channel: each order message (OML^O21, ORM^O01) is applied to
 * the orders it names (OrderBook), then what they have to send to subcontractors is queued
 * (SubOrderSender). Applying a message twice changes nothing and queues nothing new.
 */
import type { Destination, OutboundMessage } from '../delivery/destination';
import { OrderBook } from './order-book';
import { orderChanges } from './from-hl7';
import { SubOrderSender, type SubOrderSenderOptions } from './sub-order-sender';
import { PlacerStatusLine } from './placer-status';
import type { MessageStore } from '../store';
import type { OrdersDestinationConfig } from '../config/channel-schema';

export interface OrdersDestinationOptions extends Omit<SubOrderSenderOptions, 'name' | 'book' | 'subcontractors' | 'facility'> {
  channel: string;
  config: OrdersDestinationConfig;
  store: MessageStore;
}

export class OrdersDestination implements Destination {
  readonly name: string;
  readonly book: OrderBook;
  private readonly sender: SubOrderSender;
  private readonly status?: PlacerStatusLine;
  private stopping?: Promise<void>;

  constructor(o: OrdersDestinationOptions) {
    const c = o.config;
    this.name = c.name;
    const line = `${o.channel}.${c.name}`;
    this.book = new OrderBook(o.store, {
      authority: c.authority,
      subOrderPrefix: c.subOrderPrefix,
      rules: c.subcontractors.map((s) => ({ subcontractor: s.name, finess: s.finess, tests: s.tests })),
      statusLine: c.placerStatus ? line : undefined,
    });
    this.sender = new SubOrderSender({ ...o, name: line, book: this.book, subcontractors: c.subcontractors, facility: c.facility });
    if (c.placerStatus) {
      this.status = new PlacerStatusLine({ ...o, name: line, book: this.book, config: c.placerStatus, application: c.authority, facility: c.facility });
    }
  }

  async deliver(out: OutboundMessage): Promise<string> {
    const msg = out.message;
    const changes = orderChanges(msg, msg.get('MSH-4.1') || msg.get('MSH-3.1'));
    const done: string[] = [];
    for (const change of changes) {
      const { state, changed } = await this.book.apply(change, out.id);
      // Also when unchanged (a redelivery): what was written but not yet queued goes now.
      await this.sender.schedule(state);
      await this.status?.schedule(state);
      const subs = state.subOrders.filter((s) => s.state === 'to-send' || s.state === 'cancel-to-send').map((s) => `${s.number} ${s.state}`);
      done.push(`order ${change.control} ${changed ? 'applied' : 'already applied'} (${state.status}, ${state.tests.filter((t) => !t.cancelled).length} test(s)${subs.length ? '; ' + subs.join(', ') : ''})`);
    }
    return done.join('; ') || 'no order to apply';
  }

  async start(): Promise<void> {
    await this.sender.start();
    await this.status?.start();
  }

  stop(drainDeadlineMs: number): Promise<void> {
    this.stopping ??= Promise.all([this.sender.stop(drainDeadlineMs), this.status?.stop(drainDeadlineMs)]).then(() => undefined);
    return this.stopping;
  }

  close(): Promise<void> {
    return this.stop(0);
  }
}

/**
 * Sub-orders out (IHE ILW LAB-35): one ordered line per subcontractor, so a subcontractor that
 * is down holds only its own sub-orders. A job names a sub-order and what to send (NW or CA);
 * the order's state in the store decides whether there is still something to send, so a job
 * added twice (every application of an order re-adds what is not yet answered: a crash between
 * writing the order and adding the job loses nothing) sends once. The subcontractor's ORL^O22
 * is read: OK / CR are kept on the order, UA / UC too (with the ERR text), for an operator;
 * AR is retried like a passing failure; no answer in time is sent again with the same MSH-10.
 */
import { PasserelleError } from '../errors';
import type { MllpDestination } from '../delivery';
import { outboundLine, type LineDeps } from '../delivery/outbound-line';
import type { OrderedQueue } from '../queue';
import type { OrderedJob } from '../queue/types';
import type { SubcontractorConfig } from '../config/channel-schema';
import type { OrderBook } from './order-book';
import type { OrderState, SubOrder } from './state';
import { buildSubOrder } from './sub-order-message';

export interface SubOrderSenderOptions extends LineDeps {
  /** `<channel>.<destination>`: queue names start with it. */
  name: string;
  book: OrderBook;
  subcontractors: readonly SubcontractorConfig[];
  /** MSH-4 of sub-orders. */
  facility: string;
}

interface Line {
  config: SubcontractorConfig;
  queue: OrderedQueue;
  out: MllpDestination;
}

export class SubOrderSender {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly o: SubOrderSenderOptions) {
    for (const s of o.subcontractors) {
      const { queue, out } = outboundLine({
        name: `${o.name}.sub.${s.name}`,
        peer: `subcontractor ${s.name}`,
        config: s,
        defaultCharset: o.defaultCharset,
        connection: o.connection,
        prefix: o.prefix,
        partitions: 1,
        consume: o.consume,
        processor: (job) => this.send(job),
        logFields: { destination: o.name, subcontractor: s.name },
        deadMessage: 'sub-order not delivered',
        logger: o.logger,
      });
      this.lines.set(s.name, { config: s, queue, out });
    }
  }

  async start(): Promise<void> {
    for (const l of this.lines.values()) await l.queue.start();
  }

  async stop(drainDeadlineMs: number): Promise<void> {
    await Promise.all([...this.lines.values()].map((l) => l.queue.stop({ drainDeadlineMs })));
    await Promise.all([...this.lines.values()].map((l) => l.out.close()));
  }

  /** Queues what the order has still to send to its subcontractors. */
  async schedule(order: OrderState): Promise<void> {
    for (const sub of order.subOrders) {
      const control = sub.state === 'to-send' ? 'NW' : sub.state === 'cancel-to-send' ? 'CA' : undefined;
      if (!control) continue;
      const line = this.lines.get(sub.subcontractor);
      if (!line) {
        this.o.logger.warn('sub-order for a subcontractor no longer configured', { destination: this.o.name, subOrder: sub.number, code: 'PSL_CONFIG_INVALID' });
        continue;
      }
      await line.queue.add(sub.number, `${sub.number}.${control}`, { order: order.key, sub: sub.number, control });
    }
  }

  private async send(job: OrderedJob): Promise<void> {
    const { order: key, sub: number, control } = job.data as { order: string; sub: string; control: 'NW' | 'CA' };
    const order = await this.o.book.get(key!);
    const sub = order?.subOrders.find((s) => s.number === number);
    if (!order || !sub) throw new PasserelleError('PSL_MESSAGE_MISSING', `order of sub-order ${number} is not in the store`);
    if (sub.state !== (control === 'NW' ? 'to-send' : 'cancel-to-send')) return; // answered already
    const line = this.lines.get(sub.subcontractor)!;
    const message = buildSubOrder(order, sub, control, {
      application: sub.authority,
      facility: this.o.facility,
      receivingApplication: line.config.application,
      receivingFacility: line.config.facility,
    });
    const answer = await line.out.exchange({ id: number!, controlId: message.controlId, message });
    const ack = answer.get('MSA-1').toUpperCase();
    if (ack === 'AR' || ack === 'CR') throw new PasserelleError('PSL_DEST_NAK_RETRY', `subcontractor ${sub.subcontractor}: ${ack}`);
    const orc = answer.get('ORC-1').toUpperCase();
    const why = answer.get('ERR-8') || answer.get('ERR-3.2') || answer.get('MSA-3');
    const refused = ack === 'AE' || ack === 'CE' || orc === 'UA' || orc === 'UC';
    const next: SubOrder['state'] = control === 'NW' ? (refused ? 'refused' : 'accepted') : refused ? 'cancel-refused' : 'cancelled';
    await this.o.book.update(key!, (s) => {
      const x = s.subOrders.find((y) => y.number === number);
      if (!x || x.state !== sub.state) return false;
      x.state = next;
      if (refused) x.answer = `${orc || ack}${why ? ': ' + why : ''}`.slice(0, 500);
      return true;
    });
    const level = refused ? 'warn' : 'info';
    this.o.logger[level](refused ? 'sub-order refused by the subcontractor' : 'sub-order answered', {
      destination: this.o.name, subcontractor: sub.subcontractor, subOrder: number, control, answer: orc || ack, ...(refused ? { code: 'PSL_SUBORDER_REFUSED' } : {}),
    });
  }
}

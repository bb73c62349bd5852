/**
 * Status changes back to the placer (IHE LTW LAB-1, filler → placer: OML^O21 with ORC-1 SC and
 * the new ORC-5: IP specimen received / in progress, A some results, CM completed). The lab
 * says so through its results: the reports side moves the order's status (never backwards) and
 * asks the order's line to tell the placer. One ordered line per orders destination; a job
 * names an order and a status, and the order's `notified` list in the store makes a job added
 * twice send once. Lines register by name in this process, so the results channel reaches the
 * orders channel's line without knowing more than the name the order carries.
 */
import { createHash } from 'node:crypto';
import { MessageBuilder, delimitersFrom, hl7Timestamp, Message } from '../hl7';
import type { MllpDestination } from '../delivery';
import { outboundLine, type LineDeps } from '../delivery/outbound-line';
import { PasserelleError } from '../errors';
import type { OrderedQueue } from '../queue';
import type { OrderedJob } from '../queue/types';
import type { PlacerStatusConfig } from '../config/channel-schema';
import type { OrderBook } from './order-book';
import type { OrderState, OrderStatus } from './state';

const LINES = new Map<string, PlacerStatusLine>();

/** The line an order's status changes go out on, if this process runs it. */
export function placerStatusLine(name: string | undefined): PlacerStatusLine | undefined {
  return name === undefined ? undefined : LINES.get(name);
}

export interface PlacerStatusLineOptions extends LineDeps {
  /** `<channel>.<destination>`, kept on each order it opens (OrderState.statusLine). */
  name: string;
  book: OrderBook;
  config: PlacerStatusConfig;
  /** MSH-3 / MSH-4 of the status messages: the lab. */
  application: string;
  facility: string;
}

export class PlacerStatusLine {
  private readonly queue: OrderedQueue;
  private readonly out: MllpDestination;

  constructor(private readonly o: PlacerStatusLineOptions) {
    ({ queue: this.queue, out: this.out } = outboundLine({
      name: `${o.name}.status`,
      peer: `placer status ${o.name}`,
      config: o.config,
      defaultCharset: o.defaultCharset,
      connection: o.connection,
      prefix: o.prefix,
      partitions: 4,
      consume: o.consume,
      processor: (job) => this.send(job),
      logFields: { destination: o.name },
      deadMessage: 'order status not delivered to the placer',
      logger: o.logger,
    }));
    LINES.set(o.name, this);
  }

  async start(): Promise<void> {
    await this.queue.start();
  }

  async stop(drainDeadlineMs: number): Promise<void> {
    if (LINES.get(this.o.name) === this) LINES.delete(this.o.name);
    await this.queue.stop({ drainDeadlineMs });
    await this.out.close();
  }

  /** Queues the order's status if the placer has not been told it yet (and it is one the channel sends). */
  async schedule(order: OrderState): Promise<void> {
    const status = order.status;
    if (!(this.o.config.statuses as readonly string[]).includes(status) || order.notified?.includes(status)) return;
    await this.queue.add(order.key, `${order.key}.${status}`, { order: order.key, status });
  }

  private async send(job: OrderedJob): Promise<void> {
    const { order: key, status } = job.data as { order: string; status: OrderStatus };
    const order = await this.o.book.get(key!);
    if (!order) throw new PasserelleError('PSL_MESSAGE_MISSING', `order ${key} is not in the store`);
    if (order.notified?.includes(status!)) return;
    const message = buildStatusMessage(order, status!, { application: this.o.application, facility: this.o.facility, receivingApplication: this.o.config.application, receivingFacility: this.o.config.facility });
    await this.out.deliver({ id: key!, controlId: message.controlId, message });
    await this.o.book.update(key!, (s) => {
      if (s.notified?.includes(status!)) return false;
      (s.notified ??= []).push(status!);
      return true;
    });
    this.o.logger.info('order status sent to the placer', { destination: this.o.name, status });
  }
}

/**
 * OML^O21, ORC-1 SC: one ORC + OBR per placer order still asked for, with the placer and filler
 * numbers and the new ORC-5. MSH-10 is derived from the order and the status, so a resend
 * after a lost answer carries the same one.
 */
export function buildStatusMessage(
  order: OrderState,
  status: OrderStatus,
  h: { application: string; facility: string; receivingApplication: string; receivingFacility: string },
  now = new Date(),
): Message {
  const d = delimitersFrom(order.encoding[0] ?? '|', order.encoding.slice(1) || '^~\\&');
  const controlId = `ST${createHash('sha1').update(order.key).digest('hex').slice(0, 12)}${status}`;
  const b = new MessageBuilder({
    delimiters: d,
    messageType: 'OML^O21^OML_O21',
    sendingApplication: h.application,
    sendingFacility: h.facility,
    receivingApplication: h.receivingApplication,
    receivingFacility: h.receivingFacility,
    controlId,
    charset: 'UNICODE UTF-8',
    now,
  });
  const filler = order.filler ? [order.filler.number, order.filler.authority] : '';
  const group = order.group ? [order.group, order.placer.authority] : '';
  let n = 0;
  for (const placer of order.placers) {
    const tests = order.tests.filter((t) => t.placer === placer && !t.cancelled);
    if (tests.length === 0) continue;
    b.segment('ORC', 'SC', [placer, order.placer.authority], filler, group, status, '', '', '', hl7Timestamp(now));
    for (const t of tests) b.segment('OBR', String(++n), [placer, order.placer.authority], filler, [t.code.code, t.code.display ?? '', t.code.systemName ?? '']);
  }
  const text = b.build().toString();
  const at = text.indexOf('\r') + 1;
  return Message.parse(order.pid ? text.slice(0, at) + order.pid + '\r' + text.slice(at) : text);
}

import { Message, decode, type Charset } from '../hl7';
import { OrderedQueue } from '../queue';
import type { OrderedJob } from '../queue/types';
import type { RedisOptions } from 'ioredis';
import { PasserelleError, errorCodeOf, retryClassOf } from '../errors';
import type { MessageStore, StoredMessage } from '../store/types';
import type { ChannelConfig } from '../config/channel-schema';
import type { Destination } from '../delivery';
import type { Logger } from '../ops/logger';
import type { FilterFn, TransformFn } from './transform';
import { DestinationHealth, failingAfterFor } from '../delivery/destination-health';
import { ChannelRecovery, type RecoverOptions } from './recovery';

export type { RecoverOptions } from './recovery';

export interface PipelineOptions {
  channel: Readonly<ChannelConfig>;
  store: MessageStore;
  destinations: Destination[];
  transform?: TransformFn;
  filter?: FilterFn;
  connection: RedisOptions;
  prefix: string;
  /** Run queue consumers in this process. */
  consume: boolean;
  logger: Logger;
}

const OUT = 'out';


/**
 * The channel's queued stages. `in`: filter + transform, result stored, one job per
 * destination; `dest.<name>`: delivery. Every stage reads store state first, so a replayed job
 * (recovery, stalled job) never has a second effect.
 */
export class Pipeline {
  readonly inbound: OrderedQueue;
  readonly destinationQueues = new Map<string, OrderedQueue>();
  /** Circuit breaker of each destination (this process). */
  readonly health = new Map<string, DestinationHealth>();
  private readonly ch: Readonly<ChannelConfig>;
  private readonly recovery: ChannelRecovery;

  constructor(private readonly o: PipelineOptions) {
    this.ch = o.channel;
    const base = {
      connection: o.connection,
      prefix: o.prefix,
      partitions: this.ch.ordering.partitions,
      consume: o.consume,
      onError: (err: unknown, context: string) =>
        o.logger.warn('queue trouble', { channel: this.ch.name, queue: context, error: (err as Error)?.message ?? String(err) }),
    };
    this.inbound = new OrderedQueue({
      ...base,
      name: `${this.ch.name}.in`,
      maxAttempts: 5,
      processor: (job) => this.processInbound(job),
      onDead: (job, err) => this.dead(job.id, err, undefined),
    });
    for (const d of o.destinations) {
      const cfg = this.ch.destinations.find((c) => c.name === d.name)!;
      const health = new DestinationHealth({
        channel: this.ch.name,
        destination: d.name,
        failingAfter: failingAfterFor(cfg.retry.maxAttempts),
        backoff: { baseMs: cfg.retry.backoffBaseMs, maxMs: cfg.retry.backoffMaxMs },
        logger: o.logger,
      });
      this.health.set(d.name, health);
      this.destinationQueues.set(
        d.name,
        new OrderedQueue({
          ...base,
          name: `${this.ch.name}.dest.${d.name}`,
          maxAttempts: cfg.retry.maxAttempts,
          backoff: { baseMs: cfg.retry.backoffBaseMs, maxMs: cfg.retry.backoffMaxMs },
          retryAmbiguous: cfg.retry.retryAmbiguous,
          gate: health,
          processor: (job) => this.processDestination(job, d),
          onDead: (job, err) => this.dead(job.data.messageId!, err, d.name),
        }),
      );
    }
    this.recovery = new ChannelRecovery({
      channel: this.ch.name,
      store: o.store,
      inbound: this.inbound,
      destinationQueues: this.destinationQueues,
      settle: (id) => this.settle(id),
    });
  }

  async start(): Promise<void> {
    await this.inbound.start();
    for (const q of this.destinationQueues.values()) await q.start();
  }

  /** Every stage drains at once, under the same deadline (one after the other would add them up). */
  async stop(drainDeadlineMs: number): Promise<void> {
    await Promise.all([this.inbound, ...this.destinationQueues.values()].map((q) => q.stop({ drainDeadlineMs })));
  }

  /** Puts committed messages on the inbound queue, in order. */
  async enqueue(items: { id: string; orderingKey: string }[]): Promise<void> {
    await this.inbound.addBulk(items.map((i) => ({ orderingKey: i.orderingKey || i.id, id: i.id, data: {} })));
  }

  /**
   * Re-adds the jobs Redis lost (or never got) for what the store holds unfinished; returns how
   * many it re-added (see ChannelRecovery).
   */
  recover(opts: RecoverOptions = {}): Promise<number> {
    return this.recovery.run(opts);
  }

  /**
   * Manual reprocess of a dead-lettered message: the failed stage runs again (dead destinations
   * only, if delivery failed; filter + transform otherwise). It joins the end of its line.
   */
  async reprocess(id: string): Promise<string[]> {
    const { store } = this.o;
    const m = await store.get(id);
    if (!m || m.channel !== this.ch.name) throw new PasserelleError('PSL_MESSAGE_MISSING', `message ${id} is not in channel ${this.ch.name}`);
    if (m.state !== 'dead') throw new PasserelleError('PSL_REPROCESS_REFUSED', `message ${id} is ${m.state}, not dead`);
    const key = m.orderingKey || m.id;
    const deadDests = (await store.deliveries(id)).filter((d) => d.state === 'dead').map((d) => d.destination);
    if (deadDests.length === 0) {
      await store.setState(id, 'received', null);
      if (!(await this.inbound.reprocess(id))) await this.inbound.add(key, id, {});
      return ['in'];
    }
    await store.setState(id, 'routed', null);
    for (const name of deadDests) {
      const q = this.destinationQueues.get(name);
      if (!q) continue; // destination removed from the channel since
      await store.setDelivery(id, name, 'pending', 'reprocess requested', false);
      if (!(await q.reprocess(`${id}.${name}`))) await q.add(key, `${id}.${name}`, { messageId: id });
    }
    return deadDests;
  }

  /**
   * Inbound job: the job is a trigger; order comes from the store. Earlier messages of the same
   * key that are still waiting (their jobs lost with Redis, or re-added behind this one) go first.
   */
  private async processInbound(job: OrderedJob): Promise<void> {
    const m = await this.o.store.get(job.id);
    if (!m) throw new PasserelleError('PSL_MESSAGE_MISSING', `message ${job.id} is not in the store`);
    if (m.orderingKey && (m.state === 'received' || m.state === 'processing')) {
      for (;;) {
        const earlier = await this.o.store.earlierPending(this.ch.name, m.orderingKey, m.seq, 50);
        if (earlier.length === 0) break;
        for (const e of earlier) {
          try {
            await this.inboundStage(e);
          } catch (err) {
            if (retryClassOf(err) === 'permanent') await this.dead(e.id, err, undefined);
            else throw err;
          }
        }
      }
    }
    await this.inboundStage(m);
  }

  private async inboundStage(m: StoredMessage): Promise<void> {
    const { store } = this.o;
    if (m.state !== 'received' && m.state !== 'processing') {
      if (m.state === 'routed') await this.enqueueDestinations(m, true);
      return;
    }
    await store.setState(m.id, 'processing');
    const raw = await store.raw(m.id);
    if (!raw) throw new PasserelleError('PSL_MESSAGE_MISSING', `raw bytes of ${m.id} are missing`);
    let msg = Message.parse(decode(raw, { override: m.charset as Charset }).text);
    const ctx = { channel: this.ch.name, id: m.id };

    if (!(await this.passes(msg, ctx))) {
      await store.setState(m.id, 'filtered');
      this.o.logger.info('filtered', { channel: this.ch.name, id: m.id, controlId: m.controlId });
      return;
    }
    if (this.o.transform) {
      let out: Message | string | null;
      try {
        out = await this.o.transform(msg, ctx);
      } catch (e) {
        if (e instanceof PasserelleError) throw e;
        throw new PasserelleError('PSL_TRANSFORM_FAILED', (e as Error).message, { cause: e });
      }
      if (out === null) {
        await store.setState(m.id, 'filtered');
        return;
      }
      msg = typeof out === 'string' ? Message.parse(out) : out;
    }
    await store.putContent(m.id, OUT, Buffer.from(msg.toString(), 'utf8'));
    if (this.o.destinations.length === 0) {
      await store.setState(m.id, 'done');
      return;
    }
    // 'routed' and the open deliveries (one transaction) before the destination jobs exist: a
    // fast destination must not see its 'done' overwritten, and a crash before the jobs are added
    // leaves open deliveries that recovery re-adds.
    await store.route(m.id, [...this.destinationQueues.keys()]);
    await this.enqueueDestinations(m, false);
  }

  private async passes(msg: Message, ctx: { channel: string; id: string }): Promise<boolean> {
    const f = this.ch.filter;
    if (f?.messageTypes && !f.messageTypes.some((t) => msg.messageType === t || msg.messageCode === t)) return false;
    if (!this.o.filter) return true;
    try {
      return await this.o.filter(msg, ctx);
    } catch (e) {
      throw new PasserelleError('PSL_FILTER_FAILED', (e as Error).message, { cause: e });
    }
  }

  private async enqueueDestinations(m: StoredMessage, skipDelivered: boolean): Promise<void> {
    const done = skipDelivered ? new Set((await this.o.store.deliveries(m.id)).filter((d) => d.state !== 'pending').map((d) => d.destination)) : new Set<string>();
    // One queue per destination: adding to them at once keeps each queue's order.
    await Promise.all(
      [...this.destinationQueues].filter(([name]) => !done.has(name)).map(([name, q]) => q.add(m.orderingKey || m.id, `${m.id}.${name}`, { messageId: m.id })),
    );
  }

  /**
   * Destination job: earlier messages of the same key still open for THIS destination are
   * delivered first (one indexed look-up; other destinations' state does not matter). The
   * queue's gate (DestinationHealth) holds the job while the destination is failing as a whole.
   */
  private async processDestination(job: OrderedJob, dest: Destination): Promise<void> {
    const id = job.data.messageId!;
    const m = await this.o.store.get(id);
    if (!m) throw new PasserelleError('PSL_MESSAGE_MISSING', `message ${id} is not in the store`);
    if (m.orderingKey) {
      for (;;) {
        const earlier = await this.o.store.earlierPending(this.ch.name, m.orderingKey, m.seq, 50, dest.name);
        if (earlier.length === 0) break;
        for (const e of earlier) {
          try {
            await this.deliverStage(e.id, dest, job.attempt);
          } catch (err) {
            // An earlier message that can never go is dead-lettered here; a retryable one blocks the line.
            if (retryClassOf(err) === 'permanent') await this.dead(e.id, err, dest.name);
            else throw err;
          }
        }
      }
    }
    await this.deliverStage(id, dest, job.attempt);
  }

  private async deliverStage(id: string, dest: Destination, attempt: number): Promise<void> {
    const { store } = this.o;
    const prior = await store.getDelivery(id, dest.name);
    if (prior?.state === 'delivered' || prior?.state === 'dead') return this.finishIfComplete(id);
    const content = await store.getContent(id, OUT);
    if (!content) throw new PasserelleError('PSL_MESSAGE_MISSING', `transformed content of ${id} is missing`);
    const message = Message.parse(content.toString('utf8'));
    try {
      const detail = await dest.deliver({ id, controlId: message.controlId, message });
      await store.setDelivery(id, dest.name, 'delivered', detail, true);
      this.o.logger.info('delivered', { channel: this.ch.name, id, controlId: message.controlId, destination: dest.name });
    } catch (e) {
      await store.setDelivery(id, dest.name, 'pending', `${errorCodeOf(e)}: ${(e as Error).message}`, true);
      this.o.logger.warn('delivery failed', { channel: this.ch.name, id, destination: dest.name, attempt, code: errorCodeOf(e) });
      throw e;
    }
    await this.finishIfComplete(id);
  }

  private async finishIfComplete(id: string): Promise<void> {
    const ds = await this.o.store.deliveries(id);
    const delivered = new Set(ds.filter((d) => d.state === 'delivered').map((d) => d.destination));
    if ([...this.destinationQueues.keys()].every((n) => delivered.has(n))) await this.o.store.setState(id, 'done');
  }

  /** A routed message with no open delivery left (crash before its last step): done or dead. */
  private async settle(id: string): Promise<void> {
    const ds = await this.o.store.deliveries(id);
    const dead = ds.find((d) => d.state === 'dead' && this.destinationQueues.has(d.destination));
    if (dead) await this.o.store.setState(id, 'dead', `${dead.destination}: ${dead.detail ?? ''}`);
    else await this.finishIfComplete(id);
  }

  private async dead(id: string, err: unknown, destination: string | undefined): Promise<void> {
    const reason = `${errorCodeOf(err)}: ${(err as Error)?.message ?? String(err)}`;
    if (destination) await this.o.store.setDelivery(id, destination, 'dead', reason, false);
    await this.o.store.setState(id, 'dead', destination ? `${destination}: ${reason}` : reason);
    this.o.logger.error('dead-lettered', { channel: this.ch.name, id, destination, code: errorCodeOf(err) });
  }
}

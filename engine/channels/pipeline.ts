import { Message, decode, type Charset } from '../hl7';
import { OrderedQueue } from '../queue';
import type { OrderedJob } from '../queue/types';
import type { RedisOptions } from 'ioredis';
import { PasserelleError, errorCodeOf, retryClassOf } from '../errors';
import type { MessageStore, StoredMessage } from '../store/types';
import type { ChannelConfig } from '../config/channel-schema';
import type { Destination } from '../delivery';
import type { Logger } from '../runtime/logger';
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
 * Messages per inbound job at most. An inbound job carries the messages of one partition that
 * were committed together (docs/design.md, "Inbound groups"): one BullMQ add per group instead of
 * one per message was the largest cost left on the intake path (issue 7).
 */
export const INBOUND_GROUP_MAX = 64;

/** A failure of one message of an inbound group: names it, and steers retries as its cause does. */
class InboundItemError extends Error {
  readonly code: string;
  readonly retry: ReturnType<typeof retryClassOf>;
  constructor(readonly messageId: string, override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
    this.code = errorCodeOf(cause);
    this.retry = retryClassOf(cause);
  }
}


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
      onDead: (job, err) => this.inboundDead(job, err),
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
      enqueueInbound: (items) => this.enqueue(items),
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

  /**
   * Puts committed messages on the inbound queue, in order: the messages of one partition go in
   * groups of up to INBOUND_GROUP_MAX per job (a group's job id is its first message's id), so a
   * commit group of N messages costs one add per partition it touches, not N.
   */
  async enqueue(items: readonly { id: string; orderingKey: string }[]): Promise<void> {
    const byPartition = new Map<number, { id: string; key: string }[]>();
    for (const i of items) {
      const key = i.orderingKey || i.id;
      const p = this.inbound.partitionOf(key);
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push({ id: i.id, key });
    }
    const jobs = [];
    for (const list of byPartition.values()) {
      for (let at = 0; at < list.length; at += INBOUND_GROUP_MAX) {
        const group = list.slice(at, at + INBOUND_GROUP_MAX);
        jobs.push({ id: group[0]!.id, orderingKey: group[0]!.key, members: group.length > 1 ? group.map((g) => g.id) : undefined });
      }
    }
    await this.inbound.addBulk(jobs);
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
   * `note` (who asked, when: engine/channels/message-actions.ts) becomes the message's reason
   * and the reopened deliveries' detail, so the store says it was reprocessed.
   */
  async reprocess(id: string, note?: string): Promise<string[]> {
    const { store } = this.o;
    const m = await store.get(id);
    if (!m || m.channel !== this.ch.name) throw new PasserelleError('PSL_MESSAGE_MISSING', `message ${id} is not in channel ${this.ch.name}`);
    if (m.state !== 'dead') throw new PasserelleError('PSL_REPROCESS_REFUSED', `message ${id} is ${m.state}, not dead`);
    const key = m.orderingKey || m.id;
    const deadDests = (await store.deliveries(id)).filter((d) => d.state === 'dead').map((d) => d.destination);
    if (deadDests.length === 0) {
      await store.setState(id, 'received', note ?? null);
      // A new job of its own: the one that carried it may be a finished group job (an add of an
      // id that exists does nothing), and re-running a whole group would be noise.
      await this.inbound.addBulk([{ orderingKey: key, id: `${id}.reprocess.${Date.now().toString(36)}`, members: [id] }]);
      return ['in'];
    }
    await store.setState(id, 'routed', note ?? null);
    for (const name of deadDests) {
      const q = this.destinationQueues.get(name);
      if (!q) continue; // destination removed from the channel since
      await store.setDelivery(id, name, 'pending', note ?? 'reprocess requested', false);
      if (!(await q.reprocess(`${id}.${name}`))) await q.add(key, `${id}.${name}`, { messageId: id });
    }
    return deadDests;
  }

  /**
   * Inbound job: a trigger for its messages, in order; order comes from the store. A message that
   * fails for good is dead-lettered and the group goes on; a retryable failure retries the job
   * (messages already done are skipped: each stage reads the store state first).
   */
  private async processInbound(job: OrderedJob): Promise<void> {
    for (const id of job.members ?? [job.id]) {
      try {
        await this.processInboundMessage(id);
      } catch (err) {
        if (err instanceof InboundItemError) throw err;
        if (retryClassOf(err) !== 'permanent') throw new InboundItemError(id, err);
        // Recording the dead letter may fail too (store down): the retry, or the job's own dead
        // letter, must still name this message, not the group's first one.
        await this.dead(id, err, undefined).catch((e: unknown) => {
          throw new InboundItemError(id, e);
        });
      }
    }
  }

  /**
   * The job's attempts ran out on a retryable failure: that message is dead-lettered, and the
   * job's messages still waiting go back in a new job at the end of the line (a message with an
   * ordering key still goes before the later ones of its key: see processInboundMessage).
   */
  private async inboundDead(job: OrderedJob, err: unknown): Promise<void> {
    const failed = err instanceof InboundItemError ? err.messageId : job.id;
    await this.dead(failed, err instanceof InboundItemError ? err.cause : err, undefined);
    const rest = [];
    for (const id of job.members ?? []) {
      if (id === failed) continue;
      const m = await this.o.store.get(id);
      if (m && (m.state === 'received' || m.state === 'processing')) rest.push(m);
    }
    if (rest.length === 0) return;
    const first = rest[0]!;
    await this.inbound.addBulk([
      { id: `${first.id}.after.${failed}`, orderingKey: first.orderingKey || first.id, members: rest.map((m) => m.id) },
    ]);
  }

  /**
   * One message of an inbound job. Earlier messages of the same key that are still waiting (their
   * jobs lost with Redis, or re-added behind this one) go first.
   */
  private async processInboundMessage(id: string): Promise<void> {
    const m = await this.o.store.get(id);
    if (!m) throw new PasserelleError('PSL_MESSAGE_MISSING', `message ${id} is not in the store`);
    if (m.orderingKey && (m.state === 'received' || m.state === 'processing')) {
      for (;;) {
        const earlier = await this.o.store.earlierPending(this.ch.name, m.orderingKey, m.seq, 50);
        if (earlier.length === 0) break;
        for (const e of earlier) {
          try {
            await this.inboundStage(e);
          } catch (err) {
            if (retryClassOf(err) !== 'permanent') throw new InboundItemError(e.id, err);
            await this.dead(e.id, err, undefined).catch((d: unknown) => {
              throw new InboundItemError(e.id, d);
            });
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
    const text = decode(raw, { override: m.charset as Charset }).text;
    if (!this.o.transform && !this.o.filter && !this.ch.filter?.messageTypes) {
      // Nothing here reads the message: its text goes to the destinations as it is (each parses
      // what it delivers); intake parsed it already, and a third parse would only cost time.
      await store.putContent(m.id, OUT, Buffer.from(text, 'utf8'));
      return this.route(m);
    }
    let msg = Message.parse(text);
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
    await this.route(m);
  }

  private async route(m: StoredMessage): Promise<void> {
    const { store } = this.o;
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
      // Discarded by an operator while this attempt ran (message-actions.ts): it stays closed.
      if ((await store.get(id))?.state === 'discarded') {
        await store.setDelivery(id, dest.name, 'dead', `${errorCodeOf(e)}: ${(e as Error).message} (after the message was discarded)`, true);
        return;
      }
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

import type { OrderedQueue } from '../queue';
import type { MessageStore } from '../store/types';

export interface RecoverOptions {
  /** Store rows per page. Default 500. */
  batch?: number;
  /**
   * Start-up only: first give routed messages the open deliveries they lack (a database of an
   * earlier version, a destination added since) and finish those with none left.
   */
  repair?: boolean;
  /**
   * Leave alone what was routed or received less than this long ago: its own stage is adding
   * its job right now (periodic scans). Default 0.
   */
  graceMs?: number;
}

export interface ChannelRecoveryDeps {
  channel: string;
  store: MessageStore;
  inbound: OrderedQueue;
  /** Puts messages on the inbound queue as new work would go (grouped per partition). */
  enqueueInbound(items: readonly { id: string; orderingKey: string }[]): Promise<void>;
  destinationQueues: ReadonlyMap<string, OrderedQueue>;
  /** Finishes a routed message with no open delivery left (done, or dead). */
  settle(id: string): Promise<void>;
}

/**
 * Re-adds the jobs Redis lost (or never got) for what the store holds unfinished (see
 * docs/design.md, "Recovery order"). Only messages no job carries are re-added (OrderedQueue.missing:
 * one script call per page), and each is checked against the store again first, so a live or
 * just-finished job is never added twice and the count is what was really re-enqueued (0 while
 * Redis kept everything). Every query is one indexed page: open deliveries by (seq,
 * destination), then inbound-waiting messages by seq. Destination jobs go first: for one key,
 * routed messages precede received ones, so the lines are rebuilt in arrival order.
 */
export class ChannelRecovery {
  constructor(private readonly d: ChannelRecoveryDeps) {}

  async run(opts: RecoverOptions = {}): Promise<number> {
    const batch = opts.batch ?? 500;
    if (opts.repair) {
      await this.repair(batch);
      await this.d.inbound.sweepMembers();
    }
    return (await this.destinations(batch, opts.graceMs ?? 0)) + (await this.inboundJobs(batch, opts.graceMs ?? 0));
  }

  private async repair(batch: number): Promise<void> {
    const names = [...this.d.destinationQueues.keys()];
    if (names.length === 0) return;
    for (let after = 0; ; ) {
      const page = await this.d.store.repairRouted(this.d.channel, names, after, batch);
      if (page.scanned === 0) return;
      after = page.lastSeq;
      for (const id of page.settled) await this.d.settle(id);
    }
  }

  private async destinations(batch: number, graceMs: number): Promise<number> {
    const { store } = this.d;
    let count = 0;
    for (let seq = 0, destination = ''; ; ) {
      const page = await store.openDeliveries(this.d.channel, seq, destination, batch);
      if (page.length === 0) return count;
      ({ seq, destination } = page[page.length - 1]!);
      const cutoff = Date.now() - graceMs;
      for (const [name, q] of this.d.destinationQueues) {
        const jobs = page
          .filter((o) => o.destination === name && o.openedAt.getTime() <= cutoff)
          .map((o) => ({ orderingKey: o.orderingKey || o.messageId, id: `${o.messageId}.${name}`, data: { messageId: o.messageId } }));
        const lost = [];
        for (const j of await q.missing(jobs)) {
          const delivery = await store.getDelivery(j.data.messageId, name);
          if (delivery?.state !== 'delivered' && delivery?.state !== 'dead') lost.push(j);
        }
        if (lost.length) await q.addBulk(lost);
        count += lost.length;
      }
    }
  }

  private async inboundJobs(batch: number, graceMs: number): Promise<number> {
    const { store, inbound } = this.d;
    let count = 0;
    for (let after = 0; ; ) {
      const page = await store.inboundPending(this.d.channel, after, batch);
      if (page.length === 0) return count;
      after = page[page.length - 1]!.seq;
      const cutoff = Date.now() - graceMs;
      const jobs = page.filter((m) => m.updatedAt.getTime() <= cutoff).map((m) => ({ orderingKey: m.orderingKey || m.id, id: m.id }));
      const lost = [];
      for (const j of await inbound.missing(jobs)) {
        const m = await store.get(j.id);
        if (m?.state === 'received' || m?.state === 'processing') lost.push({ id: m.id, orderingKey: m.orderingKey });
      }
      if (lost.length) await this.d.enqueueInbound(lost);
      count += lost.length;
    }
  }
}

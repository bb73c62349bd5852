/**
 * Cluster-wide ownership of queue partitions.
 *
 * A process may run the worker of partition `i` only while it holds the Redis key
 * `<prefix>:lease:<name>:<i>` (SET NX PX, value = member id). Leases are renewed with a
 * compare-and-set script every `leaseMs / 3`; a lease that cannot be renewed is *lost* and the
 * partition's worker is stopped after its current job.
 *
 * Live processes heartbeat into the sorted set `<prefix>:members:<name>` (score = expiry, in Redis
 * server time, so host clocks do not matter). Each process aims for `ceil(N / live)` partitions:
 * it releases extras when others join (stop the worker first, then delete the lease) and picks up
 * free or orphaned (expired) leases. One tick does heartbeat → renew → release extras → acquire.
 */
import type { Redis } from 'ioredis';

export type StopReason = 'lost' | 'rebalance' | 'shutdown';

export interface PartitionLeaseHooks {
  /** The lease of `partition` was won: start its worker. A rejection releases the lease. */
  start(partition: number): Promise<void>;
  /**
   * Stop the worker of `partition`. The lease stays held (and renewed) until this resolves, then
   * it is released (unless it was lost).
   */
  stop(partition: number, reason: StopReason): Promise<void>;
}

export interface PartitionLeasesOptions {
  /** A dedicated connection (not shared with blocking commands). */
  redis: Redis;
  prefix: string;
  name: string;
  partitions: number;
  leaseMs: number;
  memberId: string;
  hooks: PartitionLeaseHooks;
  onError?: (err: unknown, context: string) => void;
}

type SlotState = 'starting' | 'running' | 'stopping';

interface Slot {
  state: SlotState;
  /** Local deadline (Date.now()) until which the lease is known to be ours. */
  validUntil: number;
  lost: boolean;
}

/** Heartbeat in server time; drop expired members; return [live count, server now]. */
const HEARTBEAT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZCARD', KEYS[1])
`;

/** For each key: extend it if it still holds our id. Returns 1/0 per key. */
const RENEW_LUA = `
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

/** Delete the key only if it still holds our id. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** FNV-1a 32-bit; stable across processes and versions. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class PartitionLeases {
  private readonly o: PartitionLeasesOptions;
  private readonly slots = new Map<number, Slot>();
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private running = false;
  private shuttingDown = false;
  private live = 1;

  constructor(options: PartitionLeasesOptions) {
    if (!Number.isInteger(options.partitions) || options.partitions < 1) throw new RangeError('partitions must be a positive integer');
    if (!(options.leaseMs >= 300)) throw new RangeError('leaseMs must be at least 300');
    this.o = options;
  }

  get membersKey(): string {
    return `${this.o.prefix}:members:${this.o.name}`;
  }

  leaseKey(partition: number): string {
    return `${this.o.prefix}:lease:${this.o.name}:${partition}`;
  }

  /** Partitions whose worker this process runs (lease held, not being released). */
  owned(): number[] {
    return [...this.slots.entries()]
      .filter(([, s]) => s.state === 'running' && !s.lost)
      .map(([i]) => i)
      .sort((a, b) => a - b);
  }

  /** Whether this process may start work on `partition` right now. */
  isValid(partition: number): boolean {
    const s = this.slots.get(partition);
    return s !== undefined && !s.lost && Date.now() < s.validUntil;
  }

  /** Live members seen at the last heartbeat (this process included). */
  liveMembers(): number {
    return this.live;
  }

  /**
   * Joins the cluster and runs the first tick; resolves once the partitions won in it have started
   * (or after `leaseMs`, if a previous owner's job is still finishing).
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.shuttingDown = false;
    await this.runTick();
    const starting = [...this.pending];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(starting),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.o.leaseMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
  }

  /** Forces a tick now (e.g. after a reconnect). */
  async poke(): Promise<void> {
    if (!this.running) return;
    await this.runTick();
  }

  /**
   * Stops every worker (hooks.stop 'shutdown'), keeps renewing meanwhile, then releases the leases
   * and leaves the member set.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.shuttingDown = true;
    if (this.ticking) await this.ticking.catch(() => undefined);
    for (const [i, s] of this.slots) {
      if (s.state !== 'stopping') this.beginStop(i, s.lost ? 'lost' : 'shutdown');
    }
    // Keep ticking (renewals) while the workers drain.
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
    }
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.ticking) await this.ticking.catch(() => undefined);
    try {
      await withTimeout(this.o.redis.zrem(this.membersKey, this.o.memberId), this.o.leaseMs, 'leave');
    } catch (err) {
      this.report(err, 'leave');
    }
  }

  private report(err: unknown, context: string): void {
    try {
      this.o.onError?.(err, context);
    } catch {
      /* never let a logger break the loop */
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runTick();
    }, ms);
    this.timer.unref?.();
  }

  private runTick(): Promise<void> {
    if (this.ticking) return this.ticking;
    const p = this.tick()
      .catch((err: unknown) => this.report(err, 'lease tick'))
      .finally(() => {
        this.ticking = undefined;
      });
    this.ticking = p;
    return p;
  }

  private async tick(): Promise<void> {
    const { redis, leaseMs, memberId, partitions } = this.o;
    const period = Math.max(100, Math.floor(leaseMs / 3));
    const opTimeout = period;
    let next = period;
    try {
      const sentAt = Date.now();
      // 1. heartbeat (skipped once shutting down so others see us leave)
      if (!this.shuttingDown) {
        const live = await withTimeout(
          redis.eval(HEARTBEAT_LUA, 1, this.membersKey, memberId, String(leaseMs)) as Promise<number>,
          opTimeout,
          'heartbeat',
        );
        this.live = Math.max(1, Number(live));
      }

      // 2. renew every held lease (including those being stopped)
      const held = [...this.slots.entries()].filter(([, s]) => !s.lost);
      if (held.length > 0) {
        const keys = held.map(([i]) => this.leaseKey(i));
        const res = (await withTimeout(
          redis.eval(RENEW_LUA, keys.length, ...keys, memberId, String(leaseMs)) as Promise<number[]>,
          opTimeout,
          'renew',
        )) as number[];
        held.forEach(([i, s], k) => {
          if (Number(res[k]) === 1) {
            s.validUntil = sentAt + Math.floor(leaseMs * 0.9);
          } else {
            s.lost = true;
            s.validUntil = 0;
            if (s.state !== 'stopping') this.beginStop(i, 'lost');
          }
        });
      }
      if (this.shuttingDown) return;

      // 3. release extras
      const target = Math.ceil(partitions / this.live);
      const active = [...this.slots.entries()].filter(([, s]) => s.state !== 'stopping' && !s.lost).map(([i]) => i);
      if (active.length > target) {
        const extras = active.sort((a, b) => b - a).slice(0, active.length - target);
        for (const i of extras) this.beginStop(i, 'rebalance');
      }

      // 4. acquire free / orphaned partitions
      let have = Math.min(active.length, target);
      if (have < target) {
        const offset = fnv1a(memberId) % partitions;
        for (let k = 0; k < partitions && have < target; k++) {
          const i = (offset + k) % partitions;
          if (this.slots.has(i)) continue;
          const ok = await withTimeout(redis.set(this.leaseKey(i), memberId, 'PX', leaseMs, 'NX'), opTimeout, 'acquire');
          if (ok === 'OK') {
            have++;
            this.beginStart(i, sentAt + Math.floor(leaseMs * 0.9));
          }
        }
        // Under target: someone still has to release; look again soon.
        if (have < target) next = Math.min(period, 500);
      }
    } finally {
      this.schedule(next);
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private beginStart(i: number, validUntil: number): void {
    const slot: Slot = { state: 'starting', validUntil, lost: false };
    this.slots.set(i, slot);
    const p = this.o.hooks.start(i).then(
      () => {
        if (slot.state === 'starting') slot.state = 'running';
      },
      (err: unknown) => {
        this.report(err, `start partition ${i}`);
        if (slot.state !== 'stopping') this.beginStop(i, 'rebalance');
      },
    );
    this.track(p);
  }

  private beginStop(i: number, reason: StopReason): void {
    const slot = this.slots.get(i);
    if (!slot || slot.state === 'stopping') return;
    slot.state = 'stopping';
    const p = (async () => {
      try {
        await this.o.hooks.stop(i, reason);
      } catch (err) {
        this.report(err, `stop partition ${i}`);
      }
      if (!slot.lost) {
        try {
          await withTimeout(
            this.o.redis.eval(RELEASE_LUA, 1, this.leaseKey(i), this.o.memberId) as Promise<number>,
            this.o.leaseMs,
            'release',
          );
        } catch (err) {
          // It will expire by itself.
          this.report(err, `release partition ${i}`);
        }
      }
      if (this.slots.get(i) === slot) this.slots.delete(i);
      // Let others (or ourselves, after a lost lease) pick it up promptly.
      if (this.running && !this.shuttingDown) this.schedule(50);
    })();
    this.track(p);
  }
}

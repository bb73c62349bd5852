import { errorCodeOf } from '../errors';
import type { AttemptGate, AttemptTicket } from '../queue/types';
import type { Logger } from '../runtime/logger';

export interface DestinationHealthOptions {
  channel: string;
  destination: string;
  /**
   * Consecutive retryable failures (of any messages) after which the destination is failing.
   * Default 3; a pipeline passes `failingAfterFor(maxAttempts)` so that it is never above the
   * attempts one message has.
   */
  failingAfter?: number;
  /** Probe pacing while failing: first wait `baseMs`, doubled after each failed probe, at most `maxMs`. */
  backoff: { baseMs: number; maxMs: number };
  logger: Logger;
}

/**
 * Breaker threshold for a destination whose messages have `maxAttempts` attempts: 3, but never
 * more than `maxAttempts` (at least 2, one failure proves nothing). Then a message can be
 * dead-lettered for retryable failures only if something got through between its first and its
 * last attempt: when all of its attempts fail in a row, the breaker has tripped by its last one
 * and that failure is put down to the outage. With maxAttempts 2 and a threshold of 3, the
 * first message of an outage could die after its two failures (isolation test, issue 7).
 */
export function failingAfterFor(maxAttempts: number): number {
  return Math.min(3, Math.max(2, maxAttempts));
}

interface Waiter {
  /** Set while the waiter sleeps; called to wake it. */
  wake?: () => void;
}

/**
 * Circuit breaker of one destination, in this process (the gate of its OrderedQueue).
 *
 * Healthy: every partition head attempts freely. After `failingAfter` consecutive retryable
 * failures the destination is *failing*: one probe at a time (the longest-waiting head, so a
 * message that fails for its own reason cannot hold the probe for ever), paced by a growing
 * backoff; every other head waits here, holding its job but using none of its attempts. The
 * first success closes it and every head goes again. One warn "destination failing" and one
 * info "destination recovered" per outage.
 *
 * Per process on purpose: the hot path stays free of Redis round trips, and the worst case is one
 * probe per engine process. Waiters are bounded by the partitions this process consumes (one
 * active job each); the backlog itself stays in Redis and the store.
 */
export class DestinationHealth implements AttemptGate {
  private readonly failingAfter: number;
  private consecutive = 0;
  private failingSince: number | undefined;
  private code = '';
  private probing = false;
  private probeDelayMs = 0;
  private nextProbeAt = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly o: DestinationHealthOptions) {
    this.failingAfter = o.failingAfter ?? 3;
  }

  /** True while the destination is failing (between the two log events). */
  get failing(): boolean {
    return this.failingSince !== undefined;
  }

  async admit(signal: AbortSignal): Promise<AttemptTicket | undefined> {
    if (signal.aborted) return undefined;
    if (!this.failing) return this.ticket(false);
    const me: Waiter = {};
    this.waiting.push(me);
    try {
      for (;;) {
        if (signal.aborted) return undefined;
        if (!this.failing) return this.ticket(false);
        const first = this.waiting[0] === me && !this.probing;
        const now = Date.now();
        if (first && now >= this.nextProbeAt) {
          this.probing = true;
          return this.ticket(true);
        }
        await this.sleep(me, signal, first ? this.nextProbeAt - now : undefined);
      }
    } finally {
      const at = this.waiting.indexOf(me);
      if (at >= 0) this.waiting.splice(at, 1);
      if (at === 0) this.wakeAll(); // the next in line may be due
    }
  }

  private sleep(me: Waiter, signal: AbortSignal, ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        me.wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
      me.wake = done;
    });
  }

  private wakeAll(): void {
    for (const w of [...this.waiting]) w.wake?.();
  }

  private ticket(probe: boolean): AttemptTicket {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      if (probe) this.probing = false;
      return true;
    };
    return {
      succeeded: () => {
        if (settle()) this.onSuccess();
      },
      failed: (error, retryable) => (settle() ? this.onFailure(error, retryable, probe) : false),
      cancelled: () => {
        if (settle() && probe) this.wakeAll();
      },
    };
  }

  private onSuccess(): void {
    this.consecutive = 0;
    if (this.failingSince === undefined) return;
    const ms = Date.now() - this.failingSince;
    this.o.logger.info('destination recovered', { channel: this.o.channel, destination: this.o.destination, code: this.code, ms });
    this.failingSince = undefined;
    this.code = '';
    this.wakeAll();
  }

  /** Returns true when the failure is put down to the outage (not counted against the message). */
  private onFailure(error: unknown, retryable: boolean, probe: boolean): boolean {
    if (!retryable) {
      // Permanent (or ambiguous, not retried): the message's own fault; says nothing of an outage.
      if (probe) this.wakeAll();
      return false;
    }
    const now = Date.now();
    if (this.failingSince !== undefined) {
      if (probe) {
        this.probeDelayMs = Math.min(this.o.backoff.maxMs, this.probeDelayMs * 2);
        this.nextProbeAt = now + this.probeDelayMs;
        this.wakeAll();
      }
      return true;
    }
    this.consecutive++;
    if (this.consecutive < this.failingAfter) return false;
    this.failingSince = now;
    this.code = errorCodeOf(error);
    this.probeDelayMs = Math.min(this.o.backoff.maxMs, this.o.backoff.baseMs);
    this.nextProbeAt = now + this.probeDelayMs;
    this.o.logger.warn('destination failing', { channel: this.o.channel, destination: this.o.destination, code: this.code, count: this.consecutive });
    this.wakeAll();
    return true;
  }
}

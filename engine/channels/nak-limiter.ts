/**
 * Per-connection budget of refusals (token bucket): `burst` NAKs at once, then `perSecond`.
 * A refusal over budget waits for its token (the sender, waiting for its answer, slows down);
 * one that would wait more than `maxDelayMs` gets its NAK and the connection is closed.
 * Buckets are keyed by the connection object (WeakMap): nothing to clean up on disconnect.
 */
export interface NakRate {
  perSecond: number;
  burst: number;
  maxDelayMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type NakDecision = { action: 'now' } | { action: 'delay'; ms: number } | { action: 'close' };

export class NakLimiter {
  private readonly buckets = new WeakMap<object, Bucket>();

  constructor(
    private readonly rate: NakRate,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Spends one token of `conn`'s bucket; says when its NAK may go. */
  take(conn: object): NakDecision {
    const t = this.now();
    let b = this.buckets.get(conn);
    if (!b) {
      b = { tokens: this.rate.burst, at: t };
      this.buckets.set(conn, b);
    }
    b.tokens = Math.min(this.rate.burst, b.tokens + ((t - b.at) / 1000) * this.rate.perSecond);
    b.at = t;
    // Tokens may go below zero: each waiting NAK holds its place in the line.
    const waitMs = b.tokens >= 1 ? 0 : ((1 - b.tokens) / this.rate.perSecond) * 1000;
    if (waitMs > this.rate.maxDelayMs) return { action: 'close' };
    b.tokens -= 1;
    return waitMs === 0 ? { action: 'now' } : { action: 'delay', ms: Math.ceil(waitMs) };
  }
}

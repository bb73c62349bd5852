import { createHash } from 'node:crypto';
import type { ChannelConfig } from '../config/channel-schema';
import type { MessageStore } from '../store/types';
import type { Logger } from '../runtime/logger';

const LOG_PER_SECOND = 20;

/**
 * What is kept of refused messages, and how many: each refused frame is stored as its first
 * `keepBytes` (a private copy, so the frame itself can be freed at once) with its size and
 * SHA-256 in the reason; the channel's refusals are pruned to `maxCount`/`maxBytes`, oldest
 * first, every few refusals, one pruning at a time. Drops are counted by the store and logged
 * at warn, at most once a minute per channel.
 */
export class RefusalKeeper {
  private sincePrune = 0;
  private pruning: Promise<void> | undefined;
  /** Refusals came in while a pruning ran: prune once more after it. */
  private again = false;
  private droppedSinceLog = 0;
  private lastLog = 0;
  private readonly pruneEvery: number;
  /** 'refused' info lines: at most LOG_PER_SECOND a second per channel, the rest summed up. */
  private logWindowStart = 0;
  private loggedInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly channel: Readonly<ChannelConfig>,
    private readonly store: MessageStore,
    private readonly logger: Logger,
    private readonly logEveryMs = 60_000,
  ) {
    // Often enough that the store never holds much more than the quota, rarely enough to stay cheap.
    this.pruneEvery = Math.max(1, Math.min(100, Math.floor(channel.refusals.maxCount / 20)));
  }

  /** The bytes to store for a refused frame, and the summary to add to its reason when cut. */
  excerpt(raw: Buffer): { stored: Buffer; summary: string } {
    const keep = this.channel.refusals.keepBytes;
    if (raw.length <= keep) return { stored: Buffer.from(raw), summary: '' };
    const sha = createHash('sha256').update(raw).digest('hex');
    return { stored: Buffer.from(raw.subarray(0, keep)), summary: ` [frame of ${raw.length} bytes, sha256 ${sha}; first ${keep} bytes kept]` };
  }

  /**
   * The per-message 'refused' info line, bounded: a sender flooding bad frames would otherwise
   * write a log line per frame (gigabytes a day). Beyond LOG_PER_SECOND a second, lines are
   * counted and one 'refused messages not logged one by one' line gives the count.
   */
  logRefused(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.logWindowStart >= 1000) {
      if (this.suppressed > 0) {
        this.logger.warn('refused messages not logged one by one', { channel: this.channel.name, count: this.suppressed });
        this.suppressed = 0;
      }
      this.logWindowStart = now;
      this.loggedInWindow = 0;
    }
    if (this.loggedInWindow++ < LOG_PER_SECOND) this.logger.info('refused', fields);
    else this.suppressed++;
  }

  /** Called after each stored refusal. */
  stored(): void {
    if (++this.sincePrune < this.pruneEvery) return;
    if (this.pruning) {
      this.again = true;
      return;
    }
    this.sincePrune = 0;
    this.pruning = this.prune().finally(() => {
      this.pruning = undefined;
      if (this.again) {
        this.again = false;
        this.sincePrune = this.pruneEvery - 1;
        this.stored();
      }
    });
  }

  /** Resolves when no pruning is running (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pruning) await this.pruning;
  }

  async prune(): Promise<void> {
    const { maxCount, maxBytes } = this.channel.refusals;
    try {
      const n = await this.store.pruneRefusals(this.channel.name, { maxCount, maxBytes });
      if (n > 0) this.noteDropped(n);
    } catch (e) {
      this.logger.warn('refusal pruning failed', { channel: this.channel.name, error: (e as Error).message });
    }
  }

  private noteDropped(n: number): void {
    this.droppedSinceLog += n;
    const now = Date.now();
    if (now - this.lastLog < this.logEveryMs) return;
    this.lastLog = now;
    this.logger.warn('refusal quota reached: oldest refused messages deleted', {
      channel: this.channel.name,
      count: this.droppedSinceLog,
      code: 'PSL_REFUSALS_DROPPED',
    });
    this.droppedSinceLog = 0;
  }
}

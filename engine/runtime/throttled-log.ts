/**
 * Counts repeated events and reports them at most once per interval per key: the first one at
 * once, the rest as one line with a count when the interval ends. A flood (400 refused
 * connections, a sender hammering bad frames) is visible to operators without filling the log.
 */
export class ThrottledLog {
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly report: (key: string, count: number) => void,
    private readonly intervalMs = 10_000,
  ) {}

  note(key: string): void {
    if (!this.timer) {
      this.report(key, 1);
      this.arm();
      return;
    }
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Reports what is counted and stops the timer (channel stop). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Keep the window open while events keep coming, so a flood stays one line per interval.
      if (this.drain() > 0) this.arm();
    }, this.intervalMs);
    this.timer.unref();
  }

  private drain(): number {
    const entries = [...this.counts];
    this.counts.clear();
    for (const [key, n] of entries) this.report(key, n);
    return entries.length;
  }
}

/**
 * A background pass run a while after the engine starts, then a period after the previous pass
 * ended (never two at once, so a slow pass delays the next instead of piling up). stop() cancels
 * the next pass and waits for the one running. Retention and the directory loads run on it.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  /** `onError` gets what a pass threw: the timer goes on, the next pass is the retry. */
  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly onError: (e: unknown) => void,
  ) {}

  start(firstDelayMs: number, everyMs: number): void {
    if (this.timer || this.stopped) return;
    const tick = (delay: number): void => {
      this.timer = setTimeout(() => {
        this.running = this.pass()
          .then(() => undefined, this.onError)
          .finally(() => {
            this.running = undefined;
            if (!this.stopped) tick(everyMs);
          });
      }, delay);
      // A timer alone does not keep the process alive.
      this.timer.unref();
    };
    tick(firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

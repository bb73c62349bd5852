/**
 * The full ANS profile sets (≈10× the inline check) run after a document set is written, off
 * the main thread; their report lands beside the set. Kept apart from the delivery so it never
 * holds it; close() lets the engine wait for those still running, within its stop deadline.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidationPool } from '../validation';
import type { Logger } from '../runtime/logger';

export class FullChecks {
  private readonly running = new Set<Promise<void>>();
  private closing = false;

  constructor(
    private readonly validator: Pick<ValidationPool, 'validate'>,
    private readonly logger: Logger,
    /** Who runs them, for the logs (a destination's name). */
    private readonly owner: string,
  ) {}

  /** Starts the full check of one set; `<profile>.validation-full.json` is written in `dir` when done. */
  start(n3: string, n1: string, dir: string, profile: string): void {
    const p = this.run(n3, n1, dir, profile);
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async run(n3: string, n1: string, dir: string, profile: string): Promise<void> {
    try {
      const [r3, r1] = await Promise.all([this.validator.validate(n3, { full: true }), this.validator.validate(n1, { full: true })]);
      writeFileSync(join(dir, `${profile}.validation-full.json`), JSON.stringify({ n3: r3, n1: r1 }, null, 2) + '\n');
      if (!r3.valid || !r1.valid) this.logger.warn('full ANS validation found errors', { destination: this.owner, errors: r3.errors + r1.errors });
    } catch (e) {
      if (this.closing) return; // engine stopping: counted once in close()
      this.logger.warn('full ANS validation failed to run', { destination: this.owner, error: (e as Error).message });
    }
  }

  /** Waits for the full validations still running (the caller bounds the wait: engine stop deadline). */
  async close(): Promise<void> {
    this.closing = true;
    const n = this.running.size;
    if (n > 0) this.logger.info('waiting for full ANS validations before stop; those unfinished at the deadline are abandoned', { destination: this.owner, count: n });
    await Promise.all([...this.running]);
  }
}

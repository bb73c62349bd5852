import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decode, encode, splitBatch } from '../hl7';
import type { ChannelConfig } from '../config/channel-schema';
import type { Logger } from '../runtime/logger';
import type { Intake } from './intake';

type DirectoryConfig = Extract<ChannelConfig['source'], { type: 'directory' }>;

/**
 * Watched directory: each file (one message, a batch, or concatenated messages) goes through
 * the same intake as an MLLP frame; the file is moved away only after every message in it is
 * committed. A crash before the move re-reads the file, and dedupe on MSH-10 absorbs it.
 */
export class DirectorySource {
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private readonly dir: string;
  private readonly processed: string;
  private readonly refused: string;

  constructor(private readonly cfg: DirectoryConfig, private readonly intake: Intake, private readonly logger: Logger, private readonly channel: string) {
    this.dir = resolve(cfg.path);
    this.processed = resolve(cfg.processedPath ?? join(cfg.path, 'processed'));
    this.refused = join(this.dir, 'refused');
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.scan()
        .catch((e) => {
          this.logger.error('directory scan failed', { channel: this.channel, error: (e as Error).message });
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.cfg.pollSeconds * 1000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over the directory, oldest name first. Exposed for tests. */
  async scan(): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith(this.cfg.suffix) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    let n = 0;
    for (const name of names) {
      if (this.stopped) break;
      await this.takeFile(name);
      n++;
    }
    return n;
  }

  private async takeFile(name: string): Promise<void> {
    const path = join(this.dir, name);
    const bytes = await readFile(path);
    let frames: Buffer[];
    try {
      const { text, charset } = decode(bytes, { defaultCharset: 'utf-8', strict: false });
      const parts = splitBatch(text).messages;
      // A lone message keeps its exact bytes; messages cut out of a batch are re-encoded.
      const lone = parts.length <= 1 && !/^\uFEFF?\s*(FHS|BHS)/.test(text);
      frames = lone ? [bytes] : parts.map((p) => encode(p, charset));
    } catch {
      frames = [bytes]; // not HL7 at all: the intake refuses it and keeps it with the reason
    }
    let refused = 0;
    let failed = 0;
    for (const frame of frames) {
      const outcome = await this.intake.handle(frame);
      if (outcome.state === 'refused') refused++;
      if (outcome.state === 'store-failed') failed++;
    }
    if (failed > 0) return; // leave the file; next scan tries again
    const target = refused > 0 && refused === frames.length ? this.refused : this.processed;
    await mkdir(target, { recursive: true });
    await rename(path, join(target, name));
    this.logger.info('file taken', { channel: this.channel, file: name, count: frames.length });
  }
}

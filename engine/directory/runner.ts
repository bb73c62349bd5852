/**
 * The automatic directory load (SGL.ANN.01 / .04): every `everyMs`, each configured source (a
 * file path, or an https URL downloaded first) is loaded into the store. Runs in the engine
 * processes that consume queues, like retention.
 *
 * Several engines on one store: a load takes the store's directory lease (renewed while it
 * runs), so one process loads at a time; and a kind loaded less than `everyMs` ago (by anyone)
 * is not loaded again. A failure is logged with its code and tried again at the next period;
 * the directory in place stays. Logs carry counts, never anyone's name or address.
 */
import os from 'node:os';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { DirectoryKind, MessageStore } from '../store';
import type { Logger } from '../runtime/logger';
import { Periodic } from '../runtime/periodic';
import { errorCodeOf } from '../errors';
import { loadDirectoryFile, type LoadResult } from './loader';
import { downloadExtraction } from './download';

export interface DirectorySource {
  kind: DirectoryKind;
  /** A file path (.txt or .zip) or an https:// URL. */
  source: string;
}

export interface DirectoryRunnerOptions {
  store: Pick<MessageStore, 'directoryBeginLoad' | 'directoryPutBatch' | 'directoryFinishLoad' | 'directoryFailLoad' | 'directoryLoads' | 'directoryLease' | 'directoryReleaseLease'>;
  sources: readonly DirectorySource[];
  everyMs: number;
  /** Where downloads go (deleted once loaded). */
  downloadDir: string;
  /** Extra trusted roots (PEM) for the downloads. */
  ca?: string;
  downloadTimeoutMs?: number;
  logger: Logger;
  /** How long the lease lasts without renewal (a process that died frees it then). Default 10 min. */
  leaseMs?: number;
}

export type RunOutcome = { kind: DirectoryKind; outcome: 'loaded'; result: LoadResult } | { kind: DirectoryKind; outcome: 'skipped' | 'failed'; why: string };

export class DirectoryRunner {
  private readonly periodic = new Periodic(
    () => this.runOnce(),
    (e) => this.o.logger.error('directory pass failed', { code: errorCodeOf(e), error: (e as Error).message }),
  );
  private stopped = false;
  private readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(private readonly o: DirectoryRunnerOptions) {}

  /** A pass soon after the start, then one every period. */
  start(firstDelayMs = 30_000): void {
    if (this.stopped || this.o.sources.length === 0 || this.o.everyMs <= 0) return;
    this.periodic.start(firstDelayMs, this.o.everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.periodic.stop();
  }

  /** Each source once, if due and if the lease is ours. */
  async runOnce(force = false): Promise<RunOutcome[]> {
    const out: RunOutcome[] = [];
    for (const s of this.o.sources) {
      if (this.stopped) break;
      out.push(await this.runSource(s, force));
    }
    return out;
  }

  private async runSource(s: DirectorySource, force: boolean): Promise<RunOutcome> {
    const leaseMs = this.o.leaseMs ?? 600_000;
    if (!force) {
      const last = (await this.o.store.directoryLoads(50)).find((l) => l.kind === s.kind && l.state === 'done');
      // A little slack: a pass a few seconds early is still this period's.
      if (last?.finishedAt && Date.now() - last.finishedAt.getTime() < this.o.everyMs * 0.95) return { kind: s.kind, outcome: 'skipped', why: 'loaded recently' };
    }
    if (!(await this.o.store.directoryLease(this.holder, leaseMs))) return { kind: s.kind, outcome: 'skipped', why: 'another process is loading' };
    let downloaded: string | undefined;
    try {
      const started = Date.now();
      const file = s.source.startsWith('https://')
        ? (downloaded = await downloadExtraction(s.source, s.kind, this.o.downloadDir, { ...(this.o.ca ? { ca: this.o.ca } : {}), ...(this.o.downloadTimeoutMs ? { timeoutMs: this.o.downloadTimeoutMs } : {}) }))
        : s.source;
      let renewed = Date.now();
      const result = await loadDirectoryFile(this.o.store, file, {
        kind: s.kind,
        onBatch: async () => {
          // A stopping engine does not finish a long load: it fails here, the directory in place stays.
          if (this.stopped) throw new Error('the engine is stopping');
          if (Date.now() - renewed > leaseMs / 4) {
            renewed = Date.now();
            await this.o.store.directoryLease(this.holder, leaseMs);
          }
        },
      });
      const l = result.load;
      this.o.logger.info('directory loaded', { kind: s.kind, lines: l.lines, rejected: l.rejected, inactivated: l.inactivated, ms: Date.now() - started });
      if (l.rejected > 0) this.o.logger.warn('directory lines refused', { code: 'PSL_DIRECTORY_FORMAT', kind: s.kind, rejected: l.rejected, first: result.rejects.slice(0, 5).map((r) => `line ${r.line}: ${r.why}`).join('; ') });
      return { kind: s.kind, outcome: 'loaded', result };
    } catch (e) {
      this.o.logger.error('directory load failed; the previous directory stays', { code: errorCodeOf(e), kind: s.kind, error: (e as Error).message });
      return { kind: s.kind, outcome: 'failed', why: (e as Error).message };
    } finally {
      if (downloaded) fs.rmSync(downloaded, { force: true });
      await this.o.store.directoryReleaseLease(this.holder).catch(() => undefined);
    }
  }
}

import { Worker } from 'node:worker_threads';
import { workerEntry } from './sqlite-intake-thread';

/**
 * Main-thread end of the checkpointer thread (sqlite-checkpoint-worker.ts). Unref'd: it never
 * keeps the process up. If it cannot start or dies, the store still works: the main
 * connection's autocheckpoint (a higher threshold) bounds the WAL.
 */
export class SqliteCheckpointer {
  private worker: Worker | undefined;

  constructor(private readonly data: { path: string; intervalMs: number; busyTimeoutMs: number }) {}

  start(): Promise<boolean> {
    return new Promise((resolve) => {
      const entry = workerEntry('sqlite-checkpoint-worker');
      const w = new Worker(entry.file, { eval: entry.eval, workerData: this.data });
      w.unref();
      w.on('message', (m: { type: string }) => {
        if (m.type === 'ready') {
          this.worker = w;
          resolve(true);
        } else if (m.type === 'failed') {
          void w.terminate();
          resolve(false);
        }
      });
      w.on('error', () => resolve(false));
      w.on('exit', () => {
        if (this.worker === w) this.worker = undefined;
        resolve(false);
      });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    await new Promise<void>((resolve) => {
      w.on('message', (m: { type: string }) => m.type === 'closed' && resolve());
      w.once('exit', () => resolve());
      w.postMessage({ type: 'close' });
    });
    await w.terminate();
  }
}

/**
 * Renders N3 narratives in one worker thread (narrative-worker.ts), started at the first request
 * and ended with the console. A written version never changes, so results are kept (by folder)
 * in a small cache: opening a report again is instant.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../runtime/worker-threads';

const CACHE_ENTRIES = 32;
const TIMEOUT_MS = 30_000;

export class NarrativeRenderer {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (html: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly cache = new Map<string, string>();

  async render(key: string, n3: string): Promise<string> {
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, hit); // most recently used last
      return hit;
    }
    const html = await this.run(n3);
    this.cache.set(key, html);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return html;
  }

  private run(n3: string): Promise<string> {
    const w = this.thread();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('the narrative took too long to render'));
      }, TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      w.postMessage({ id, n3 });
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const entry = workerEntry(__dirname, 'narrative-worker');
    const w = new Worker(entry.file, { eval: entry.eval, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    w.unref(); // an idle renderer never keeps the process alive
    w.on('message', (m: { id: number; html?: string; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) p.reject(new Error(`narrative rendering failed: ${m.error}`));
      else p.resolve(m.html ?? '');
    });
    const fail = (e: Error): void => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(e);
      }
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', () => fail(new Error('the narrative thread exited')));
    this.worker = w;
    return w;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

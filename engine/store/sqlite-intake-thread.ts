import { workerEntry as threadEntry } from '../runtime/worker-threads';
import { Worker } from 'node:worker_threads';
import type { IntakeRow, RejectedRow, RowOutcome } from './sqlite-intake';
import { encodeGroup, type GroupReply, type GroupRequest, type IndexRequest, type JournalSpan, type PlainError, type WriterData } from './sqlite-intake-protocol';

type Reply = GroupReply | { type: 'ready' } | { type: 'failed'; error: PlainError } | { type: 'closed' };

function toError(p: PlainError): Error {
  return Object.assign(new Error(p.message), p.code ? { code: p.code } : {});
}

/** A worker script of this folder (see engine/runtime/worker-threads.ts). */
export function workerEntry(name: string): { file: string; eval: boolean } {
  return threadEntry(__dirname, name);
}

/**
 * Main-thread end of the SQLite writer thread. One group per round trip: the rows are written
 * once into one ArrayBuffer that is transferred (not cloned) to the thread. A thread
 * that died fails its group (the senders get no AA and resend) and is started again for the
 * next group.
 */
export class SqliteIntakeThread {
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private next = 1;
  private readonly pending = new Map<number, { count: number; resolve(r: RowOutcome[]): void; reject(e: unknown): void; rejected?(r: RejectedRow[]): void }>();

  constructor(private readonly data: WriterData) {}

  start(): Promise<Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= new Promise<Worker>((resolve, reject) => {
      const entry = workerEntry('sqlite-intake-worker');
      const w = new Worker(entry.file, { eval: entry.eval, workerData: this.data });
      w.unref();
      w.on('message', (m: Reply) => {
        if (m.type === 'ready') {
          this.worker = w;
          this.starting = undefined;
          resolve(w);
        } else if (m.type === 'failed') {
          this.starting = undefined;
          void w.terminate();
          reject(toError(m.error));
        } else if (m.type === 'done') {
          this.settle(m);
        }
      });
      const gone = (e: unknown): void => {
        if (this.worker === w) this.worker = undefined;
        if (this.starting) {
          this.starting = undefined;
          reject(e);
        }
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      };
      w.on('error', gone);
      w.on('exit', (code) => gone(new Error(`SQLite writer thread exited (code ${code})`)));
    });
    return this.starting;
  }

  async commit(rows: IntakeRow[]): Promise<RowOutcome[]> {
    const w = await this.start();
    const { bytes } = encodeGroup(rows);
    const group = this.next++;
    const req: GroupRequest = { type: 'group', group, count: rows.length, bytes };
    return new Promise<RowOutcome[]>((resolve, reject) => {
      this.pending.set(group, { count: rows.length, resolve, reject });
      w.ref(); // a commit in flight keeps the process up
      w.postMessage(req, [bytes]);
    });
  }

  /**
   * Inserts the journalled rows of `span` (already ACKed) in one transaction; resolves with the
   * rows SQLite refused on their own, rejects when nothing committed.
   */
  async index(span: JournalSpan): Promise<RejectedRow[]> {
    const w = await this.start();
    const group = this.next++;
    const req: IndexRequest = { type: 'index', group, span };
    let rejected: RejectedRow[] = [];
    await new Promise<RowOutcome[]>((resolve, reject) => {
      this.pending.set(group, { count: 0, resolve, reject, rejected: (r) => (rejected = r) });
      w.ref();
      w.postMessage(req);
    });
    return rejected;
  }

  async close(): Promise<void> {
    const w = this.worker ?? (await this.starting?.catch(() => undefined));
    if (!w) return;
    this.worker = undefined;
    await new Promise<void>((resolve) => {
      w.on('message', (m: Reply) => m.type === 'closed' && resolve());
      w.once('exit', () => resolve());
      w.postMessage({ type: 'close' });
    });
    await w.terminate();
  }

  private settle(m: GroupReply): void {
    const p = this.pending.get(m.group);
    if (!p) return;
    this.pending.delete(m.group);
    if (this.pending.size === 0) this.worker?.unref();
    if (m.fatal) return p.reject(toError(m.fatal));
    if (m.rejected) p.rejected?.(m.rejected.map((r) => ({ id: r.id, error: toError(r.error) })));
    if (!m.outcomes) return p.resolve(Array.from({ length: p.count }, (): RowOutcome => ({ ok: true, dup: null })));
    p.resolve(
      m.outcomes.map((o): RowOutcome =>
        'error' in o ? { ok: false, error: toError(o.error) } : { ok: true, dup: o.dup ? { id: o.dup.id, ack: o.dup.ack } : null },
      ),
    );
  }
}

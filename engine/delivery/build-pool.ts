/**
 * BuildPool: the DMP requests of report versions built in worker threads. Building one (C14N
 * digests of the N3 and N1, two RSA signatures, metadata, MTOM) is ~14 ms of CPU; on the lines'
 * thread it would hold every other line and the MLLP listeners, and use one core only. (The
 * XDM zip of a mail, ~3 ms once per version, stays on the lines' thread: queued behind DMP
 * builds it made the MSSanté line wait on the DMP's, measured slower.) Tasks go to the least
 * busy thread; a thread that dies fails what it held with a transient error
 * (PSL_DELIVERY_WORKER) and is replaced.
 */
import { Worker } from 'node:worker_threads';
import { ERROR_CATALOGUE, PasserelleError, type ErrorCode } from '../errors';
import { rejectPending, workerEntry } from '../runtime/worker-threads';
import type { LabProfile } from '../lab';
import type { Filing, FilingInput } from './dmp/filing';
import type { BuildTask } from './build-worker';

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: unknown) => void; reject: (e: unknown) => void }>;
  ready: Promise<void>;
}

export class BuildPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  /** @param size threads (at least 1). */
  constructor(size = 1) {
    for (let i = 0; i < Math.max(1, size); i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const entry = workerEntry(__dirname, 'build-worker');
    const worker = new Worker(entry.file, { eval: entry.eval, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    const pending: Slot['pending'] = new Map();
    const slot: Slot = { worker, pending, ready: Promise.resolve() };
    slot.ready = new Promise<void>((resolve) => {
      worker.on('message', (m: { id?: number; ready?: boolean; result?: unknown; error?: { code: string; message: string } }) => {
        if (m.ready) return resolve();
        const p = m.id === undefined ? undefined : pending.get(m.id);
        if (!p) return;
        pending.delete(m.id!);
        if (m.error) p.reject(coded(m.error));
        else p.resolve(m.result);
      });
    });
    const lost = (e: Error): PasserelleError => new PasserelleError('PSL_DELIVERY_WORKER', `a delivery build thread failed: ${e.message}`);
    worker.on('error', (err) => rejectPending(pending, err, lost, lost));
    worker.on('exit', () => {
      rejectPending(pending, new Error('thread exited'), lost, lost);
      const i = this.slots.indexOf(slot);
      if (!this.closed && i >= 0) this.slots[i] = this.spawn();
    });
    return slot;
  }

  private async run(task: BuildTask): Promise<unknown> {
    if (this.closed) throw new PasserelleError('PSL_DELIVERY_WORKER', 'the delivery build threads are closed');
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    await slot.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, task });
    });
  }

  /** The ITI-41 request of a version (dmp/filing.ts), built in a thread. */
  async dmpFiling(job: { seal: { cert: string; key: string }; lab: LabProfile; config: FilingInput['config']; shownDir: string; holdsDir?: string; endpoint: string }): Promise<Filing> {
    const f = (await this.run({ kind: 'dmp-filing', ...job })) as Filing & { request: { body: ArrayBuffer } };
    return { ...f, request: { ...f.request, body: Buffer.from(f.request.body) } };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function coded(e: { code: string; message: string }): PasserelleError {
  const code = (e.code in ERROR_CATALOGUE ? e.code : 'PSL_INTERNAL') as ErrorCode;
  return new PasserelleError(code, e.message);
}

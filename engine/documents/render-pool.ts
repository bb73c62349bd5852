/**
 * RenderPool: document sets rendered in worker threads. Rendering (PDF layout, CDA, Schematron)
 * is CPU work of tens of milliseconds per report; on the main thread it would delay MLLP ACKs
 * and use one core only. Each worker opens the ANS kit for the inline rule sets; the XSD — a few
 * milliseconds — runs here, since libxml2's binding must stay on the main thread. Requests go to
 * the least busy worker; a crashed worker fails its pending requests with a transient error.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { ERROR_CATALOGUE, PasserelleError, type ErrorCode } from '../errors';
import { rejectPending } from '../runtime/worker-threads';
import type { Message } from '../hl7';
import type { LabProfile, RenderOptions } from '../lab/profile';
import { toWireJson, type Report } from '../lab';
import { AnsKit, withXsd, workerEntry, type KitOptions, type ValidationReport } from '../validation';
import { acceptDocumentSet, cdaNow, type BuiltDocumentSet, type DocumentSet } from './document-set';
import type { RenderRequest } from './render-worker';

export interface RenderPoolOptions extends KitOptions {
  /** Worker threads. Default 2 (the machines we target have 2 cores or more). */
  size?: number;
  /**
   * Heap limit of each render thread (V8 old generation, MB). A render that needs more fails
   * with PSL_RENDER_OUT_OF_MEMORY and its thread is replaced; the engine's own heap is untouched.
   * Default 512.
   */
  memoryMb?: number;
}

interface Reply {
  id?: number;
  ready?: boolean;
  built?: BuiltDocumentSet;
  n3?: ValidationReport;
  n1?: ValidationReport;
  ms?: number;
  error?: { code: string; message: string };
}

interface Slot {
  worker: Worker;
  /** In posting order: a worker renders one request at a time, the first is the running one. */
  pending: Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>;
  ready: Promise<void>;
}

export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly kit: AnsKit;
  private nextId = 1;
  private closed = false;

  constructor(readonly kitDir: string, private readonly options: RenderPoolOptions = {}) {
    this.kit = AnsKit.open(kitDir, options);
    for (let i = 0; i < Math.max(1, options.size ?? 2); i++) this.slots.push(this.spawn());
  }

  /** A worker thread with its memory limit; a worker that dies is replaced in its slot. */
  private spawn(): Slot {
    const entry = workerEntry(__dirname, 'render-worker');
    const worker = new Worker(entry.file, {
      eval: entry.eval,
      workerData: { kitDir: this.kitDir, cacheDir: this.options.cacheDir },
      resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb ?? 512 },
    });
    const pending: Slot['pending'] = new Map();
    const slot: Slot = { worker, pending, ready: Promise.resolve() };
    let failed = false;
    let wasReady = false;
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: Reply) => {
        if (m.ready !== undefined) {
          wasReady = m.ready;
          return m.ready ? resolve() : reject(codedError(m.error));
        }
        const p = m.id === undefined ? undefined : pending.get(m.id);
        if (!p) return;
        pending.delete(m.id!);
        p.resolve(m);
      });
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        reject(err);
        rejectPending(
          pending,
          err,
          (e) => new PasserelleError('PSL_RENDER_OUT_OF_MEMORY', `render thread over its ${this.options.memoryMb ?? 512} MB heap limit`, { cause: e }),
          (e) => new PasserelleError('PSL_RENDER_WORKER', `render worker failed: ${e.message}`, { cause: e }),
        );
        // A thread that never became ready (kit unreadable) is not restarted in a loop.
        if (!this.closed && wasReady) {
          const i = this.slots.indexOf(slot);
          if (i >= 0) this.slots[i] = this.spawn();
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => code !== 0 && fail(new Error(`exited with code ${code}`)));
    });
    slot.ready.catch(() => undefined);
    return slot;
  }

  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Renders and validates `message`'s document set; throws DocumentInvalidError like renderDocumentSet. */
  render(message: Message | string, lab: LabProfile, options: RenderOptions): Promise<DocumentSet> {
    return this.renderSource({ hl7: typeof message === 'string' ? message : message.toString() }, lab, options);
  }

  /** The same for a report already built (a version of a report across messages). */
  renderReport(report: Report, lab: LabProfile, options: RenderOptions): Promise<DocumentSet> {
    return this.renderSource({ report: toWireJson(report) }, lab, options);
  }

  private async renderSource(source: { hl7: string } | { report: string }, lab: LabProfile, options: RenderOptions): Promise<DocumentSet> {
    if (this.closed) throw poolClosed();
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    await slot.ready;
    if (this.closed) throw poolClosed();
    const id = this.nextId++;
    // The document time is fixed here, so a worker's clock never differs from the caller's.
    const request: RenderRequest = { id, ...source, lab, options: { ...options, effectiveTime: options.effectiveTime ?? cdaNow() } };
    const reply = await new Promise<Reply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage(request);
    });
    if (reply.error || !reply.built || !reply.n3 || !reply.n1) throw codedError(reply.error);
    const built: BuiltDocumentSet = { ...reply.built, pdf: Buffer.from(reply.built.pdf) };
    const t = performance.now();
    const schema = this.kit.schema();
    const n3 = withXsd(reply.n3, schema, built.n3);
    const n1 = withXsd(reply.n1, schema, built.n1);
    return acceptDocumentSet(built, n3, n1, (reply.ms ?? 0) + performance.now() - t);
  }

  /**
   * Terminates the workers at once (engine stop at its deadline): renders in flight and any
   * asked for later fail with PSL_RENDER_WORKER, a transient error, so their jobs are retried
   * after the restart instead of holding the stop.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(poolClosed());
      s.pending.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function poolClosed(): PasserelleError {
  return new PasserelleError('PSL_RENDER_WORKER', 'render pool closed (engine stopping): the document is rendered after the restart');
}

/** Errors cross the thread boundary as code + text; the code keeps its retry class. */
function codedError(e: { code: string; message: string } | undefined): PasserelleError {
  const code = (e && e.code in ERROR_CATALOGUE ? e.code : 'PSL_DOCUMENT_RENDER_FAILED') as ErrorCode;
  return new PasserelleError(code, e?.message ?? 'render worker gave no answer');
}

/**
 * ValidationPool: runs AnsKit.validate in worker threads so the CPU-bound Schematron evaluation
 * (≈200 ms for the full set) stays off the main event loop. Each worker opens its own AnsKit (rule
 * sets come from the shared on-disk cache); SaxonJS nodes never cross threads (only XML text in,
 * plain report objects out).
 */
import { Worker } from 'node:worker_threads';
import { rejectPending, workerEntry as threadEntry } from '../runtime/worker-threads';
import { PasserelleError } from '../errors';
import { AnsKit } from './kit';
import type { KitOptions, ValidateOptions, ValidationReport } from './types';
import type { CdaSchema } from './xsd';

export interface PoolOptions extends KitOptions {
  /** number of worker threads (default 1) */
  size?: number;
  /** rule sets each worker prepares at start (default: none, lazy) */
  prepare?: string[];
  /** Heap limit of each thread (V8 old generation, MB); a validation beyond fails, not the engine. Default 1024. */
  memoryMb?: number;
}

interface Pending {
  resolve: (r: { report: ValidationReport; xml?: string }) => void;
  reject: (e: unknown) => void;
}
interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  ready: Promise<void>;
}

/** The pool's worker script (see engine/runtime/worker-threads.ts). */
export function workerEntry(dir: string = __dirname, name = 'pool-worker'): { file: string; eval: boolean } {
  return threadEntry(dir, name);
}

/**
 * Completes a report made without the XSD (in a worker thread: libxmljs must stay on the main
 * thread) with the schema's findings for `xml`. Reports that did not ask for the XSD pass through.
 */
export function withXsd(report: ValidationReport, schema: CdaSchema, xml: string): ValidationReport {
  if (!report.ruleSets.includes('xsd')) return report;
  const t = performance.now();
  const found = schema.validate(xml);
  const ms = performance.now() - t;
  const findings = [...found, ...report.findings];
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  const timing = { ruleSet: 'xsd', ms, errors: found.filter((f) => f.severity === 'error').length, warnings: found.filter((f) => f.severity === 'warning').length };
  return { ...report, findings, errors, warnings, valid: errors === 0, ms: report.ms + ms, timings: [timing, ...report.timings] };
}

export class ValidationPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** main-thread kit, used for the XSD only (libxmljs must stay on the main thread) */
  private readonly kit: AnsKit;

  constructor(kitDir: string, options: PoolOptions = {}) {
    this.kit = AnsKit.open(kitDir, options);
    for (let i = 0; i < Math.max(1, options.size ?? 1); i++) this.slots.push(this.spawn(kitDir, options));
  }

  /** A worker with its heap limit; one that dies after it was ready is replaced in its slot. */
  private spawn(kitDir: string, options: PoolOptions): Slot {
    const entry = workerEntry();
    const worker = new Worker(entry.file, {
      eval: entry.eval,
      workerData: { kitDir, cacheDir: options.cacheDir, prepare: options.prepare ?? [] },
      resourceLimits: { maxOldGenerationSizeMb: options.memoryMb ?? 1024 },
    });
    const pending = new Map<number, Pending>();
    const slot: Slot = { worker, pending, ready: Promise.resolve() };
    let wasReady = false;
    let failed = false;
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { ready?: boolean; id?: number; report?: ValidationReport; xml?: string; error?: { code: string; message: string } }) => {
        if (m.ready !== undefined) {
          wasReady = m.ready;
          if (m.ready) resolve();
          else reject(new PasserelleError('PSL_VALIDATION_WORKER', m.error?.message, { details: { code: m.error?.code } }));
          return;
        }
        const p = m.id === undefined ? undefined : pending.get(m.id);
        if (!p || m.id === undefined) return;
        pending.delete(m.id);
        if (m.report) p.resolve({ report: m.report, xml: m.xml });
        else p.reject(new PasserelleError('PSL_VALIDATION_WORKER', m.error?.message, { details: { code: m.error?.code } }));
      });
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        reject(err);
        rejectPending(
          pending,
          err,
          (e) => new PasserelleError('PSL_RENDER_OUT_OF_MEMORY', e.message, { cause: e }),
          (e) => new PasserelleError('PSL_VALIDATION_WORKER', e.message, { cause: e }),
        );
        // Replaced, or later requests would be posted to a dead thread and never answered.
        if (!this.closed && wasReady) {
          const i = this.slots.indexOf(slot);
          if (i >= 0) this.slots[i] = this.spawn(kitDir, options);
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => code !== 0 && fail(new Error(`validation worker exited with code ${code}`)));
    });
    slot.ready.catch(() => undefined);
    return slot;
  }

  /** Resolves when every worker has opened the kit and prepared the requested rule sets. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  async validate(xml: string | Buffer, options: ValidateOptions = {}): Promise<ValidationReport> {
    if (this.closed) throw poolClosed();
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    await slot.ready;
    if (this.closed) throw poolClosed();
    const id = this.nextId++;
    const text = typeof xml === 'string' ? xml : xml.toString('utf8');
    const { report, xml: extracted } = await new Promise<{ report: ValidationReport; xml?: string }>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, xml: text, options });
    });
    return withXsd(report, this.kit.schema(), extracted ?? text);
  }

  /** Terminates the workers at once; validations in flight or asked for later fail transient (PSL_VALIDATION_WORKER). */
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
  return new PasserelleError('PSL_VALIDATION_WORKER', 'validation pool closed (engine stopping)');
}

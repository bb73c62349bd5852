/** What every pool of worker threads in the engine shares (render, validation, SQLite intake). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Lowers the scheduling priority of the calling thread (Linux: a thread has its own nice
 * value), for work off the ACK path (journal indexing, checkpoints) that should run on CPU time
 * the event loop leaves: on a busy machine it otherwise takes time slices from the loop and
 * shows as ACK latency. Best effort: false when the platform does not allow it.
 */
export function lowerThreadPriority(nice = 10): boolean {
  try {
    const tid = Number(/task\/(\d+)$/.exec(fs.readlinkSync('/proc/thread-self'))?.[1]);
    if (!Number.isInteger(tid) || tid <= 0) return false;
    os.setPriority(tid, Math.max(os.getPriority(tid), nice));
    return true;
  } catch {
    return false;
  }
}

/**
 * The script a Worker runs for `<dir>/<name>.js`. In ts-jest/dev runs the worker is a .ts file:
 * transpile it (and what it imports) on the fly with the typescript devDependency.
 */
export function workerEntry(dir: string, name: string): { file: string; eval: boolean } {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) return { file: js, eval: false };
  const ts = path.join(dir, `${name}.ts`);
  const code = `
    const fs = require('fs'); const ts = require('typescript');
    require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'),
      { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, f);
    require(${JSON.stringify(ts)});`;
  return { file: code, eval: true };
}

/**
 * A thread died: every request it held fails. When its heap ran out, the first pending request
 * is the one it was running, so that message is the cause (`outOfMemory`, permanent); the ones
 * queued behind it only lost their thread (`lost`, transient).
 */
export function rejectPending(
  pending: Map<number, { reject: (e: unknown) => void }>,
  err: Error,
  outOfMemory: (err: Error) => Error,
  lost: (err: Error) => Error,
): void {
  let first = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
  for (const p of pending.values()) {
    p.reject(first ? outOfMemory(err) : lost(err));
    first = false;
  }
  pending.clear();
}

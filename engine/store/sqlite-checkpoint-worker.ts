/**
 * Checkpointer thread of the SQLite store: copies the WAL back into the database file (and
 * fsyncs it) every `intervalMs`, PASSIVE (never waits for, nor blocks, readers and writers), so
 * the commits on the intake path never pay for a checkpoint. Imports nothing of the engine but
 * the worker-thread helpers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { lowerThreadPriority } from '../runtime/worker-threads';

const port = parentPort!;
const cfg = workerData as { path: string; intervalMs: number; busyTimeoutMs: number };
lowerThreadPriority(); // nothing waits for a checkpoint
let db: Database.Database | undefined;
try {
  db = new Database(cfg.path);
  db.pragma(`busy_timeout = ${cfg.busyTimeoutMs}`);
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('journal_size_limit = 134217728');
  port.postMessage({ type: 'ready' });
} catch (e) {
  port.postMessage({ type: 'failed', error: { message: String((e as Error)?.message ?? e) } });
}

const timer = setInterval(() => {
  try {
    db?.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or I/O trouble: the next round tries again; the main connection's safety-net
    // autocheckpoint bounds the WAL meanwhile.
  }
}, cfg.intervalMs);

port.on('message', (m: { type: string }) => {
  if (m.type !== 'close') return;
  clearInterval(timer);
  db?.close();
  db = undefined;
  port.postMessage({ type: 'closed' });
});

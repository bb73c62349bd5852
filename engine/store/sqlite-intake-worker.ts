/**
 * Writer thread of the SQLite store: commits intake groups on its own connection so the engine's
 * event loop never waits for a commit (nor, at synchronous FULL, for its fsync). One group per
 * message, its bytes in one transferred ArrayBuffer (sqlite-intake-protocol.ts); with the intake
 * journal it indexes spans of the journal file, at a lower priority. Imports nothing of the engine
 * but the store's intake files and the worker-thread helpers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqliteIntakeWriter, type RowOutcome } from './sqlite-intake';
import { lowerThreadPriority } from '../runtime/worker-threads';
import fs from 'node:fs';
import { decodeGroup, decodeRecords, readSpan, type GroupReply, type GroupRequest, type IndexRequest, type WriterData } from './sqlite-intake-protocol';

const port = parentPort!;
const cfg = workerData as WriterData;
if (cfg.background) lowerThreadPriority();

function plainError(e: unknown): { message: string; code?: string } {
  const err = e as { message?: unknown; code?: unknown };
  return { message: String(err?.message ?? e), code: typeof err?.code === 'string' ? err.code : undefined };
}

let db: Database.Database | undefined;
let writer: SqliteIntakeWriter;
try {
  db = new Database(cfg.path);
  db.pragma(`busy_timeout = ${cfg.busyTimeoutMs}`);
  db.pragma(`synchronous = ${cfg.synchronous}`);
  db.pragma('foreign_keys = ON');
  // Per connection, as on the main one: this connection makes most of the commits.
  db.pragma(`wal_autocheckpoint = ${cfg.autocheckpointPages}`);
  db.pragma('journal_size_limit = 134217728');
  writer = new SqliteIntakeWriter(db);
  port.postMessage({ type: 'ready' });
} catch (e) {
  port.postMessage({ type: 'failed', error: plainError(e) });
}

port.on('message', (m: GroupRequest | IndexRequest | { type: 'close' }) => {
  if (m.type === 'close') {
    db?.close();
    db = undefined;
    port.postMessage({ type: 'closed' });
    return;
  }
  let reply: GroupReply;
  try {
    if (!db) throw new Error('SqliteStore writer: closed');
    if (m.type === 'index') {
      const { rows, end } = decodeRecords(readSpan(fs, m.span));
      if (end !== m.span.length) throw new Error(`journal ${m.span.file}: record cut at ${m.span.offset + end}`);
      const rejected = writer.index(rows).map((r) => ({ id: r.id, error: plainError(r.error) }));
      port.postMessage({ type: 'done', group: m.group, ...(rejected.length ? { rejected } : {}) } satisfies GroupReply);
      return;
    }
    const outcomes = writer.write(decodeGroup(m.bytes, m.count));
    reply = { type: 'done', group: m.group };
    if (outcomes.some((o) => !o.ok || o.dup)) {
      reply.outcomes = outcomes.map((o: RowOutcome) =>
        o.ok ? { dup: o.dup ? { id: o.dup.id, ack: new Uint8Array(o.dup.ack) } : null } : { error: plainError(o.error) },
      );
    }
  } catch (e) {
    reply = { type: 'done', group: m.group, fatal: plainError(e) };
  }
  port.postMessage(reply);
});

/**
 * The journal's dedupe look-up (is this sender's control ID already stored?) on a connection of
 * its own that keeps one read snapshot across look-ups.
 *
 * Why: SQLite drops a connection's whole page cache when a read transaction starts after the
 * WAL changed, so with the index thread committing every few ms each autocommit look-up re-read
 * its index pages through the WAL index: ≈ 12 µs of event loop per message (profile, issue 7).
 * Inside one read transaction the cache stays valid; a snapshot is let go when the journal has
 * indexed rows (`refresh`, called before those rows leave the journal's own dedupe memory, so a
 * row is always either there or in the snapshot) and after `maxAgeMs` (rows written by anything
 * else are seen that late at most), look-ups or not: a snapshot held by an idle reader would keep
 * every checkpoint from restarting the WAL, which would then grow without end. Checkpoints are
 * PASSIVE: a held snapshot never blocks one.
 */
import Database from 'better-sqlite3';
import { FIND_DUPLICATE_SQL } from './sqlite-intake';

/** Longest life of a snapshot. */
const DEFAULT_MAX_AGE_MS = 50;

export class SqliteDedupeReader {
  private readonly db: Database.Database;
  private readonly find: Database.Statement<[string, string, string, number], { id: string; ack: Buffer }>;
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;
  private openedAt = -1;
  /** Lets an idle snapshot go: a held one would keep the WAL from restarting, and it would grow. */
  private idle: NodeJS.Timeout | undefined;

  constructor(file: string, busyTimeoutMs: number, private readonly maxAgeMs = DEFAULT_MAX_AGE_MS) {
    this.db = new Database(file);
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      this.db.pragma('query_only = 1');
      this.find = this.db.prepare(FIND_DUPLICATE_SQL);
      this.begin = this.db.prepare('BEGIN');
      this.end = this.db.prepare('COMMIT');
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  /** The stored message that `controlId` from `sender` duplicates (received at or after `from`), as of the snapshot. */
  findDuplicate(channel: string, sender: string, controlId: string, from: number): { id: string; ack: Buffer } | undefined {
    const now = Date.now();
    if (this.openedAt >= 0 && now - this.openedAt > this.maxAgeMs) this.refresh();
    if (this.openedAt < 0) {
      this.begin.run();
      this.openedAt = now;
      this.idle = setTimeout(() => this.refresh(), this.maxAgeMs);
      this.idle.unref();
    }
    try {
      return this.find.get(channel, sender, controlId, from);
    } catch (e) {
      this.refresh();
      throw e;
    }
  }

  /** Lets the snapshot go: the next look-up sees everything committed by then. */
  refresh(): void {
    if (this.openedAt < 0) return;
    this.openedAt = -1;
    clearTimeout(this.idle);
    this.idle = undefined;
    if (this.db.inTransaction) this.end.run();
  }

  close(): void {
    try {
      this.refresh();
    } finally {
      this.db.close();
    }
  }
}

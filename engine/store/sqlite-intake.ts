/**
 * The SQLite intake transaction, shared by the writer thread (sqlite-intake-worker.ts) and the
 * in-thread mode. Imports nothing of the engine: it runs inside a worker thread.
 */
import type Database from 'better-sqlite3';

/** One message to insert; ids and timestamps are made by the caller. */
export interface IntakeRow {
  id: string;
  channel: string;
  controlId: string;
  sender: string;
  messageType: string;
  orderingKey: string;
  charset: string;
  receivedAt: number;
  state: 'received' | 'refused';
  reason: string | null;
  updatedAt: number;
  ack: Uint8Array;
  raw: Uint8Array;
  /** Lower bound of received_at for the duplicate look-up; null = no dedupe. */
  dedupeFrom: number | null;
}

/** A duplicate found (id and ACK of the original), or null when the row was inserted. */
export type RowResult = { id: string; ack: Uint8Array } | null;
/** A journalled row SQLite refused on its own. */
export interface RejectedRow {
  id: string;
  error: unknown;
}

/** SQLite errors that come from one row's values, not from the database. */
const ROW_FAULT = /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH)/;

export type RowOutcome = { ok: true; dup: RowResult } | { ok: false; error: unknown };

/** The newest message of the same (channel, sender, control id) since a time, refusals excepted. */
export const FIND_DUPLICATE_SQL = `SELECT id, ack FROM messages
        WHERE channel = ? AND sender = ? AND control_id = ? AND received_at >= ? AND state <> 'refused'
        ORDER BY received_at DESC, seq DESC LIMIT 1`;

// Positional parameters: binding 13 named ones from an object cost ≈ 2–4 µs more per row in the
// writer thread (micro-benchmark, issue 7), on every message.
const INSERT_COLUMNS = `(id, channel, control_id, sender, message_type, ordering_key, charset,
                             received_at, state, reason, updated_at, ack, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export class SqliteIntakeWriter {
  private readonly insertOrIgnore: Database.Statement;
  private readonly indexAll: Database.Transaction<(rows: IntakeRow[]) => void>;
  private readonly indexEach: Database.Transaction<(rows: IntakeRow[]) => RejectedRow[]>;
  private readonly findDuplicate: Database.Statement<[string, string, string, number], { id: string; ack: Buffer }>;
  private readonly insert: Database.Statement;
  private readonly one: Database.Transaction<(r: IntakeRow) => RowResult>;
  private readonly fast: Database.Transaction<(rows: IntakeRow[]) => RowOutcome[]>;
  private readonly careful: Database.Transaction<(rows: IntakeRow[]) => RowOutcome[]>;

  constructor(private readonly db: Database.Database) {
    this.findDuplicate = db.prepare(FIND_DUPLICATE_SQL);
    this.insert = db.prepare(`INSERT INTO messages ${INSERT_COLUMNS}`);
    this.insertOrIgnore = db.prepare(`INSERT OR IGNORE INTO messages ${INSERT_COLUMNS}`);
    this.indexAll = db.transaction((rows: IntakeRow[]) => {
      for (const r of rows) this.insertOrIgnore.run(...bindings(r));
    });
    const indexOne = db.transaction((r: IntakeRow) => this.insertOrIgnore.run(...bindings(r)));
    this.indexEach = db.transaction((rows: IntakeRow[]) => {
      const rejected: RejectedRow[] = [];
      for (const r of rows) {
        try {
          indexOne(r); // nested: a savepoint
        } catch (error) {
          if (!db.inTransaction) throw error;
          rejected.push({ id: r.id, error });
        }
      }
      return rejected;
    });
    this.one = db.transaction((r: IntakeRow) => this.apply(r));
    // Fast path: the whole group without savepoints. If any row fails, the transaction rolls back
    // and the group is written again row by row (a savepoint each), so one bad row fails alone.
    this.fast = db.transaction((rows: IntakeRow[]) => rows.map((r): RowOutcome => ({ ok: true, dup: this.apply(r) })));
    this.careful = db.transaction((rows: IntakeRow[]) => {
      const out: RowOutcome[] = [];
      for (const r of rows) {
        try {
          out.push({ ok: true, dup: this.one(r) }); // nested: a savepoint
        } catch (error) {
          // SQLite may have rolled the whole transaction back (I/O error, disk full, busy): then
          // nothing of the group is safe, fail all of it.
          if (!db.inTransaction) throw error;
          out.push({ ok: false, error });
        }
      }
      return out;
    });
  }

  /** One group in one `BEGIN IMMEDIATE` transaction, in order: a duplicate of an earlier row of the same group is found. Throws when nothing committed. */
  write(rows: IntakeRow[]): RowOutcome[] {
    try {
      return this.fast.immediate(rows);
    } catch (e) {
      // A row SQLite refused (constraint, trigger, too big): find it, alone. The database
      // itself failing (busy past the timeout, I/O, disk full, read-only) fails the group.
      const code = String((e as { code?: unknown }).code ?? '');
      if (!ROW_FAULT.test(code) || rows.length === 1) throw e;
      return this.careful.immediate(rows);
    }
  }

  /**
   * Journalled rows (already ACKed, deduplicated before): all in one `BEGIN IMMEDIATE`
   * transaction, a row whose id is already stored left as it is. A row SQLite refuses
   * (constraint, too big) is left out and returned, the others committed; throws when the
   * database itself failed and nothing committed.
   */
  index(rows: IntakeRow[]): RejectedRow[] {
    try {
      this.indexAll.immediate(rows);
      return [];
    } catch (e) {
      if (!ROW_FAULT.test(String((e as { code?: unknown }).code ?? ''))) throw e;
      return this.indexEach.immediate(rows);
    }
  }

  private apply(r: IntakeRow): RowResult {
    if (r.dedupeFrom !== null) {
      const dup = this.findDuplicate.get(r.channel, r.sender, r.controlId, r.dedupeFrom);
      if (dup) return { id: dup.id, ack: dup.ack };
    }
    this.insert.run(...bindings(r));
    return null;
  }
}

function bindings(r: IntakeRow): unknown[] {
  return [r.id, r.channel, r.controlId, r.sender, r.messageType, r.orderingKey, r.charset, r.receivedAt, r.state, r.reason, r.updatedAt, r.ack, r.raw];
}

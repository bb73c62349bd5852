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
  /** Search keys, packed (`packKeys`); written with the row, in its transaction. */
  keys?: string | null;
}

/** Width of the console's activity buckets (message_activity.bucket = ms / width). */
export const ACTIVITY_BUCKET_MS = 10_000;

/** Kinds of search keys as one letter in the packed form. */
const KIND_LETTER: Record<string, string> = { ins: 'i', patient: 'p', order: 'o' };
const LETTER_KIND: Record<string, 'ins' | 'patient' | 'order'> = { i: 'ins', p: 'patient', o: 'order' };
/** Between two packed keys; values never hold control characters (normaliseKeys). */
const KEY_SEPARATOR = '\u001e';

/**
 * Search keys as one string (kind letter + value, separated by U+001E): it travels through the
 * journal and the writer thread as one field. Keys are already normalised (no control characters).
 */
export function packKeys(keys: readonly { kind: string; value: string }[] | undefined): string | null {
  if (!keys || keys.length === 0) return null;
  let out = '';
  for (const k of keys) {
    const letter = KIND_LETTER[k.kind];
    if (!letter) continue;
    out += (out === '' ? '' : KEY_SEPARATOR) + letter + k.value;
  }
  return out === '' ? null : out;
}

export function unpackKeys(packed: string | null | undefined): { kind: 'ins' | 'patient' | 'order'; value: string }[] {
  if (!packed) return [];
  const out: { kind: 'ins' | 'patient' | 'order'; value: string }[] = [];
  for (const p of packed.split(KEY_SEPARATOR)) {
    const kind = LETTER_KIND[p.charAt(0)];
    if (kind && p.length > 1) out.push({ kind, value: p.slice(1) });
  }
  return out;
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
  /** One INSERT of n keys per n (one call per message: a call per key cost ≈ 1 µs more each). */
  private readonly insertKeys: Database.Statement[] = [];
  private readonly countAdd: Database.Statement<[string, string, number]>;
  private readonly activityAdd: Database.Statement<[string, number, number]>;
  /**
   * Rows inserted by the transaction under way, per (channel, state) and per (channel, 10 s
   * bucket): the console's counters get one update per group, not one per row (an AFTER INSERT
   * trigger on messages cost ≈ 15 µs a row, measured).
   */
  private readonly counted = new Map<string, number>();
  private readonly bucketed = new Map<string, number>();
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
    this.countAdd = db.prepare('INSERT INTO message_counts (channel, state, n) VALUES (?, ?, ?) ON CONFLICT (channel, state) DO UPDATE SET n = n + excluded.n');
    this.activityAdd = db.prepare(
      `INSERT INTO message_activity (channel, what, bucket, n) VALUES (?, '', ?, ?) ON CONFLICT (channel, what, bucket) DO UPDATE SET n = n + excluded.n`,
    );
    // A row already stored (a replay, a retry) is left as it is, its keys with it.
    const indexRow = (r: IntakeRow): void => {
      const info = this.insertOrIgnore.run(...bindings(r));
      if (info.changes === 1) this.written(info.lastInsertRowid, r);
    };
    this.indexAll = db.transaction((rows: IntakeRow[]) => {
      this.startCounting();
      for (const r of rows) indexRow(r);
      this.flushCounts();
    });
    // A savepoint per row: what it counted goes if it rolls back.
    const indexOne = db.transaction((r: IntakeRow) => this.counting(() => indexRow(r)));
    this.indexEach = db.transaction((rows: IntakeRow[]) => {
      this.startCounting();
      const rejected: RejectedRow[] = [];
      for (const r of rows) {
        try {
          indexOne(r); // nested: a savepoint
        } catch (error) {
          if (!db.inTransaction) throw error;
          rejected.push({ id: r.id, error });
        }
      }
      this.flushCounts();
      return rejected;
    });
    this.one = db.transaction((r: IntakeRow) => this.counting(() => this.apply(r)));
    // Fast path: the whole group without savepoints. If any row fails, the transaction rolls back
    // and the group is written again row by row (a savepoint each), so one bad row fails alone.
    this.fast = db.transaction((rows: IntakeRow[]) => {
      this.startCounting();
      const out = rows.map((r): RowOutcome => ({ ok: true, dup: this.apply(r) }));
      this.flushCounts();
      return out;
    });
    this.careful = db.transaction((rows: IntakeRow[]) => {
      this.startCounting();
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
      this.flushCounts();
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
    const info = this.insert.run(...bindings(r));
    this.written(info.lastInsertRowid, r);
    return null;
  }

  /** A row is in: its keys, and its place in the counts. */
  private written(seq: number | bigint, r: IntakeRow): void {
    if (r.keys) {
      const keys = unpackKeys(r.keys);
      const n = keys.length;
      if (n > 0) {
        const st = (this.insertKeys[n] ??= this.db.prepare(`INSERT OR IGNORE INTO message_keys (seq, kind, value) VALUES ${Array.from({ length: n }, () => '(?, ?, ?)').join(', ')}`));
        const args: unknown[] = [];
        for (const k of keys) args.push(seq, k.kind, k.value);
        st.run(...args);
      }
    }
    const c = `${r.channel}\u0000${r.state}`;
    this.counted.set(c, (this.counted.get(c) ?? 0) + 1);
    const b = `${r.channel}\u0000${Math.floor(r.receivedAt / ACTIVITY_BUCKET_MS)}`;
    this.bucketed.set(b, (this.bucketed.get(b) ?? 0) + 1);
  }

  private startCounting(): void {
    this.counted.clear();
    this.bucketed.clear();
  }

  /** Runs `fn` in a savepoint's stead: what it counted is taken back when it throws. */
  private counting<T>(fn: () => T): T {
    const counted = new Map(this.counted);
    const bucketed = new Map(this.bucketed);
    try {
      return fn();
    } catch (e) {
      this.counted.clear();
      this.bucketed.clear();
      for (const [k, v] of counted) this.counted.set(k, v);
      for (const [k, v] of bucketed) this.bucketed.set(k, v);
      throw e;
    }
  }

  /** The counts of the transaction's rows, written in it (one statement per channel and state, per bucket). */
  private flushCounts(): void {
    for (const [k, n] of this.counted) {
      const i = k.indexOf('\u0000');
      this.countAdd.run(k.slice(0, i), k.slice(i + 1), n);
    }
    for (const [k, n] of this.bucketed) {
      const i = k.lastIndexOf('\u0000');
      this.activityAdd.run(k.slice(0, i), Number(k.slice(i + 1)), n);
    }
    this.startCounting();
  }
}

function bindings(r: IntakeRow): unknown[] {
  return [r.id, r.channel, r.controlId, r.sender, r.messageType, r.orderingKey, r.charset, r.receivedAt, r.state, r.reason, r.updatedAt, r.ack, r.raw];
}

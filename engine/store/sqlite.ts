/**
 * Embedded message store (default): one SQLite file in WAL mode, through better-sqlite3.
 *
 * Durability: `receive()` resolves only once the message is durable: after COMMIT returned, or
 * with the intake journal (default at NORMAL, sqlite-intake-journal.ts) once its group is
 * appended to the journal file, the row reaching the table a few ms later (every other call
 * waits for the rows ACKed before it). With `synchronous: 'FULL'` (default) the WAL is fsynced
 * at every commit, so an ACK survives power loss. With 'NORMAL' the commit or the append reaches
 * the OS page cache but is not fsynced: safe against a crash of the engine process (kill -9),
 * not against a power cut or a kernel crash.
 *
 * Group commit (engine/store/group-commit.ts): one intake commit in flight at a time; the
 * `receive()` calls made while it runs go together in the next transaction (one `BEGIN
 * IMMEDIATE`, so at FULL one fsync per group) or journal append. Rows are applied in call order,
 * so a duplicate of a message earlier in the same group is recognised; one bad row fails alone.
 * At FULL (by default) the intake commits run in a writer thread on their own connection
 * (sqlite-intake-worker.ts): the event loop keeps parsing and answering while SQLite writes and
 * fsyncs; with the journal the same thread indexes the journalled rows. Everything else (state,
 * contents, deliveries, reads) runs on the main thread's connection.
 *
 * Several processes may share the file: writes take the write lock up front (BEGIN IMMEDIATE)
 * and wait up to `busyTimeoutMs` for it, so dedupe stays race-free between processes too
 * (with the journal: once the other process indexed its rows, milliseconds after their ACK,
 * and this handle's dedupe snapshot, at most 50 ms old, was renewed: sqlite-dedupe-reader.ts).
 *
 * This file holds the store's lifecycle and its intake; every other call goes to a part, over
 * the connection and statements init() prepared (sqlite-handle.ts): sqlite-messages.ts,
 * sqlite-search.ts, sqlite-stats.ts, sqlite-retention.ts, sqlite-reports.ts, sqlite-directory.ts; the tables are in
 * sqlite-schema.ts.
 */
import { PartedStore } from './parted-store';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { InboundMessage, MessageStore, ReceiveResult } from './types';
import { GroupCommit, type ItemOutcome } from './group-commit';
import { SqliteIntakeWriter, packKeys, type IntakeRow, type RejectedRow, type RowOutcome } from './sqlite-intake';
import { SqliteDedupeReader } from './sqlite-dedupe-reader';
import { IntakeJournal, replayJournals, waitForIntake } from './sqlite-intake-journal';
import { decodeRecords, readSpan, type JournalSpan } from './sqlite-intake-protocol';
import { SqliteIntakeThread } from './sqlite-intake-thread';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import { checkInbound, dedupes, newMessageId, normaliseKeys, storeUnavailable } from './common';
import { guardStoreErrors } from './transient';
import { applySchema } from './sqlite-schema';
import { prepareHandle, type SqliteHandle } from './sqlite-handle';
import { SqliteMessages } from './sqlite-messages';
import { SqliteSearch } from './sqlite-search';
import { SqliteStats } from './sqlite-stats';
import { SqliteRetention } from './sqlite-retention';
import { SqliteReports } from './sqlite-reports';
import { SqliteDirectory } from './sqlite-directory';

/** receive() codes its own failures (PSL_STORE_UNAVAILABLE); init/close run at start and stop. */
const UNGUARDED = ['receive', 'init', 'close'];

export interface SqliteStoreOptions {
  /** Database file; parent directories are created. */
  path: string;
  /**
   * Default 'FULL'. 'NORMAL' in WAL mode is safe against a process crash (kill -9) but not
   * against power loss.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for another process holding the lock. Default 5 000 ms. */
  busyTimeoutMs?: number;
  /**
   * Intake commits in a writer thread (true) or on the event loop (false: the loop stops for
   * every commit, and at FULL for every fsync). Default: the thread at FULL, the loop at NORMAL,
   * where a commit is only CPU work and the thread hop costs more than it frees (bench/ingest.ts).
   */
  intakeThread?: boolean;
  /**
   * Checkpoints (WAL → database file, with its fsync) in a background thread, PASSIVE, every
   * 250 ms (default true), so no commit on the intake path pays for one; the connections' own
   * autocheckpoint stays as a safety net at a 4× higher threshold.
   */
  checkpointThread?: boolean;
  /**
   * Intake through a journal file (sqlite-intake-journal.ts): a group is ACKed once appended to
   * it (fdatasynced at FULL), and indexed into SQLite just after, in larger transactions of the
   * writer thread. Default: on at NORMAL (the recommended durable mode), off at FULL.
   */
  intakeJournal?: boolean;
  /**
   * Bound of the journal's backlog while SQLite does not take rows: past `maxUnindexedBytes`
   * (default 64 MB) an append waits, at most `maxSpaceWaitMs` (default 5 s); then that group is
   * refused (PSL_STORE_UNAVAILABLE: the sender gets a NAK and resends later).
   */
  intakeJournalBound?: { maxUnindexedBytes?: number; maxSpaceWaitMs?: number };
  /**
   * Problems of the intake journal that no caller sees (the messages were ACKed): indexing
   * failing (at the first failure, then once a minute while it lasts; info once it works again),
   * a row SQLite refused kept aside. Default: `process.emitWarning` (info events dropped).
   */
  onIntakeEvent?: (level: 'info' | 'warn' | 'error', message: string, details: Record<string, unknown>) => void;
}

const AUTOCHECKPOINT_PAGES = 16384;
const CHECKPOINT_INTERVAL_MS = 250;

export class SqliteStore extends PartedStore implements MessageStore {
  private readonly opts: Required<SqliteStoreOptions>;
  private db: Database.Database | undefined;
  private h: SqliteHandle | undefined;
  private closed = false;

  private readonly group: GroupCommit<IntakeRow, ReceiveResult>;
  private inline: SqliteIntakeWriter | undefined;
  private thread: SqliteIntakeThread | undefined;
  private checkpointer: SqliteCheckpointer | undefined;
  private journal: IntakeJournal | undefined;
  private dedupeReader: SqliteDedupeReader | undefined;

  // The parts; each reaches the connection through handle(), as the methods here do.
  protected readonly messages = new SqliteMessages(() => this.handle());
  protected readonly search = new SqliteSearch(() => this.handle());
  protected readonly stats = new SqliteStats(() => this.handle(), this.messages);
  protected readonly retention = new SqliteRetention(() => this.handle(), this.stats);
  protected readonly reports = new SqliteReports(() => this.handle());
  protected readonly directory = new SqliteDirectory(() => this.handle().db);

  constructor(options: SqliteStoreOptions) {
    super();
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('SqliteStore: options.path is required');
    }
    const synchronous = options.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
      throw new TypeError(`SqliteStore: synchronous must be FULL or NORMAL, got ${String(synchronous)}`);
    }
    const intakeJournal = options.intakeJournal ?? synchronous === 'NORMAL';
    this.opts = { path: options.path, synchronous, busyTimeoutMs: options.busyTimeoutMs ?? 5000, intakeThread: options.intakeThread ?? (synchronous === 'FULL' || intakeJournal),
      checkpointThread: options.checkpointThread ?? true, intakeJournal, intakeJournalBound: options.intakeJournalBound ?? {},
      onIntakeEvent: options.onIntakeEvent ?? ((level, message, details) => {
        if (level !== 'info') process.emitWarning(`SqliteStore: ${message} ${JSON.stringify(details)}`, { code: 'PSL_STORE_UNAVAILABLE' });
      }),
    };
    this.group = new GroupCommit((rows) => this.commitGroup(rows), { maxItems: 512, maxBytes: 8 << 20, sizeOf: (r) => r.raw.length + r.ack.length });
    // Faults that pass (lost connection, busy, closing) surface as PSL_STORE_TRANSIENT, retried.
    // Calls other than intake first wait for the journalled rows written before them.
    return guardStoreErrors(waitForIntake(this, () => this.journal?.barrier(), UNGUARDED), UNGUARDED);
  }

  async init(): Promise<void> {
    if (this.closed) throw new Error('SqliteStore: closed');
    if (!this.db) {
      fs.mkdirSync(path.dirname(path.resolve(this.opts.path)), { recursive: true });
      const db = new Database(this.opts.path);
      try {
        db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.opts.busyTimeoutMs))}`);
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (String(mode).toLowerCase() !== 'wal') throw new Error(`SqliteStore: could not enable WAL mode (got ${String(mode)})`);
        // fastUpdates: state, content and delivery updates commit at NORMAL (no fsync of their
        // own); intake commits switch to the configured level. The WAL is one file, so the next
        // FULL commit syncs the earlier NORMAL frames too. An update lost to a power cut only
        // replays an idempotent stage; an intake commit is never lost.
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        // Fewer, larger checkpoints: each one fsyncs; the default (1,000 pages) checkpoints every
        // ≈900 messages of 4 KB.
        db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
        db.pragma('journal_size_limit = 134217728');
      } catch (e) {
        db.close();
        throw e;
      }
      this.db = db;
    }
    const db = this.db;
    applySchema(db);
    this.h = prepareHandle(db);
    if (this.opts.intakeJournal && !this.journal) this.openJournal(db);
    let autocheckpointPages = AUTOCHECKPOINT_PAGES;
    if (this.opts.checkpointThread && !this.checkpointer) {
      const cp = new SqliteCheckpointer({ path: path.resolve(this.opts.path), intervalMs: CHECKPOINT_INTERVAL_MS, busyTimeoutMs: this.opts.busyTimeoutMs });
      if (await cp.start()) {
        this.checkpointer = cp;
        autocheckpointPages = 4 * AUTOCHECKPOINT_PAGES;
        db.pragma(`wal_autocheckpoint = ${autocheckpointPages}`);
      }
    }
    if (this.opts.intakeThread) {
      this.thread ??= new SqliteIntakeThread({
        path: path.resolve(this.opts.path),
        synchronous: this.opts.synchronous,
        busyTimeoutMs: this.opts.busyTimeoutMs,
        autocheckpointPages,
        background: this.opts.intakeJournal,
      });
      await this.thread.start();
    } else {
      this.inline = new SqliteIntakeWriter(db);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.group.drain(); // commit what was already asked for
    await this.journal?.close();
    this.dedupeReader?.close();
    this.dedupeReader = undefined;
    await this.thread?.close();
    await this.checkpointer?.close();
    this.db?.close();
    this.db = undefined;
    this.h = undefined;
  }

  /** Intake transactions committed by this handle (each holds one group of receives). */
  get intakeGroups(): number {
    return this.group.groups;
  }

  receive(msg: InboundMessage, dedupeWindowMs: number): Promise<ReceiveResult> {
    try {
      checkInbound(msg, dedupeWindowMs);
      this.handle();
    } catch (e) {
      return Promise.reject(e);
    }
    const receivedAt = msg.receivedAt.getTime();
    const row: IntakeRow = {
      id: newMessageId(),
      channel: msg.channel,
      controlId: msg.controlId,
      sender: msg.sender,
      messageType: msg.messageType,
      orderingKey: msg.orderingKey,
      charset: msg.charset,
      receivedAt,
      state: msg.state,
      reason: msg.reason ?? null,
      updatedAt: Date.now(),
      ack: msg.ack,
      raw: msg.raw,
      dedupeFrom: dedupes(msg, dedupeWindowMs) ? receivedAt - dedupeWindowMs : null,
      keys: msg.keys && msg.keys.length > 0 ? packKeys(normaliseKeys(msg.keys)) : null,
    };
    return this.journal ? this.journal.receive(row, (r) => this.group.submit(r)) : this.group.submit(row);
  }

  /** Replays journals left by a process that ended, then journals this handle's intake. */
  private openJournal(db: Database.Database): void {
    const writer = new SqliteIntakeWriter(db);
    const replayed = replayJournals(path.resolve(this.opts.path), (rows) => writer.index(rows));
    if (replayed.files > 0) this.opts.onIntakeEvent('warn', 'intake journal of a stopped process replayed', { files: replayed.files, rows: replayed.rows, torn: replayed.torn });
    for (const r of replayed.rejected) {
      this.opts.onIntakeEvent('error', 'acknowledged message refused by the database, kept aside', { code: 'PSL_STORE_UNAVAILABLE', id: r.id, error: (r.error as Error).message, keptIn: replayed.keptIn.join(', ') });
    }
    const reader = (this.dedupeReader ??= new SqliteDedupeReader(path.resolve(this.opts.path), this.opts.busyTimeoutMs));
    this.journal = new IntakeJournal({
      dbPath: path.resolve(this.opts.path),
      fsync: this.opts.synchronous === 'FULL',
      ...this.opts.intakeJournalBound,
      index: (span) => (this.thread ? this.thread.index(span) : Promise.resolve().then(() => this.indexInline(span))),
      findDuplicate: (channel, sender, controlId, from) => reader.findDuplicate(channel, sender, controlId, from),
      onIndexed: () => reader.refresh(),
      onIndexError: (e, failing) => {
        // count: failed attempts so far; ms: for how long; backlog: rows waiting.
        if (!this.closed) this.opts.onIntakeEvent('warn', 'journalled messages not indexed yet, trying again', { code: 'PSL_STORE_UNAVAILABLE', error: (e as Error).message, count: failing.attempts, ms: failing.sinceMs, backlog: this.journal?.backlog });
      },
      onIndexRecovered: (failing) => {
        if (!this.closed) this.opts.onIntakeEvent('info', 'journalled messages indexed again', { count: failing.attempts, ms: failing.sinceMs });
      },
      onRejected: (rows, keptIn) => {
        for (const r of rows) {
          this.opts.onIntakeEvent('error', 'acknowledged message refused by the database, kept aside', { code: 'PSL_STORE_UNAVAILABLE', id: r.id, error: (r.error as Error).message, keptIn });
        }
      },
    });
  }

  /** One group, one transaction (in the writer thread, or here), or one journal append; see the file comment. */
  private async commitGroup(rows: IntakeRow[]): Promise<ItemOutcome<ReceiveResult>[]> {
    if (this.journal) {
      let stored: Promise<void>;
      try {
        ({ stored } = await this.journal.write(rows));
      } catch (e) {
        throw storeUnavailable(e);
      }
      return rows.map((r) => ({ ok: true, value: { duplicate: false, id: r.id, stored } }));
    }
    let outcomes: RowOutcome[];
    try {
      outcomes = this.thread ? await this.thread.commit(rows) : this.commitInline(rows);
    } catch (e) {
      throw storeUnavailable(e);
    }
    return outcomes.map((o, i): ItemOutcome<ReceiveResult> => {
      if (!o.ok) return { ok: false, error: storeUnavailable(o.error) };
      if (!o.dup) return { ok: true, value: { duplicate: false, id: rows[i]!.id } };
      const ack = Buffer.from(o.dup.ack.buffer, o.dup.ack.byteOffset, o.dup.ack.byteLength);
      return { ok: true, value: { duplicate: true, id: o.dup.id, ack } };
    });
  }

  private indexInline(span: JournalSpan): RejectedRow[] {
    if (!this.inline) throw new Error('SqliteStore: closed');
    return this.inline.index(decodeRecords(readSpan(fs, span)).rows);
  }

  private commitInline(rows: IntakeRow[]): RowOutcome[] {
    if (!this.inline || !this.db) throw new Error('SqliteStore: closed');
    // Only intake commits need the configured durability; see `fastUpdates` in init().
    if (this.opts.synchronous === 'FULL') this.db.pragma('synchronous = FULL');
    try {
      return this.inline.write(rows);
    } finally {
      if (this.opts.synchronous === 'FULL') this.db.pragma('synchronous = NORMAL');
    }
  }


  private handle(): SqliteHandle {
    if (this.closed) throw new Error('SqliteStore: closed');
    if (!this.h) throw new Error('SqliteStore: init() has not been called');
    return this.h;
  }
}

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
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type {
  DeliveryRecord,
  DeliveryState,
  InboundMessage,
  MessageState,
  MessageStore,
  OpenDelivery,
  ReceiveResult,
  RepairPage,
  RefusalQuota,
  RefusalStats,
  StoredOrder,
  StoredVersionDelivery,
  StoredReport,
  StoredReportVersion,
  StoreCounts,
  StoredMessage,
  ChannelStats,
  DestinationStats,
  IndicatorRow,
  MessageKey,
  MessageQuery,
  VersionDeliveryStats,
  VersionFacts,
  ReportActivity,
  ReportCursor,
  RetentionCandidate,
  RetentionState,
  TrimRequest,
} from './types';
import { RETENTION_NOTE } from './types';
import { GroupCommit, type ItemOutcome } from './group-commit';
import { ACTIVITY_BUCKET_MS, SqliteIntakeWriter, packKeys, type IntakeRow, type RejectedRow, type RowOutcome } from './sqlite-intake';
import { SqliteDedupeReader } from './sqlite-dedupe-reader';
import { IntakeJournal, replayJournals, waitForIntake } from './sqlite-intake-journal';
import { decodeRecords, readSpan, type JournalSpan } from './sqlite-intake-protocol';
import { SqliteIntakeThread } from './sqlite-intake-thread';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import {
  PRUNE_CHUNK,
  REFUSALS_DROPPED,
  checkQuota,
  checkDeliveryState,
  checkInbound,
  checkLimit,
  checkState,
  dedupes,
  messageMissing,
  newMessageId,
  storeUnavailable,
  zeroCounts,
  MESSAGE_COLUMNS,
  MESSAGE_COLUMNS_M,
  FINAL_DELIVERY_SQL,
  INBOUND_SQL,
  OPEN_COLUMNS,
  TERMINAL_SQL,
  checkDestinations,
  toDelivery,
  toMessage,
  toOpenDelivery,
  versionDeliveryOf,
  type DeliveryRow,
  type MessageRow,
  type OpenDeliveryRow,
  type VersionDeliveryRow,
  normaliseKeys,
  queryKeys,
  checkQuery,
  targetKind,
  boundDetail,
  LAST_FAILURES,
  VD_FAILURE_STATES,
  ALL_STATES,
  VD_STATES_SQL,
  indicatorRowOf,
  windowCounts,
  sqlList,
  type IndicatorDbRow,
} from './common';
import { guardStoreErrors } from './transient';
import { PATIENTS_MARK, checkRetentionStates, checkTrim, patientIdsOf, retentionCandidateOf, trimPlan } from './retention-common';

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



const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT    NOT NULL UNIQUE,
  channel      TEXT    NOT NULL,
  control_id   TEXT    NOT NULL,
  sender       TEXT    NOT NULL,
  message_type TEXT    NOT NULL,
  ordering_key TEXT    NOT NULL,
  charset      TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,  -- ms since epoch
  state        TEXT    NOT NULL,
  reason       TEXT,
  updated_at   INTEGER NOT NULL,  -- ms since epoch
  ack          BLOB    NOT NULL,
  raw          BLOB    NOT NULL   -- last: row scans that skip it never walk its overflow pages
);
-- Dedupe look-ups name all three of control_id, channel and sender; control_id first lets the
-- console find a control id in any channel with the same index (it replaced messages_dedupe,
-- which began with channel).
DROP INDEX IF EXISTS messages_dedupe;
CREATE INDEX IF NOT EXISTS messages_control ON messages (control_id, channel, sender, received_at);
-- Date range searches and the console's received counts (PostgreSQL); time-ordered, so intake
-- appends at its right edge.
CREATE INDEX IF NOT EXISTS messages_received ON messages (received_at, channel);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (channel, seq) WHERE state NOT IN (${TERMINAL_SQL});
CREATE INDEX IF NOT EXISTS messages_by_state ON messages (channel, state, seq);
-- Earlier versions had messages_key_open (every non-terminal message of a key): a destination
-- stuck on routed messages made every other line's look-up scan them. Now: inbound-waiting only.
DROP INDEX IF EXISTS messages_key_open;
CREATE INDEX IF NOT EXISTS messages_key_inbound ON messages (channel, ordering_key, seq) WHERE state IN (${INBOUND_SQL});
CREATE INDEX IF NOT EXISTS messages_prunable ON messages (received_at) WHERE state IN (${TERMINAL_SQL});

CREATE TABLE IF NOT EXISTS contents (
  message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  data       BLOB NOT NULL,
  PRIMARY KEY (message_id, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deliveries (
  message_id  TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  destination TEXT    NOT NULL,
  state       TEXT    NOT NULL,
  attempts    INTEGER NOT NULL,
  detail      TEXT,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (message_id, destination)
) WITHOUT ROWID;

-- One row per delivery not yet done (see OpenDelivery in types.ts). Added after the first
-- release: created here if missing; routed messages of an older database get their rows from
-- the pipeline's start-up repair (repairRouted), which knows the channel's destinations.
CREATE TABLE IF NOT EXISTS open_deliveries (
  message_id   TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  destination  TEXT    NOT NULL,
  channel      TEXT    NOT NULL,
  ordering_key TEXT    NOT NULL,
  seq          INTEGER NOT NULL,
  opened_at    INTEGER NOT NULL,  -- ms since epoch
  PRIMARY KEY (message_id, destination)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS open_deliveries_line ON open_deliveries (channel, destination, ordering_key, seq);
CREATE INDEX IF NOT EXISTS open_deliveries_by_seq ON open_deliveries (channel, seq, destination);
`;



/** Rows read per step when walking a channel's refusals (well under a millisecond each on a quiet machine). */
const REFUSAL_PAGE = 500;

/** Per-channel counters (refusals dropped by the quota). Its own statement: schema changes elsewhere merge apart. */
const COUNTERS_SCHEMA = `
CREATE TABLE IF NOT EXISTS counters (
  channel TEXT    NOT NULL,
  name    TEXT    NOT NULL,
  value   INTEGER NOT NULL,
  PRIMARY KEY (channel, name)
) WITHOUT ROWID;
`;

/** Reports across messages (engine/reports): one row per (filling lab, filler order number). */
const REPORTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS reports (
  lab          TEXT    NOT NULL,
  filler_order TEXT    NOT NULL,
  state        TEXT    NOT NULL,  -- JSON, engine/reports/serialize.ts
  row_version  INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,  -- ms since epoch
  PRIMARY KEY (lab, filler_order)
);
CREATE TABLE IF NOT EXISTS report_versions (
  lab          TEXT    NOT NULL,
  filler_order TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  status       TEXT    NOT NULL,
  content_hash TEXT    NOT NULL,
  revision     INTEGER NOT NULL,
  written      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,  -- ms since epoch
  PRIMARY KEY (lab, filler_order, version)
) WITHOUT ROWID;
`;

/** Orders (engine/orders): one row per placer order, and the other numbers that lead to it. */
const ORDERS_SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_key    TEXT    NOT NULL PRIMARY KEY,
  state        TEXT    NOT NULL,  -- JSON, engine/orders/state.ts
  row_version  INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS order_refs (
  ref          TEXT    NOT NULL PRIMARY KEY,
  order_key    TEXT    NOT NULL
) WITHOUT ROWID;
`;

/** Deliveries of report versions (engine/delivery): one row per (version, target). */
const VERSION_DELIVERIES_SCHEMA = `
CREATE TABLE IF NOT EXISTS version_deliveries (
  lab          TEXT    NOT NULL,
  filler_order TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  target       TEXT    NOT NULL,
  state        TEXT    NOT NULL,
  detail       TEXT,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (lab, filler_order, version, target)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS version_deliveries_queued ON version_deliveries (state, updated_at);
`;

/**
 * The operations console (issue 10). Search keys (MessageKey) of each message, deleted with it;
 * message_keys_lookup answers "newest messages with this key" by walking one range backwards.
 * Counters kept by triggers in the writing transaction, so the console and /metrics read a few
 * rows instead of counting millions (better-sqlite3 runs on the event loop): messages per
 * (channel, state); messages received and deliveries delivered per 10-second bucket; dead
 * deliveries per (channel, destination); the last failures of each destination; version
 * deliveries per (target kind, state). Backfilled once when created on an existing database.
 */
const CONSOLE_TABLES = `
CREATE TABLE IF NOT EXISTS message_keys (
  seq   INTEGER NOT NULL REFERENCES messages (seq) ON DELETE CASCADE,
  kind  TEXT    NOT NULL,
  value TEXT    NOT NULL,
  PRIMARY KEY (seq, kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS message_keys_lookup ON message_keys (kind, value, seq);

CREATE TABLE IF NOT EXISTS message_counts (
  channel TEXT    NOT NULL,
  state   TEXT    NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (channel, state)
) WITHOUT ROWID;
-- what: '' = messages received; else a destination (deliveries delivered). bucket: ms / 10 000.
CREATE TABLE IF NOT EXISTS message_activity (
  channel TEXT    NOT NULL,
  what    TEXT    NOT NULL,
  bucket  INTEGER NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (channel, what, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS destination_counts (
  channel     TEXT    NOT NULL,
  destination TEXT    NOT NULL,
  dead        INTEGER NOT NULL,
  PRIMARY KEY (channel, destination)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_failures (
  id          INTEGER PRIMARY KEY,
  channel     TEXT    NOT NULL,
  destination TEXT    NOT NULL,
  message_id  TEXT    NOT NULL,
  state       TEXT    NOT NULL,
  detail      TEXT,
  at          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_failures_line ON delivery_failures (channel, destination, id);
CREATE TABLE IF NOT EXISTS version_delivery_counts (
  kind  TEXT    NOT NULL,
  state TEXT    NOT NULL,
  n     INTEGER NOT NULL,
  PRIMARY KEY (kind, state)
) WITHOUT ROWID;
`;

/** The target kind of a version_deliveries row in SQL (the part of `target` before ':'). */
const VD_KIND = (t: string): string => `CASE WHEN instr(${t}.target, ':') > 0 THEN substr(${t}.target, 1, instr(${t}.target, ':') - 1) ELSE ${t}.target END`;
const DELIVERY_FAILURES_KEPT = 20;

const CONSOLE_TRIGGERS = `
-- Inserted messages are counted by the intake writer, once per group (sqlite-intake.ts).
DROP TRIGGER IF EXISTS messages_count_insert;
CREATE TRIGGER IF NOT EXISTS messages_count_state AFTER UPDATE OF state ON messages WHEN old.state IS NOT new.state BEGIN
  UPDATE message_counts SET n = n - 1 WHERE channel = old.channel AND state = old.state;
  INSERT INTO message_counts (channel, state, n) VALUES (new.channel, new.state, 1)
    ON CONFLICT (channel, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS messages_count_delete AFTER DELETE ON messages BEGIN
  UPDATE message_counts SET n = n - 1 WHERE channel = old.channel AND state = old.state;
END;
-- Before the cascade removes them: the message's dead deliveries leave the dead counts.
CREATE TRIGGER IF NOT EXISTS messages_dead_deliveries_delete BEFORE DELETE ON messages BEGIN
  UPDATE destination_counts SET dead = dead - 1
   WHERE channel = old.channel
     AND destination IN (SELECT destination FROM deliveries WHERE message_id = old.id AND state = 'dead');
END;

CREATE TRIGGER IF NOT EXISTS deliveries_insert_stats AFTER INSERT ON deliveries BEGIN
  INSERT INTO message_activity (channel, what, bucket, n)
    SELECT m.channel, new.destination, new.updated_at / ${ACTIVITY_BUCKET_MS}, 1 FROM messages m WHERE m.id = new.message_id AND new.state = 'delivered'
    ON CONFLICT (channel, what, bucket) DO UPDATE SET n = n + 1;
  INSERT INTO destination_counts (channel, destination, dead)
    SELECT m.channel, new.destination, 1 FROM messages m WHERE m.id = new.message_id AND new.state = 'dead'
    ON CONFLICT (channel, destination) DO UPDATE SET dead = dead + 1;
  INSERT INTO delivery_failures (channel, destination, message_id, state, detail, at)
    SELECT m.channel, new.destination, new.message_id, new.state, substr(new.detail, 1, 500), new.updated_at FROM messages m
     WHERE m.id = new.message_id AND (new.state = 'dead' OR (new.state = 'pending' AND new.attempts > 0));
END;
CREATE TRIGGER IF NOT EXISTS deliveries_update_stats AFTER UPDATE ON deliveries BEGIN
  INSERT INTO message_activity (channel, what, bucket, n)
    SELECT m.channel, new.destination, new.updated_at / ${ACTIVITY_BUCKET_MS}, 1 FROM messages m
     WHERE m.id = new.message_id AND new.state = 'delivered' AND old.state IS NOT 'delivered'
    ON CONFLICT (channel, what, bucket) DO UPDATE SET n = n + 1;
  INSERT INTO destination_counts (channel, destination, dead)
    SELECT m.channel, new.destination, (new.state = 'dead') - (old.state = 'dead') FROM messages m
     WHERE m.id = new.message_id AND (new.state = 'dead') <> (old.state = 'dead')
    ON CONFLICT (channel, destination) DO UPDATE SET dead = dead + excluded.dead;
  -- A failed attempt (retrying) or a death; a reprocess reopening it is not a failure.
  INSERT INTO delivery_failures (channel, destination, message_id, state, detail, at)
    SELECT m.channel, new.destination, new.message_id, new.state, substr(new.detail, 1, 500), new.updated_at FROM messages m
     WHERE m.id = new.message_id
       AND ((new.state = 'dead' AND old.state IS NOT 'dead') OR (new.state = 'pending' AND new.attempts > old.attempts));
END;
-- The failures log keeps the last ${DELIVERY_FAILURES_KEPT} of each destination.
CREATE TRIGGER IF NOT EXISTS delivery_failures_trim AFTER INSERT ON delivery_failures BEGIN
  DELETE FROM delivery_failures
   WHERE channel = new.channel AND destination = new.destination
     AND id <= (SELECT id FROM delivery_failures WHERE channel = new.channel AND destination = new.destination
                 ORDER BY id DESC LIMIT 1 OFFSET ${DELIVERY_FAILURES_KEPT});
END;

CREATE TRIGGER IF NOT EXISTS version_deliveries_count_insert AFTER INSERT ON version_deliveries BEGIN
  INSERT INTO version_delivery_counts (kind, state, n) VALUES (${VD_KIND('new')}, new.state, 1)
    ON CONFLICT (kind, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS version_deliveries_count_update AFTER UPDATE OF state ON version_deliveries WHEN old.state IS NOT new.state BEGIN
  UPDATE version_delivery_counts SET n = n - 1 WHERE kind = ${VD_KIND('old')} AND state = old.state;
  INSERT INTO version_delivery_counts (kind, state, n) VALUES (${VD_KIND('new')}, new.state, 1)
    ON CONFLICT (kind, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS version_deliveries_count_delete AFTER DELETE ON version_deliveries BEGIN
  UPDATE version_delivery_counts SET n = n - 1 WHERE kind = ${VD_KIND('old')} AND state = old.state;
END;
`;

/** Counters of rows written before the console existed (run once, when its tables are created). */
const CONSOLE_BACKFILL = `
INSERT INTO message_counts (channel, state, n) SELECT channel, state, count(*) FROM messages GROUP BY channel, state;
INSERT INTO destination_counts (channel, destination, dead)
  SELECT m.channel, d.destination, count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.state = 'dead' GROUP BY m.channel, d.destination;
INSERT INTO version_delivery_counts (kind, state, n) SELECT ${VD_KIND('v')}, v.state, count(*) FROM version_deliveries v GROUP BY 1, 2;
`;

/**
 * Retention (engine/channels/retention.ts). Document retention (SGL.DOC.20) needs a patient's
 * last activity across their reports: report_patients holds each report's patient identifiers
 * (`ins:<oid>:<matricule>`, `local:<authority>:<id>`), read from the reports changed since the
 * last pass (reports_updated, the mark in retention_marks), and patient_activity the latest
 * change seen per identifier. report_archive notes the reports whose documents were archived.
 */
const RETENTION_SCHEMA = `
CREATE INDEX IF NOT EXISTS reports_updated ON reports (updated_at, lab, filler_order);
CREATE TABLE IF NOT EXISTS report_patients (
  lab          TEXT NOT NULL,
  filler_order TEXT NOT NULL,
  patient      TEXT NOT NULL,
  PRIMARY KEY (lab, filler_order, patient)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS report_patients_patient ON report_patients (patient);
CREATE TABLE IF NOT EXISTS patient_activity (
  patient TEXT    NOT NULL PRIMARY KEY,
  last_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_archive (
  lab          TEXT    NOT NULL,
  filler_order TEXT    NOT NULL,
  archived_at  INTEGER NOT NULL,
  PRIMARY KEY (lab, filler_order)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retention_marks (
  name         TEXT    NOT NULL PRIMARY KEY,
  at           INTEGER NOT NULL,
  lab          TEXT    NOT NULL,
  filler_order TEXT    NOT NULL
) WITHOUT ROWID;
`;

/** Columns added to report_versions after its first release: the facts the indicators count by. */
const REPORT_VERSION_FACTS: [string, string][] = [
  ['finess', 'TEXT'],
  ['rpps', 'TEXT'],
  ['ins_qualified', 'INTEGER'],
];

/**
 * A date range search with a state holding at most this many messages reads that state's lines
 * instead of the range; a key naming fewer leads a search with several keys (counted, never more).
 */
const SEARCH_SCAN_CAP = 5000;

/**
 * Keyset of a date range search: after the message `beforeSeq` names, else from the top. A
 * message pruned since is stood in for by the one stored just before it (that one included).
 */
function rangeCursor(beforeSeq: number | undefined, rowAtOrBefore: (seq: number) => { seq: number | string; received_at: number | Date; channel: string } | undefined): { r: number; c: string; before: number } {
  if (beforeSeq === undefined) return { r: Number.MAX_SAFE_INTEGER, c: '', before: 0 };
  const row = rowAtOrBefore(beforeSeq);
  if (!row) return { r: -Infinity, c: '', before: 0 };
  const seq = Number(row.seq);
  return { r: Number(row.received_at instanceof Date ? row.received_at.getTime() : row.received_at), c: row.channel, before: seq === beforeSeq ? seq : seq + 1 };
}

function byRangeOrder(a: { received_at: number | Date; channel: string; seq: number | string }, b: typeof a): number {
  return Number(b.received_at) - Number(a.received_at) || (a.channel < b.channel ? 1 : a.channel > b.channel ? -1 : 0) || Number(b.seq) - Number(a.seq);
}

/** Counter rows of named sequences (engine/orders sub-order numbers) live under this channel name. */
const SEQUENCE_CHANNEL = '#sequence';


interface VersionRow {
  lab: string;
  filler_order: string;
  version: number;
  status: string;
  content_hash: string;
  revision: number;
  written: number;
  created_at: number;
}

function isForeignKeyError(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

function prepareStatements(db: Database.Database) {
  return {
    get: db.prepare<[string], MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`),
    raw: db.prepare<[string], { raw: Buffer }>('SELECT raw FROM messages WHERE id = ?'),
    setState: db.prepare<[MessageState, number, string]>('UPDATE messages SET state = ?, updated_at = ? WHERE id = ?'),
    setStateReason: db.prepare<[MessageState, string | null, number, string]>(
      'UPDATE messages SET state = ?, reason = ?, updated_at = ? WHERE id = ?',
    ),
    putContent: db.prepare<[string, string, Buffer]>(
      `INSERT INTO contents (message_id, name, data) VALUES (?, ?, ?)
       ON CONFLICT (message_id, name) DO UPDATE SET data = excluded.data`,
    ),
    getContent: db.prepare<[string, string], { data: Buffer }>('SELECT data FROM contents WHERE message_id = ? AND name = ?'),
    // detail: @keepDetail = 1 keeps the stored detail (argument left undefined).
    setDelivery: db.prepare(
      `INSERT INTO deliveries (message_id, destination, state, attempts, detail, updated_at)
       VALUES (@id, @destination, @state, @inc, @detail, @now)
       ON CONFLICT (message_id, destination) DO UPDATE SET
         state = excluded.state,
         attempts = deliveries.attempts + excluded.attempts,
         detail = CASE WHEN @keepDetail = 1 THEN deliveries.detail ELSE excluded.detail END,
         updated_at = excluded.updated_at`,
    ),
    getDelivery: db.prepare<[string, string], DeliveryRow>(
      'SELECT * FROM deliveries WHERE message_id = ? AND destination = ?',
    ),
    deliveries: db.prepare<[string], DeliveryRow>('SELECT * FROM deliveries WHERE message_id = ? ORDER BY destination'),
    pending: db.prepare<[string, number, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
        WHERE channel = ? AND seq > ? AND state NOT IN (${TERMINAL_SQL})
        ORDER BY seq LIMIT ?`,
    ),
    earlierInbound: db.prepare<[string, string, number, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
        WHERE channel = ? AND ordering_key = ? AND seq < ? AND state IN (${INBOUND_SQL})
        ORDER BY seq LIMIT ?`,
    ),
    // One range of open_deliveries_line, then the messages rows by rowid: bounded by `limit`
    // whatever other destinations hold open.
    earlierUndelivered: db.prepare<[string, string, string, number, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS_M} FROM open_deliveries o JOIN messages m ON m.seq = o.seq
        WHERE o.channel = ? AND o.destination = ? AND o.ordering_key = ? AND o.seq < ?
        ORDER BY o.seq LIMIT ?`,
    ),
    inboundPending: db.prepare<[string, number, number, string, number, number, number], MessageRow>(
      `SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND state = 'received' AND seq > ? ORDER BY seq LIMIT ?)
       UNION ALL
       SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND state = 'processing' AND seq > ? ORDER BY seq LIMIT ?)
       ORDER BY seq LIMIT ?`,
    ),
    openDeliveries: db.prepare<[string, number, string, number], OpenDeliveryRow>(
      `SELECT ${OPEN_COLUMNS} FROM open_deliveries
        WHERE channel = ? AND (seq, destination) > (?, ?)
        ORDER BY seq, destination LIMIT ?`,
    ),
    setRouted: db.prepare<[number, string]>(`UPDATE messages SET state = 'routed', updated_at = ? WHERE id = ?`),
    // Opens a delivery unless it is already open or final.
    openIfNotFinal: db.prepare<{ id: string; destination: string; now: number }>(
      `INSERT OR IGNORE INTO open_deliveries (${OPEN_COLUMNS})
       SELECT m.id, @destination, m.channel, m.ordering_key, m.seq, @now FROM messages m
        WHERE m.id = @id
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.destination = @destination AND d.state IN (${FINAL_DELIVERY_SQL}))`,
    ),
    reopen: db.prepare<{ id: string; destination: string; now: number }>(
      `INSERT OR IGNORE INTO open_deliveries (${OPEN_COLUMNS})
       SELECT id, @destination, channel, ordering_key, seq, @now FROM messages WHERE id = @id`,
    ),
    close: db.prepare<[string, string]>('DELETE FROM open_deliveries WHERE message_id = ? AND destination = ?'),
    routedPage: db.prepare<[string, number, number], { seq: number }>(
      `SELECT seq FROM messages WHERE channel = ? AND state = 'routed' AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    repairOpen: db.prepare<{ channel: string; lo: number; hi: number; dests: string; now: number }>(
      `INSERT OR IGNORE INTO open_deliveries (${OPEN_COLUMNS})
       SELECT m.id, j.value, m.channel, m.ordering_key, m.seq, @now FROM messages m, json_each(@dests) j
        WHERE m.channel = @channel AND m.state = 'routed' AND m.seq BETWEEN @lo AND @hi
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.destination = j.value AND d.state IN (${FINAL_DELIVERY_SQL}))`,
    ),
    repairSettled: db.prepare<{ channel: string; lo: number; hi: number; dests: string }, { id: string }>(
      `SELECT m.id FROM messages m
        WHERE m.channel = @channel AND m.state = 'routed' AND m.seq BETWEEN @lo AND @hi
          AND NOT EXISTS (SELECT 1 FROM open_deliveries o, json_each(@dests) j WHERE o.message_id = m.id AND o.destination = j.value)
        ORDER BY m.seq`,
    ),
    listAll: db.prepare<[string, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? ORDER BY seq DESC LIMIT ?`,
    ),
    listState: db.prepare<[string, MessageState, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND state = ? ORDER BY seq DESC LIMIT ?`,
    ),
    counts: db.prepare<[string], { state: string; n: number }>('SELECT state, n FROM message_counts WHERE channel = ?'),
    keysOf: db.prepare<[string], { kind: MessageKey['kind']; value: string }>(
      'SELECT k.kind, k.value FROM messages m JOIN message_keys k ON k.seq = m.seq WHERE m.id = ? ORDER BY k.kind, k.value',
    ),
    // Search by key: one range of message_keys_lookup walked backwards, each message by rowid;
    // the other filters are checked on the message (a key names few messages).
    searchByKey: db.prepare<{ kind: string; value: string; before: number; channel: string | null; state: string | null; from: number | null; to: number | null; control: string | null; limit: number }, MessageRow>(
      `SELECT ${MESSAGE_COLUMNS_M} FROM message_keys k INDEXED BY message_keys_lookup CROSS JOIN messages m ON m.seq = k.seq
        WHERE k.kind = @kind AND k.value = @value AND k.seq < @before
          AND (@channel IS NULL OR m.channel = @channel) AND (@state IS NULL OR m.state = @state)
          AND (@from IS NULL OR m.received_at >= @from) AND (@to IS NULL OR m.received_at < @to)
          AND (@control IS NULL OR m.control_id = @control)
        ORDER BY k.seq DESC LIMIT @limit`,
    ),
    keyCount: db.prepare<[string, string, number], { n: number }>(
      'SELECT count(*) AS n FROM (SELECT 1 FROM message_keys INDEXED BY message_keys_lookup WHERE kind = ? AND value = ? LIMIT ?)',
    ),
    hasKey: db.prepare<[number, string, string], { one: number }>('SELECT 1 AS one FROM message_keys WHERE seq = ? AND kind = ? AND value = ?'),
    // By control id: its entries of messages_control (a control id names few messages), sorted.
    searchByControl: db.prepare<{ control: string; before: number; channel: string | null; state: string | null; from: number | null; to: number | null; limit: number }, MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages INDEXED BY messages_control
        WHERE control_id = @control AND seq < @before
          AND (@channel IS NULL OR channel = @channel) AND (@state IS NULL OR state = @state)
          AND (@from IS NULL OR received_at >= @from) AND (@to IS NULL OR received_at < @to)
        ORDER BY seq DESC LIMIT @limit`,
    ),
    // A date range: messages_received walked backwards from the cursor, (received_at, channel,
    // seq) descending, so a page costs its own rows whatever the range holds.
    searchRange: db.prepare<{ from: number; to: number; channel: string | null; state: string | null; r: number; c: string; before: number; limit: number }, MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages INDEXED BY messages_received
        WHERE received_at >= @from AND received_at < @to AND (@channel IS NULL OR channel = @channel)
          AND (received_at, channel, seq) < (@r, @c, @before) AND (@state IS NULL OR state = @state)
        ORDER BY received_at DESC, channel DESC, seq DESC LIMIT @limit`,
    ),
    // A date range and a rare state: that state's line (every row of it, few), sorted here.
    searchRangeLine: db.prepare<{ channel: string; state: string; from: number; to: number; r: number; c: string; before: number }, { seq: number; received_at: number; channel: string }>(
      `SELECT seq, received_at, channel FROM messages INDEXED BY messages_by_state
        WHERE channel = @channel AND state = @state AND received_at >= @from AND received_at < @to
          AND (received_at, channel, seq) < (@r, @c, @before)`,
    ),
    cursorOf: db.prepare<[number], { seq: number; received_at: number; channel: string }>('SELECT seq, received_at, channel FROM messages WHERE seq <= ? ORDER BY seq DESC LIMIT 1'),
    // One (channel, state) line of messages_by_state, newest first; the date filter on the row.
    searchLine: db.prepare<{ channel: string; state: string; before: number; from: number | null; to: number | null; limit: number }, { seq: number }>(
      `SELECT seq FROM messages INDEXED BY messages_by_state
        WHERE channel = @channel AND state = @state AND seq < @before
          AND (@from IS NULL OR received_at >= @from) AND (@to IS NULL OR received_at < @to)
        ORDER BY seq DESC LIMIT @limit`,
    ),
    bySeqs: db.prepare<[string], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq DESC`,
    ),
    channelsWith: db.prepare<[], { channel: string; state: string; n: number }>('SELECT channel, state, n FROM message_counts WHERE n > 0'),
    activity: db.prepare<[string, string, number], { bucket: number; n: number }>(
      'SELECT bucket, n FROM message_activity WHERE channel = ? AND what = ? AND bucket >= ?',
    ),
    activityPrune: db.prepare<[number]>('DELETE FROM message_activity WHERE bucket < ?'),
    // The head of the line (lowest seq) per inbound state: the oldest message waiting.
    oldestInState: db.prepare<[string, string], { received_at: number }>(
      'SELECT received_at FROM messages INDEXED BY messages_by_state WHERE channel = ? AND state = ? ORDER BY seq LIMIT 1',
    ),
    openCount: db.prepare<[string, string], { n: number }>(
      'SELECT count(*) AS n FROM open_deliveries INDEXED BY open_deliveries_line WHERE channel = ? AND destination = ?',
    ),
    // The head of the destination's line; a reopened delivery keeps its place in seq order.
    openHead: db.prepare<[string, string], { opened_at: number }>(
      'SELECT min(opened_at) AS opened_at FROM (SELECT opened_at FROM open_deliveries INDEXED BY open_deliveries_by_seq WHERE channel = ? AND destination = ? ORDER BY seq LIMIT 64)',
    ),
    deadCount: db.prepare<[string, string], { dead: number }>('SELECT dead FROM destination_counts WHERE channel = ? AND destination = ?'),
    lastFailures: db.prepare<[string, string, number], { message_id: string; state: DeliveryState; detail: string | null; at: number }>(
      'SELECT message_id, state, detail, at FROM delivery_failures WHERE channel = ? AND destination = ? ORDER BY id DESC LIMIT ?',
    ),
    vdCounts: db.prepare<[], { kind: string; state: string; n: number }>('SELECT kind, state, n FROM version_delivery_counts WHERE n <> 0'),
    vdOldestQueued: db.prepare<[], { kind: string; at: number }>(
      `SELECT ${VD_KIND('v')} AS kind, min(v.updated_at) AS at FROM version_deliveries v INDEXED BY version_deliveries_queued WHERE v.state = 'queued' GROUP BY 1`,
    ),
    vdLastInState: db.prepare<[string, number], VersionDeliveryRow>(
      'SELECT * FROM version_deliveries INDEXED BY version_deliveries_queued WHERE state = ? ORDER BY updated_at DESC LIMIT ?',
    ),
    retentionLine: db.prepare<[string, string, number, number], RetentionRow>(
      `SELECT m.seq, m.id, m.state, m.received_at, m.updated_at, length(m.raw) AS raw_bytes,
              EXISTS (SELECT 1 FROM contents c WHERE c.message_id = m.id AND c.name <> '${RETENTION_NOTE}') AS has_contents
         FROM messages m INDEXED BY messages_by_state WHERE m.channel = ? AND m.state = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`,
    ),
    trimRead: db.prepare<[string], { raw: Buffer; state: string; updated_at: number }>('SELECT raw, state, updated_at FROM messages WHERE id = ?'),
    trimRaw: db.prepare<[Buffer, string]>('UPDATE messages SET raw = ? WHERE id = ?'),
    contentNames: db.prepare<[string], { name: string }>('SELECT name FROM contents WHERE message_id = ? ORDER BY name'),
    contentsDrop: db.prepare<[string, string]>('DELETE FROM contents WHERE message_id = ? AND name <> ?'),
    reportsChanged: db.prepare<[number, string, string, number], { lab: string; filler_order: string; updated_at: number; patient: string | null }>(
      `SELECT lab, filler_order, updated_at, json_extract(state, '$.patient') AS patient FROM reports INDEXED BY reports_updated
        WHERE (updated_at, lab, filler_order) > (?, ?, ?) ORDER BY updated_at, lab, filler_order LIMIT ?`,
    ),
    markGet: db.prepare<[string], { at: number; lab: string; filler_order: string }>('SELECT at, lab, filler_order FROM retention_marks WHERE name = ?'),
    markSet: db.prepare<[string, number, string, string]>(
      'INSERT INTO retention_marks (name, at, lab, filler_order) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at, lab = excluded.lab, filler_order = excluded.filler_order',
    ),
    reportPatientsDrop: db.prepare<[string, string]>('DELETE FROM report_patients WHERE lab = ? AND filler_order = ?'),
    reportPatientAdd: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO report_patients (lab, filler_order, patient) VALUES (?, ?, ?)'),
    patientSeen: db.prepare<[string, number]>(
      'INSERT INTO patient_activity (patient, last_at) VALUES (?, ?) ON CONFLICT (patient) DO UPDATE SET last_at = max(last_at, excluded.last_at)',
    ),
    oldReports: db.prepare<{ before: number; at: number; lab: string; filler: string; limit: number }, { lab: string; filler_order: string; updated_at: number; last: number; versions: number; archived_at: number | null }>(
      `SELECT r.lab, r.filler_order, r.updated_at,
              max(r.updated_at, coalesce((SELECT max(pa.last_at) FROM report_patients rp JOIN patient_activity pa ON pa.patient = rp.patient
                                           WHERE rp.lab = r.lab AND rp.filler_order = r.filler_order), 0)) AS last,
              (SELECT count(*) FROM report_versions v WHERE v.lab = r.lab AND v.filler_order = r.filler_order) AS versions,
              (SELECT a.archived_at FROM report_archive a WHERE a.lab = r.lab AND a.filler_order = r.filler_order) AS archived_at
         FROM reports r INDEXED BY reports_updated
        WHERE r.updated_at < @before AND (r.updated_at, r.lab, r.filler_order) > (@at, @lab, @filler)
        ORDER BY r.updated_at, r.lab, r.filler_order LIMIT @limit`,
    ),
    archiveMark: db.prepare<[string, string, number]>(
      'INSERT INTO report_archive (lab, filler_order, archived_at) VALUES (?, ?, ?) ON CONFLICT (lab, filler_order) DO UPDATE SET archived_at = excluded.archived_at',
    ),
    purgeStatements: [
      'DELETE FROM version_deliveries WHERE lab = ? AND filler_order = ?',
      'DELETE FROM report_versions WHERE lab = ? AND filler_order = ?',
      'DELETE FROM report_patients WHERE lab = ? AND filler_order = ?',
      'DELETE FROM report_archive WHERE lab = ? AND filler_order = ?',
      'DELETE FROM reports WHERE lab = ? AND filler_order = ?',
    ].map((sql) => db.prepare<[string, string]>(sql)),
    // Every state named, so version_deliveries_queued (state, updated_at) serves each as one range.
    indicatorRows: db.prepare<[number, number], IndicatorDbRow>(
      `SELECT d.lab, d.filler_order, d.version, d.target, d.state, d.updated_at, v.finess, v.rpps, v.ins_qualified, v.status
         FROM version_deliveries d LEFT JOIN report_versions v ON v.lab = d.lab AND v.filler_order = d.filler_order AND v.version = d.version
        WHERE d.state IN (${VD_STATES_SQL}) AND d.updated_at >= ? AND d.updated_at < ?`,
    ),
    refusalTotals: db.prepare<[string], { n: number; b: number }>(
      `SELECT count(*) AS n, coalesce(sum(length(raw) + length(ack)), 0) AS b FROM messages WHERE channel = ? AND state = 'refused'`,
    ),
    refusalSizes: db.prepare<[string, number, number], { seq: number; size: number }>(
      `SELECT seq, length(raw) + length(ack) AS size FROM messages
        WHERE channel = ? AND state = 'refused' AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    refusalDeleteChunk: db.prepare<[string, number, number]>(
      `DELETE FROM messages WHERE seq IN (
         SELECT seq FROM messages WHERE channel = ? AND state = 'refused' AND seq <= ? ORDER BY seq LIMIT ?)`,
    ),
    counterAdd: db.prepare<[string, string, number]>(
      `INSERT INTO counters (channel, name, value) VALUES (?, ?, ?)
       ON CONFLICT (channel, name) DO UPDATE SET value = counters.value + excluded.value`,
    ),
    counterGet: db.prepare<[string, string], { value: number }>('SELECT value FROM counters WHERE channel = ? AND name = ?'),
    reportGet: db.prepare<[string, string], { state: string; row_version: number; updated_at: number }>(
      'SELECT state, row_version, updated_at FROM reports WHERE lab = ? AND filler_order = ?',
    ),
    reportsByFiller: db.prepare<[string], { lab: string; state: string; row_version: number; updated_at: number }>(
      'SELECT lab, state, row_version, updated_at FROM reports WHERE filler_order = ? ORDER BY lab',
    ),
    reportInsert: db.prepare<[string, string, string, number]>(
      'INSERT OR IGNORE INTO reports (lab, filler_order, state, row_version, updated_at) VALUES (?, ?, ?, 1, ?)',
    ),
    versionReserve: db.prepare<[string, string, number, string, string, number, number, string | null, string | null, number | null, number]>(
      `INSERT INTO report_versions (lab, filler_order, version, status, content_hash, revision, written, created_at, finess, rpps, ins_qualified)
       VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)
       ON CONFLICT (lab, filler_order, version) DO UPDATE
         SET status = excluded.status, content_hash = excluded.content_hash, revision = excluded.revision, created_at = excluded.created_at,
             finess = excluded.finess, rpps = excluded.rpps, ins_qualified = excluded.ins_qualified
         WHERE report_versions.written = 0 AND report_versions.created_at < ?`,
    ),
    versionWritten: db.prepare<[string, string, number]>('UPDATE report_versions SET written = 1 WHERE lab = ? AND filler_order = ? AND version = ?'),
    versionRelease: db.prepare<[string, string, number]>('DELETE FROM report_versions WHERE lab = ? AND filler_order = ? AND version = ? AND written = 0'),
    versionList: db.prepare<[string, string], VersionRow>('SELECT * FROM report_versions WHERE lab = ? AND filler_order = ? ORDER BY version'),
    reportUpdate: db.prepare<[string, number, string, string, number]>(
      'UPDATE reports SET state = ?, row_version = row_version + 1, updated_at = ? WHERE lab = ? AND filler_order = ? AND row_version = ?',
    ),
    vdPut: db.prepare<[string, string, number, string, string, string | null, number]>(
      `INSERT INTO version_deliveries (lab, filler_order, version, target, state, detail, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (lab, filler_order, version, target) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at`,
    ),
    vdList: db.prepare<[string, string], VersionDeliveryRow>('SELECT * FROM version_deliveries WHERE lab = ? AND filler_order = ? ORDER BY version, target'),
    vdQueued: db.prepare<[number, number], VersionDeliveryRow>(`SELECT * FROM version_deliveries WHERE state = 'queued' AND updated_at >= ? ORDER BY updated_at LIMIT ?`),
    orderGet: db.prepare<[string], { state: string; row_version: number; updated_at: number }>('SELECT state, row_version, updated_at FROM orders WHERE order_key = ?'),
    orderInsert: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO orders (order_key, state, row_version, updated_at) VALUES (?, ?, 1, ?)'),
    orderUpdate: db.prepare<[string, number, string, number]>('UPDATE orders SET state = ?, row_version = row_version + 1, updated_at = ? WHERE order_key = ? AND row_version = ?'),
    orderLink: db.prepare<[string, string]>('INSERT OR IGNORE INTO order_refs (ref, order_key) VALUES (?, ?)'),
    orderRef: db.prepare<[string], { order_key: string }>('SELECT order_key FROM order_refs WHERE ref = ?'),
    sequenceNext: db.prepare<[string, string], { value: number }>(
      `INSERT INTO counters (channel, name, value) VALUES (?, ?, 1)
       ON CONFLICT (channel, name) DO UPDATE SET value = counters.value + 1 RETURNING value`,
    ),
    pruneChunk: db.prepare<[number, number, number]>(
      `DELETE FROM messages WHERE seq IN (
         SELECT seq FROM messages
          WHERE state IN (${TERMINAL_SQL}) AND received_at < ? AND updated_at < ?
          LIMIT ?)`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

interface RetentionRow {
  seq: number;
  id: string;
  state: MessageState;
  received_at: number;
  updated_at: number;
  raw_bytes: number;
  has_contents: number;
}

export class SqliteStore implements MessageStore {
  private readonly opts: Required<SqliteStoreOptions>;
  private db: Database.Database | undefined;
  private st: Statements | undefined;
  private closed = false;
  private activityPrunedAt = 0;

  private readonly group: GroupCommit<IntakeRow, ReceiveResult>;
  private inline: SqliteIntakeWriter | undefined;
  private thread: SqliteIntakeThread | undefined;
  private checkpointer: SqliteCheckpointer | undefined;
  private journal: IntakeJournal | undefined;
  private dedupeReader: SqliteDedupeReader | undefined;

  constructor(options: SqliteStoreOptions) {
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
    db.transaction(() => {
      // Partial indexes over the terminal states are made again when that list changed (a state
      // was added): SQLite only uses a partial index whose predicate matches the query's.
      for (const r of db.prepare<[], { name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ('messages_pending', 'messages_prunable')`).all()) {
        if (!r.sql.includes(`(${TERMINAL_SQL})`)) db.exec(`DROP INDEX ${r.name}`);
      }
      db.exec(SCHEMA);
      db.exec(COUNTERS_SCHEMA);
      db.exec(REPORTS_SCHEMA);
      db.exec(ORDERS_SCHEMA);
      db.exec(VERSION_DELIVERIES_SCHEMA);
      const hadConsole = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_counts'`).get() !== undefined;
      db.exec(CONSOLE_TABLES);
      db.exec(CONSOLE_TRIGGERS);
      if (!hadConsole) db.exec(CONSOLE_BACKFILL);
      db.exec(RETENTION_SCHEMA);
      const have = new Set(db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('report_versions')`).all().map((c) => c.name));
      for (const [name, type] of REPORT_VERSION_FACTS) if (!have.has(name)) db.exec(`ALTER TABLE report_versions ADD COLUMN ${name} ${type}`);
    }).immediate();
    this.st = prepareStatements(db);
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
    this.st = undefined;
  }

  /** Intake transactions committed by this handle (each holds one group of receives). */
  get intakeGroups(): number {
    return this.group.groups;
  }

  receive(msg: InboundMessage, dedupeWindowMs: number): Promise<ReceiveResult> {
    try {
      checkInbound(msg, dedupeWindowMs);
      this.statements();
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

  async get(id: string): Promise<StoredMessage | undefined> {
    const row = this.statements().get.get(id);
    return row ? toMessage(row) : undefined;
  }

  async raw(id: string): Promise<Buffer | undefined> {
    return this.statements().raw.get(id)?.raw;
  }

  async setState(id: string, state: MessageState, reason?: string | null): Promise<void> {
    checkState(state);
    const st = this.statements();
    const info =
      reason === undefined ? st.setState.run(state, Date.now(), id) : st.setStateReason.run(state, reason, Date.now(), id);
    if (info.changes === 0) throw messageMissing(id);
  }

  async putContent(id: string, name: string, data: Buffer): Promise<void> {
    if (!Buffer.isBuffer(data)) throw new TypeError('putContent: data must be a Buffer');
    try {
      this.statements().putContent.run(id, name, data);
    } catch (e) {
      if (isForeignKeyError(e)) throw messageMissing(id, e);
      throw e;
    }
  }

  async getContent(id: string, name: string): Promise<Buffer | undefined> {
    return this.statements().getContent.get(id, name)?.data;
  }

  async setDelivery(
    id: string,
    destination: string,
    state: DeliveryState,
    detail?: string | null,
    attempt?: boolean,
  ): Promise<void> {
    checkDeliveryState(state);
    const st = this.statements();
    const now = Date.now();
    try {
      this.db!.transaction(() => {
        st.setDelivery.run({
          id,
          destination,
          state,
          inc: attempt ? 1 : 0,
          detail: detail ?? null,
          keepDetail: detail === undefined ? 1 : 0,
          now,
        });
        if (state === 'pending') st.reopen.run({ id, destination, now });
        else st.close.run(id, destination);
      }).immediate(); // the write lock up front: another process's writer is waited for (busy_timeout)
    } catch (e) {
      if (isForeignKeyError(e)) throw messageMissing(id, e);
      throw e;
    }
  }

  async route(id: string, destinations: readonly string[]): Promise<void> {
    checkDestinations(destinations);
    const st = this.statements();
    const now = Date.now();
    this.db!.transaction(() => {
      if (st.setRouted.run(now, id).changes === 0) throw messageMissing(id);
      for (const destination of destinations) st.openIfNotFinal.run({ id, destination, now });
    }).immediate();
  }

  async getDelivery(id: string, destination: string): Promise<DeliveryRecord | undefined> {
    const row = this.statements().getDelivery.get(id, destination);
    return row ? toDelivery(row) : undefined;
  }

  async deliveries(id: string): Promise<DeliveryRecord[]> {
    return this.statements().deliveries.all(id).map(toDelivery);
  }

  async pending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.statements().pending.all(channel, afterSeq, checkLimit(limit)).map(toMessage);
  }

  async earlierPending(channel: string, orderingKey: string, beforeSeq: number, limit: number, destination?: string): Promise<StoredMessage[]> {
    const st = this.statements();
    checkLimit(limit);
    const rows =
      destination === undefined
        ? st.earlierInbound.all(channel, orderingKey, beforeSeq, limit)
        : st.earlierUndelivered.all(channel, destination, orderingKey, beforeSeq, limit);
    return rows.map(toMessage);
  }

  async inboundPending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    checkLimit(limit);
    return this.statements().inboundPending.all(channel, afterSeq, limit, channel, afterSeq, limit, limit).map(toMessage);
  }

  async openDeliveries(channel: string, afterSeq: number, afterDestination: string, limit: number): Promise<OpenDelivery[]> {
    checkLimit(limit);
    return this.statements().openDeliveries.all(channel, afterSeq, afterDestination, limit).map(toOpenDelivery);
  }

  async repairRouted(channel: string, destinations: readonly string[], afterSeq: number, limit: number): Promise<RepairPage> {
    checkDestinations(destinations);
    checkLimit(limit);
    const st = this.statements();
    return this.db!.transaction((): RepairPage => {
      const seqs = st.routedPage.all(channel, afterSeq, limit);
      if (seqs.length === 0) return { lastSeq: afterSeq, scanned: 0, settled: [] };
      const range = { channel, lo: seqs[0]!.seq, hi: seqs[seqs.length - 1]!.seq, dests: JSON.stringify(destinations) };
      st.repairOpen.run({ ...range, now: Date.now() });
      const settled = st.repairSettled.all(range).map((r) => r.id);
      return { lastSeq: range.hi, scanned: seqs.length, settled };
    }).immediate();
  }

  async list(channel: string, state: MessageState | undefined, limit: number): Promise<StoredMessage[]> {
    const st = this.statements();
    checkLimit(limit);
    if (state === undefined) return st.listAll.all(channel, limit).map(toMessage);
    checkState(state);
    return st.listState.all(channel, state, limit).map(toMessage);
  }

  async counts(channel: string): Promise<StoreCounts> {
    const out: StoreCounts = zeroCounts();
    for (const r of this.statements().counts.all(channel)) out[r.state] = r.n;
    return out;
  }

  async messageKeys(id: string): Promise<MessageKey[]> {
    return this.statements().keysOf.all(id).map((r) => ({ kind: r.kind, value: r.value }));
  }

  /**
   * One plan per kind of query, each bounded (docs/design.md "Operations console"): by key, by
   * control id, by a narrow date range (its seqs from messages_received, sorted), else by the
   * (channel, state) lines of messages_by_state merged newest first; a wide date range walks
   * those lines too, filtering on the row.
   */
  async searchMessages(q: MessageQuery): Promise<StoredMessage[]> {
    checkQuery(q);
    const st = this.statements();
    const limit = q.limit;
    if (limit === 0) return [];
    const before = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const from = q.from?.getTime() ?? null;
    const to = q.to?.getTime() ?? null;
    const channel = q.channel ?? null;
    const state = q.state ?? null;
    const keys = queryKeys(q);
    if (keys.length > 0) {
      // The key naming fewest messages leads; the others are checked per message.
      let lead = keys[0]!;
      if (keys.length > 1) {
        let best = Infinity;
        for (const k of keys) {
          const n = st.keyCount.get(k.kind, k.value, SEARCH_SCAN_CAP)!.n;
          if (n < best) (best = n), (lead = k);
        }
      }
      const others = keys.filter((k) => k !== lead);
      const out: StoredMessage[] = [];
      let cursor = before;
      // Pages of the lead key until `limit` messages pass every key.
      const pageSize = others.length ? Math.max(limit, 256) : limit;
      for (;;) {
        const page = st.searchByKey.all({ kind: lead.kind, value: lead.value, before: cursor, channel, state, from, to, control: q.controlId ?? null, limit: pageSize });
        for (const r of page) {
          if (others.every((k) => st.hasKey.get(Number(r.seq), k.kind, k.value))) out.push(toMessage(r));
          if (out.length === limit) return out;
        }
        if (page.length < pageSize) return out;
        cursor = Number(page[page.length - 1]!.seq);
      }
    }
    if (q.controlId !== undefined) {
      return st.searchByControl.all({ control: q.controlId, before, channel, state, from, to, limit }).map(toMessage);
    }
    const lines = st.channelsWith.all().filter((l) => (channel === null || l.channel === channel) && (state === null || l.state === state));
    if (from !== null || to !== null) {
      // Ordered by (received_at, channel, seq): the cursor continues after the message it names.
      const cursor = rangeCursor(q.beforeSeq, (seq) => st.cursorOf.get(seq));
      // The cursor's time bounds the walk too: the index range starts there, not at `to`.
      const range = { from: from ?? 0, to: Math.min(to ?? Number.MAX_SAFE_INTEGER, cursor.r + 1), ...cursor };
      const inState = state === null ? Infinity : lines.reduce((n, l) => n + l.n, 0);
      if (inState > SEARCH_SCAN_CAP) return st.searchRange.all({ ...range, channel, state, limit }).map(toMessage);
      // A state with few messages (dead, refused…) in a wide range: its lines hold fewer rows than the range.
      const found = lines.flatMap((l) => st.searchRangeLine.all({ ...range, channel: l.channel, state: l.state }));
      const page = found.sort(byRangeOrder).slice(0, limit).map((r) => Number(r.seq));
      if (page.length === 0) return [];
      const at = new Map(page.map((seq, i) => [seq, i]));
      return st.bySeqs.all(JSON.stringify(page)).map(toMessage).sort((a, b) => at.get(a.seq)! - at.get(b.seq)!);
    }
    // Every (channel, state) line that holds messages, newest first, merged.
    let seqs: number[] = [];
    for (const l of lines) {
      for (const r of st.searchLine.all({ channel: l.channel, state: l.state, before, from, to, limit })) seqs.push(r.seq);
    }
    seqs.sort((a, b) => b - a);
    seqs = seqs.slice(0, limit);
    return seqs.length === 0 ? [] : st.bySeqs.all(JSON.stringify(seqs)).map(toMessage);
  }

  async channelStats(channel: string, destinations: readonly string[], now: Date = new Date()): Promise<ChannelStats> {
    checkDestinations(destinations);
    const st = this.statements();
    const t = now.getTime();
    this.pruneActivity(t);
    const counts = await this.counts(channel);
    const received = windowCounts(st.activity.all(channel, '', Math.floor((t - 3_600_000) / ACTIVITY_BUCKET_MS)), t, ACTIVITY_BUCKET_MS);
    let oldest: number | null = null;
    for (const s of ['received', 'processing']) {
      const r = st.oldestInState.get(channel, s);
      if (r && (oldest === null || r.received_at < oldest)) oldest = r.received_at;
    }
    const out: DestinationStats[] = destinations.map((destination) => {
      const head = st.openHead.get(channel, destination);
      return {
        destination,
        open: st.openCount.get(channel, destination)!.n,
        oldestOpenAt: head && head.opened_at !== null ? new Date(head.opened_at) : null,
        dead: st.deadCount.get(channel, destination)?.dead ?? 0,
        delivered: windowCounts(st.activity.all(channel, destination, Math.floor((t - 3_600_000) / ACTIVITY_BUCKET_MS)), t, ACTIVITY_BUCKET_MS),
        lastFailures: st.lastFailures.all(channel, destination, LAST_FAILURES).map((f) => ({ messageId: f.message_id, state: f.state, detail: boundDetail(f.detail), at: new Date(f.at) })),
      };
    });
    return { counts, received, oldestInboundAt: oldest === null ? null : new Date(oldest), destinations: out };
  }

  async versionDeliveryStats(_now: Date = new Date()): Promise<VersionDeliveryStats[]> {
    const st = this.statements();
    const byKind = new Map<string, VersionDeliveryStats>();
    const kind = (k: string): VersionDeliveryStats => {
      let v = byKind.get(k);
      if (!v) byKind.set(k, (v = { kind: k, counts: {}, oldestQueuedAt: null, lastFailures: [] }));
      return v;
    };
    for (const r of st.vdCounts.all()) kind(r.kind).counts[r.state] = r.n;
    for (const r of st.vdOldestQueued.all()) kind(r.kind).oldestQueuedAt = new Date(r.at);
    const failures = VD_FAILURE_STATES.flatMap((s) => st.vdLastInState.all(s, LAST_FAILURES * 8)).sort((a, b) => Number(b.updated_at) - Number(a.updated_at));
    for (const f of failures) {
      const v = kind(targetKind(f.target));
      if (v.lastFailures.length < LAST_FAILURES) {
        v.lastFailures.push({ lab: f.lab, fillerOrder: f.filler_order, version: f.version, target: f.target, state: f.state as StoredVersionDelivery['state'], detail: boundDetail(f.detail), at: new Date(f.updated_at) });
      }
    }
    return [...byKind.values()].sort((a, b) => a.kind.localeCompare(b.kind));
  }

  async indicatorRows(from: Date, to: Date): Promise<IndicatorRow[]> {
    return this.statements().indicatorRows.all(from.getTime(), to.getTime()).map(indicatorRowOf);
  }

  /** Activity buckets older than two hours go, at most once a minute. */
  private pruneActivity(now: number): void {
    if (now - this.activityPrunedAt < 60_000) return;
    this.activityPrunedAt = now;
    this.statements().activityPrune.run(Math.floor((now - 2 * 3_600_000) / ACTIVITY_BUCKET_MS));
  }

  /**
   * Deletes terminal messages received AND last updated before `olderThan` (a message that died
   * yesterday after weeks of retries is kept as long as a fresh one), with their contents and
   * deliveries, PRUNE_CHUNK rows per transaction, yielding to the event loop between chunks so
   * queued receives commit in between.
   */
  async prune(olderThan: Date): Promise<number> {
    const cutoff = olderThan.getTime();
    if (Number.isNaN(cutoff)) throw new TypeError('prune: olderThan must be a valid Date');
    let total = 0;
    for (;;) {
      const st = this.statements();
      const n = this.db!.transaction(() => st.pruneChunk.run(cutoff, cutoff, PRUNE_CHUNK).changes).immediate();
      total += n;
      if (n < PRUNE_CHUNK) return total;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Walks the channel's refusals newest first, in pages of REFUSAL_PAGE rows (each a short read
   * on the event loop, yielding between pages), to the first row past the budget; then deletes
   * that row and every older one, PRUNE_CHUNK rows per transaction.
   */
  async pruneRefusals(channel: string, quota: RefusalQuota): Promise<number> {
    checkQuota(quota);
    let before = Number.MAX_SAFE_INTEGER;
    let count = 0;
    let bytes = 0;
    let cutoff = -1;
    walk: for (;;) {
      const rows = this.statements().refusalSizes.all(channel, before, REFUSAL_PAGE);
      for (const r of rows) {
        count++;
        bytes += r.size;
        if (count > quota.maxCount || bytes > quota.maxBytes) {
          cutoff = r.seq;
          break walk;
        }
      }
      if (rows.length < REFUSAL_PAGE) break;
      before = rows[rows.length - 1]!.seq;
      await new Promise<void>((r) => setImmediate(r));
    }
    if (cutoff < 0) return 0;
    let total = 0;
    for (;;) {
      const st = this.statements();
      const n = this.db!.transaction(() => {
        const k = st.refusalDeleteChunk.run(channel, cutoff, PRUNE_CHUNK).changes;
        if (k > 0) st.counterAdd.run(channel, REFUSALS_DROPPED, k);
        return k;
      }).immediate();
      total += n;
      if (n < PRUNE_CHUNK) return total;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  async refusalStats(channel: string): Promise<RefusalStats> {
    const st = this.statements();
    const t = st.refusalTotals.get(channel)!;
    return { count: t.n, bytes: t.b, dropped: st.counterGet.get(channel, REFUSALS_DROPPED)?.value ?? 0 };
  }

  async getReport(lab: string, fillerOrder: string): Promise<StoredReport | undefined> {
    const r = this.statements().reportGet.get(lab, fillerOrder);
    return r && { lab, fillerOrder, state: r.state, rowVersion: r.row_version, updatedAt: new Date(r.updated_at) };
  }

  async reportsByFillerOrder(fillerOrder: string): Promise<StoredReport[]> {
    return this.statements().reportsByFiller.all(fillerOrder).map((r) => ({ lab: r.lab, fillerOrder, state: r.state, rowVersion: r.row_version, updatedAt: new Date(r.updated_at) }));
  }

  async putReport(lab: string, fillerOrder: string, state: string, expectedVersion: number | null): Promise<boolean> {
    const st = this.statements();
    const now = Date.now();
    const done = expectedVersion === null ? st.reportInsert.run(lab, fillerOrder, state, now) : st.reportUpdate.run(state, now, lab, fillerOrder, expectedVersion);
    return done.changes === 1;
  }

  async reserveReportVersion(v: Omit<StoredReportVersion, 'written' | 'createdAt'> & { facts?: VersionFacts }, staleAfterMs: number): Promise<boolean> {
    const st = this.statements();
    const now = Date.now();
    const f = v.facts;
    const ins = f ? (f.insQualified ? 1 : 0) : null;
    return st.versionReserve.run(v.lab, v.fillerOrder, v.version, v.status, v.contentHash, v.revision, now, f?.finess ?? null, f?.rpps ?? null, ins, now - staleAfterMs).changes === 1;
  }

  async markReportVersionWritten(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.statements().versionWritten.run(lab, fillerOrder, version);
  }

  async releaseReportVersion(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.statements().versionRelease.run(lab, fillerOrder, version);
  }

  async reportVersions(lab: string, fillerOrder: string): Promise<StoredReportVersion[]> {
    return this.statements().versionList.all(lab, fillerOrder).map((r) => ({
      lab: r.lab,
      fillerOrder: r.filler_order,
      version: r.version,
      status: r.status as StoredReportVersion['status'],
      contentHash: r.content_hash,
      revision: r.revision,
      written: r.written === 1,
      createdAt: new Date(r.created_at),
    }));
  }

  async putVersionDelivery(d: Omit<StoredVersionDelivery, 'updatedAt'>): Promise<void> {
    this.statements().vdPut.run(d.lab, d.fillerOrder, d.version, d.target, d.state, d.detail, Date.now());
  }

  async versionDeliveries(lab: string, fillerOrder: string): Promise<StoredVersionDelivery[]> {
    return this.statements().vdList.all(lab, fillerOrder).map(versionDeliveryOf);
  }

  async findVersionDeliveries(f: { state?: StoredVersionDelivery['state']; fillerOrder?: string; limit: number }): Promise<StoredVersionDelivery[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.state) (where.push('state = ?'), args.push(f.state));
    if (f.fillerOrder) (where.push('filler_order = ?'), args.push(f.fillerOrder));
    const sql = `SELECT * FROM version_deliveries ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY updated_at DESC LIMIT ?`;
    this.statements(); // open
    return this.db!.prepare<(string | number)[], VersionDeliveryRow>(sql).all(...args, f.limit).map(versionDeliveryOf);
  }

  async queuedVersionDeliveries(limit: number, since = 0): Promise<StoredVersionDelivery[]> {
    return this.statements().vdQueued.all(since, limit).map(versionDeliveryOf);
  }

  async getOrder(key: string): Promise<StoredOrder | undefined> {
    const r = this.statements().orderGet.get(key);
    return r && { key, state: r.state, rowVersion: r.row_version, updatedAt: new Date(r.updated_at) };
  }

  async putOrder(key: string, state: string, expectedVersion: number | null): Promise<boolean> {
    const st = this.statements();
    const now = Date.now();
    return (expectedVersion === null ? st.orderInsert.run(key, state, now) : st.orderUpdate.run(state, now, key, expectedVersion)).changes === 1;
  }

  async linkOrder(ref: string, orderKey: string): Promise<string> {
    const st = this.statements();
    st.orderLink.run(ref, orderKey);
    return st.orderRef.get(ref)!.order_key;
  }

  async orderKeyOf(ref: string): Promise<string | undefined> {
    return this.statements().orderRef.get(ref)?.order_key;
  }

  async nextSequence(name: string): Promise<number> {
    return this.statements().sequenceNext.get(SEQUENCE_CHANNEL, name)!.value;
  }

  async retentionCandidates(channel: string, states: readonly RetentionState[], afterSeq: number, limit: number): Promise<RetentionCandidate[]> {
    checkRetentionStates(states);
    checkLimit(limit);
    const st = this.statements();
    this.pruneActivity(Date.now()); // also when no console reads the stats
    // Each state's line from the cursor, merged: the first `limit` by seq are exact.
    const rows = states.flatMap((state) => st.retentionLine.all(channel, state, afterSeq, limit)).sort((a, b) => a.seq - b.seq).slice(0, limit);
    return rows.map(retentionCandidateOf);
  }

  async deleteMessages(ids: readonly string[], states: readonly RetentionState[], olderThan: Date): Promise<number> {
    checkRetentionStates(states);
    if (ids.length === 0) return 0;
    const t = olderThan.getTime();
    if (Number.isNaN(t)) throw new TypeError('deleteMessages: olderThan must be a valid Date');
    this.statements();
    // The conditions are checked again in the delete itself: a message reprocessed since it was read stays.
    const sql = `DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND state IN (${sqlList(states)})
                   AND received_at < ? AND updated_at < ?
                   AND NOT EXISTS (SELECT 1 FROM open_deliveries o WHERE o.message_id = messages.id)`;
    return this.db!.transaction(() => this.db!.prepare(sql).run(JSON.stringify(ids), t, t).changes).immediate();
  }

  async trimMessages(ids: readonly string[], how: TrimRequest): Promise<number> {
    checkTrim(how);
    const st = this.statements();
    const t = how.olderThan.getTime();
    const at = new Date().toISOString();
    return this.db!.transaction(() => {
      let n = 0;
      for (const id of ids) {
        const row = st.trimRead.get(id);
        if (!row || !(how.states as readonly string[]).includes(row.state) || row.updated_at >= t) continue;
        const names = st.contentNames.all(id).map((c) => c.name);
        const plan = trimPlan(row.raw, names, how, at, st.getContent.get(id, RETENTION_NOTE)?.data);
        if (!plan) continue;
        st.trimRaw.run(plan.raw, id);
        st.contentsDrop.run(id, RETENTION_NOTE);
        st.putContent.run(id, RETENTION_NOTE, plan.note);
        n++;
      }
      return n;
    }).immediate();
  }

  async refreshPatientActivity(limit: number): Promise<number> {
    checkLimit(limit);
    const st = this.statements();
    return this.db!.transaction(() => {
      const mark = st.markGet.get(PATIENTS_MARK) ?? { at: -1, lab: '', filler_order: '' };
      const rows = st.reportsChanged.all(mark.at, mark.lab, mark.filler_order, limit);
      for (const r of rows) {
        st.reportPatientsDrop.run(r.lab, r.filler_order);
        for (const p of patientIdsOf(r.patient)) {
          st.reportPatientAdd.run(r.lab, r.filler_order, p);
          st.patientSeen.run(p, r.updated_at);
        }
      }
      const last = rows[rows.length - 1];
      if (last) st.markSet.run(PATIENTS_MARK, last.updated_at, last.lab, last.filler_order);
      return rows.length;
    }).immediate();
  }

  async inactiveReports(before: Date, which: 'unarchived' | 'any', after: ReportCursor | undefined, limit: number): Promise<{ reports: ReportActivity[]; next: ReportCursor | undefined }> {
    checkLimit(limit);
    const rows = this.statements().oldReports.all({ before: before.getTime(), at: after ? after.updatedAt.getTime() : -1, lab: after?.lab ?? '', filler: after?.fillerOrder ?? '', limit });
    const all = rows.map((r): ReportActivity => ({
      lab: r.lab, fillerOrder: r.filler_order, updatedAt: new Date(r.updated_at), lastActivity: new Date(r.last), versions: r.versions,
      archivedAt: r.archived_at === null ? null : new Date(r.archived_at),
    }));
    const last = all[all.length - 1];
    return {
      reports: all.filter((r) => r.lastActivity.getTime() < before.getTime() && (which === 'any' || r.archivedAt === null)),
      next: rows.length === limit && last ? { updatedAt: last.updatedAt, lab: last.lab, fillerOrder: last.fillerOrder } : undefined,
    };
  }

  async markReportArchived(lab: string, fillerOrder: string, at: Date): Promise<void> {
    this.statements().archiveMark.run(lab, fillerOrder, at.getTime());
  }

  async purgeReport(lab: string, fillerOrder: string): Promise<void> {
    const st = this.statements();
    this.db!.transaction(() => {
      for (const s of st.purgeStatements) s.run(lab, fillerOrder);
    }).immediate();
  }

  private statements(): Statements {
    if (this.closed) throw new Error('SqliteStore: closed');
    if (!this.st) throw new Error('SqliteStore: init() has not been called');
    return this.st;
  }
}

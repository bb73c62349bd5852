/**
 * The SQLite store's tables, indexes and triggers, and what an older database file gets at
 * init(): applySchema creates whatever is missing, in one transaction.
 */
import type Database from 'better-sqlite3';
import { INBOUND_SQL, TERMINAL_SQL } from './common';
import { ACTIVITY_BUCKET_MS } from './sqlite-intake';
import { DIRECTORY_SCHEMA } from './sqlite-directory';

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
export const VD_KIND = (t: string): string => `CASE WHEN instr(${t}.target, ':') > 0 THEN substr(${t}.target, 1, instr(${t}.target, ':') - 1) ELSE ${t}.target END`;
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

/** Creates what is missing and brings an older file up to date; the write lock is taken up front (IMMEDIATE). */
export function applySchema(db: Database.Database): void {
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
    db.exec(DIRECTORY_SCHEMA);
    const have = new Set(db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('report_versions')`).all().map((c) => c.name));
    for (const [name, type] of REPORT_VERSION_FACTS) if (!have.has(name)) db.exec(`ALTER TABLE report_versions ADD COLUMN ${name} ${type}`);
  }).immediate();
}

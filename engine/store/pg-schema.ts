/**
 * The PostgreSQL store's tables, indexes and triggers: applySchema creates whatever is missing
 * and brings an older database up to date, in the transaction init() runs it in.
 */
import type { PoolClient } from 'pg';
import { TERMINAL_STATES } from './types';
import { INBOUND_SQL, TERMINAL_SQL } from './common';
import type { PgTables } from './pg-context';
import { applyDirectorySchema } from './pg-directory';

export async function applySchema(c: PoolClient, schema: string, t: PgTables): Promise<void> {
  const { messages, contents, deliveries, open } = t;
  // Concurrent CREATE ... IF NOT EXISTS from several processes can still collide: serialise.
  await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`passerelle.store.init:${schema}`]);
  await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${messages} (
          seq          BIGSERIAL   PRIMARY KEY,
          id           TEXT        NOT NULL UNIQUE,
          channel      TEXT        NOT NULL,
          control_id   TEXT        NOT NULL,
          sender       TEXT        NOT NULL,
          message_type TEXT        NOT NULL,
          ordering_key TEXT        NOT NULL,
          charset      TEXT        NOT NULL,
          received_at  TIMESTAMPTZ NOT NULL,
          state        TEXT        NOT NULL,
          reason       TEXT,
          updated_at   TIMESTAMPTZ NOT NULL,
          ack          BYTEA       NOT NULL,
          raw          BYTEA       NOT NULL
        )`);
  // control_id first: the dedupe look-up names all three columns, the console's search by
  // control id only this one (it replaced messages_dedupe, which began with channel).
  await c.query(`DROP INDEX IF EXISTS "${schema}".messages_dedupe`);
  await c.query(`CREATE INDEX IF NOT EXISTS messages_control ON ${messages} (control_id, channel, sender, received_at)`);
  // Date range searches (in this order, seq included) and the console's received counts.
  await c.query(`CREATE INDEX IF NOT EXISTS messages_received ON ${messages} (received_at, channel, seq)`);
  // Partial indexes over the terminal states are made again when that list changed (a state
  // was added): the planner only uses one whose predicate implies the query's.
  for (const name of ['messages_pending', 'messages_prunable']) {
    const def = await c.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, name]);
    const have = def.rows[0]?.indexdef;
    if (have !== undefined && !TERMINAL_STATES.every((st) => have.includes(`'${st}'`))) await c.query(`DROP INDEX "${schema}".${name}`);
  }
  await c.query(
    `CREATE INDEX IF NOT EXISTS messages_pending ON ${messages} (channel, seq) WHERE state NOT IN (${TERMINAL_SQL})`,
  );
  await c.query(`CREATE INDEX IF NOT EXISTS messages_by_state ON ${messages} (channel, state, seq)`);
  // messages_key_open (earlier versions) held every non-terminal message of a key; see sqlite-schema.ts.
  await c.query(`DROP INDEX IF EXISTS "${schema}".messages_key_open`);
  await c.query(`CREATE INDEX IF NOT EXISTS messages_key_inbound ON ${messages} (channel, ordering_key, seq) WHERE state IN (${INBOUND_SQL})`);
  await c.query(
    `CREATE INDEX IF NOT EXISTS messages_prunable ON ${messages} (received_at) WHERE state IN (${TERMINAL_SQL})`,
  );
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${contents} (
          message_id TEXT  NOT NULL REFERENCES ${messages} (id) ON DELETE CASCADE,
          name       TEXT  NOT NULL,
          data       BYTEA NOT NULL,
          PRIMARY KEY (message_id, name)
        )`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${deliveries} (
          message_id  TEXT        NOT NULL REFERENCES ${messages} (id) ON DELETE CASCADE,
          destination TEXT        NOT NULL,
          state       TEXT        NOT NULL,
          attempts    INTEGER     NOT NULL,
          detail      TEXT,
          updated_at  TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (message_id, destination)
        )`);
  // Open deliveries (types.ts OpenDelivery); older databases get their rows from repairRouted.
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${open} (
          message_id   TEXT        NOT NULL REFERENCES ${messages} (id) ON DELETE CASCADE,
          destination  TEXT        NOT NULL,
          channel      TEXT        NOT NULL,
          ordering_key TEXT        NOT NULL,
          seq          BIGINT      NOT NULL,
          opened_at    TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (message_id, destination)
        )`);
  await c.query(`CREATE INDEX IF NOT EXISTS open_deliveries_line ON ${open} (channel, destination, ordering_key, seq)`);
  await c.query(`CREATE INDEX IF NOT EXISTS open_deliveries_by_seq ON ${open} (channel, seq, destination)`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${t.counters} (
          channel TEXT   NOT NULL,
          name    TEXT   NOT NULL,
          value   BIGINT NOT NULL,
          PRIMARY KEY (channel, name)
        )`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${t.reports} (
          lab          TEXT        NOT NULL,
          filler_order TEXT        NOT NULL,
          state        TEXT        NOT NULL,
          row_version  BIGINT      NOT NULL,
          updated_at   TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (lab, filler_order)
        )`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${t.versions} (
          lab          TEXT        NOT NULL,
          filler_order TEXT        NOT NULL,
          version      INTEGER     NOT NULL,
          status       TEXT        NOT NULL,
          content_hash TEXT        NOT NULL,
          revision     INTEGER     NOT NULL,
          written      BOOLEAN     NOT NULL,
          created_at   TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (lab, filler_order, version)
        )`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${t.orders} (
          order_key   TEXT        NOT NULL PRIMARY KEY,
          state       TEXT        NOT NULL,
          row_version BIGINT      NOT NULL,
          updated_at  TIMESTAMPTZ NOT NULL
        )`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${t.orderRefs} (
          ref       TEXT NOT NULL PRIMARY KEY,
          order_key TEXT NOT NULL
        )`);
  await c.query(`
        CREATE TABLE IF NOT EXISTS ${t.vd} (
          lab          TEXT        NOT NULL,
          filler_order TEXT        NOT NULL,
          version      INTEGER     NOT NULL,
          target       TEXT        NOT NULL,
          state        TEXT        NOT NULL,
          detail       TEXT,
          updated_at   TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (lab, filler_order, version, target)
        )`);
  await c.query(`CREATE INDEX IF NOT EXISTS version_deliveries_queued ON ${t.vd} (state, updated_at)`);
  await applyConsoleSchema(c, schema, t);
}

/**
 * The operations console's tables (see the SQLite store): search keys deleted with their
 * message; the facts of report versions; the last failures of each destination and the
 * version deliveries per (target kind, state), kept by triggers (rare writes, so no hot row).
 * Message counts and activity are counted by queries on indexes: a counter row updated by
 * every intake transaction would serialise the processes' commits.
 */
async function applyConsoleSchema(c: PoolClient, schema: string, t: PgTables): Promise<void> {
  const { messages, deliveries, keys, failures, vdCounts, vd, versions } = t;
  const fn = (name: string): string => `"${schema}".${name}`;
  await c.query(`
      CREATE TABLE IF NOT EXISTS ${keys} (
        seq   BIGINT NOT NULL REFERENCES ${messages} (seq) ON DELETE CASCADE,
        kind  TEXT   NOT NULL,
        value TEXT   NOT NULL,
        PRIMARY KEY (seq, kind, value)
      )`);
  await c.query(`CREATE INDEX IF NOT EXISTS message_keys_lookup ON ${keys} (kind, value, seq)`);
  // Dead counts and delivered per minute of a destination.
  await c.query(`CREATE INDEX IF NOT EXISTS deliveries_by_state ON ${deliveries} (destination, state, updated_at)`);
  for (const col of ['finess TEXT', 'rpps TEXT', 'ins_qualified BOOLEAN']) await c.query(`ALTER TABLE ${versions} ADD COLUMN IF NOT EXISTS ${col}`);
  await c.query(`
      CREATE TABLE IF NOT EXISTS ${failures} (
        id          BIGSERIAL   PRIMARY KEY,
        channel     TEXT        NOT NULL,
        destination TEXT        NOT NULL,
        message_id  TEXT        NOT NULL,
        state       TEXT        NOT NULL,
        detail      TEXT,
        at          TIMESTAMPTZ NOT NULL
      )`);
  await c.query(`CREATE INDEX IF NOT EXISTS delivery_failures_line ON ${failures} (channel, destination, id)`);
  await c.query(`
      CREATE OR REPLACE FUNCTION ${fn('delivery_failure_log')}() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE ch TEXT;
      BEGIN
        -- A failed attempt (retrying) or a death; a reprocess reopening it is not a failure.
        IF (NEW.state = 'dead' AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'dead'))
           OR (NEW.state = 'pending' AND NEW.attempts > (CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.attempts END)) THEN
          SELECT channel INTO ch FROM ${messages} WHERE id = NEW.message_id;
          INSERT INTO ${failures} (channel, destination, message_id, state, detail, at)
            VALUES (ch, NEW.destination, NEW.message_id, NEW.state, left(NEW.detail, 500), NEW.updated_at);
          -- The last 20 of each destination are kept.
          DELETE FROM ${failures}
           WHERE channel = ch AND destination = NEW.destination
             AND id <= (SELECT id FROM ${failures} WHERE channel = ch AND destination = NEW.destination ORDER BY id DESC OFFSET 20 LIMIT 1);
        END IF;
        RETURN NULL;
      END $$`);
  await c.query(`DROP TRIGGER IF EXISTS deliveries_failure_log ON ${deliveries}`);
  await c.query(`CREATE TRIGGER deliveries_failure_log AFTER INSERT OR UPDATE ON ${deliveries} FOR EACH ROW EXECUTE FUNCTION ${fn('delivery_failure_log')}()`);
  const hadCounts = (await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`"${schema}".version_delivery_counts`])).rows[0]?.t != null;
  await c.query(`
      CREATE TABLE IF NOT EXISTS ${vdCounts} (
        kind  TEXT   NOT NULL,
        state TEXT   NOT NULL,
        n     BIGINT NOT NULL,
        PRIMARY KEY (kind, state)
      )`);
  await c.query(`
      CREATE OR REPLACE FUNCTION ${fn('version_delivery_count')}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
          UPDATE ${vdCounts} SET n = n - 1 WHERE kind = split_part(OLD.target, ':', 1) AND state = OLD.state;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
          INSERT INTO ${vdCounts} AS k (kind, state, n) VALUES (split_part(NEW.target, ':', 1), NEW.state, 1)
            ON CONFLICT (kind, state) DO UPDATE SET n = k.n + 1;
        END IF;
        RETURN NULL;
      END $$`);
  await c.query(`DROP TRIGGER IF EXISTS version_deliveries_count ON ${vd}`);
  await c.query(`CREATE TRIGGER version_deliveries_count AFTER INSERT OR DELETE ON ${vd} FOR EACH ROW EXECUTE FUNCTION ${fn('version_delivery_count')}()`);
  await c.query(`DROP TRIGGER IF EXISTS version_deliveries_count_state ON ${vd}`);
  await c.query(`CREATE TRIGGER version_deliveries_count_state AFTER UPDATE OF state ON ${vd} FOR EACH ROW
                   WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION ${fn('version_delivery_count')}()`);
  if (!hadCounts) {
    await c.query(`INSERT INTO ${vdCounts} (kind, state, n) SELECT split_part(target, ':', 1), state, count(*) FROM ${vd} GROUP BY 1, 2`);
  }
  // Retention (see RETENTION_SCHEMA in sqlite-schema.ts).
  const { reports, reportPatients, patientActivity, reportArchive, marks } = t;
  await c.query(`CREATE INDEX IF NOT EXISTS reports_updated ON ${reports} (updated_at, lab, filler_order)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${reportPatients} (lab TEXT NOT NULL, filler_order TEXT NOT NULL, patient TEXT NOT NULL, PRIMARY KEY (lab, filler_order, patient))`);
  await c.query(`CREATE INDEX IF NOT EXISTS report_patients_patient ON ${reportPatients} (patient)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${patientActivity} (patient TEXT NOT NULL PRIMARY KEY, last_at TIMESTAMPTZ NOT NULL)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${reportArchive} (lab TEXT NOT NULL, filler_order TEXT NOT NULL, archived_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (lab, filler_order))`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${marks} (name TEXT NOT NULL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, lab TEXT NOT NULL, filler_order TEXT NOT NULL)`);
  // The RPPS / MSSanté directory (pg-directory.ts).
  await applyDirectorySchema(c, schema);
}

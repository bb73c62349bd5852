/**
 * PostgreSQL message store, for several engine processes (on several hosts) sharing one database.
 *
 * Durability: a commit returns only once PostgreSQL reports it durable. That is the server's
 * default (`synchronous_commit = on`, or a stronger replication setting, which is kept). If the
 * server or role runs with `synchronous_commit = off`, `receive()` switches it back on for its
 * own transactions (SET LOCAL), because the ACK must never get ahead of the data.
 *
 * Dedupe is race-free between processes: a receive that takes part in dedupe runs in a
 * transaction that first takes a transaction-scoped advisory lock on a 64-bit hash of
 * (schema, channel, sender, controlId), then looks for a duplicate, then inserts. Two
 * processes inserting the same key at once serialise on the lock; the second one's look-up
 * runs in a fresh snapshot (READ COMMITTED, new statement) taken after the first committed,
 * so it sees the first row. A hash collision only serialises two unrelated keys.
 *
 * Group commit (group-commit.ts): one intake transaction in flight per handle; the receives
 * made meanwhile go together in the next one, sent as ONE query (pg-intake-group.ts). A group
 * that PostgreSQL refuses for a value (data or constraint error) is written again message by
 * message, so one bad message fails alone.
 */
import { DatabaseError, Pool, type PoolClient, type PoolConfig } from 'pg';
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
  IndicatorRow,
  MessageKey,
  MessageQuery,
  VersionDeliveryStats,
  VersionFacts,
} from './types';
import { RETENTION_NOTE, TERMINAL_STATES } from './types';
import type { ReportActivity, ReportCursor, RetentionCandidate, RetentionState, TrimRequest } from './types';
import { PATIENTS_MARK, checkRetentionStates, checkTrim, patientIdsOf, retentionCandidateOf, trimPlan, type RetentionDbRow } from './retention-common';
import { GroupCommit, type ItemOutcome } from './group-commit';
import { groupQuery, groupResults, literalSafe, lockKey, type PgIntakeItem } from './pg-intake-group';
import {
  PRUNE_CHUNK,
  REFUSALS_DROPPED,
  checkQuota,
  refusalVictimsSql,
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
  boundDetail,
  targetKind,
  LAST_FAILURES,
  VD_FAILURE_STATES,
  indicatorRowOf,
  type IndicatorDbRow,
} from './common';
import { guardStoreErrors } from './transient';

/** receive() codes its own failures (PSL_STORE_UNAVAILABLE); init/close run at start and stop. */
const UNGUARDED = ['receive', 'init', 'close'];

export interface PgStoreOptions {
  connectionString: string;
  /** Schema holding the tables; created by init(). Default 'passerelle'. */
  schema?: string;
  /** Maximum connections of this process's pool. Default 10. */
  poolSize?: number;
}






function isForeignKeyError(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { code?: unknown }).code === '23503';
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export class PgStore implements MessageStore {
  private readonly pool: Pool;
  private readonly schema: string;
  /** Qualified table names. */
  private readonly t: {
    messages: string; contents: string; deliveries: string; open: string; counters: string; reports: string; versions: string; orders: string; orderRefs: string; vd: string;
    keys: string; failures: string; vdCounts: string;
    reportPatients: string; patientActivity: string; reportArchive: string; marks: string;
  };
  private forceSyncCommit = false;
  private readonly group = new GroupCommit<PgIntakeItem, ReceiveResult>((items) => this.commitGroup(items), {
    maxItems: 256,
    maxBytes: 4 << 20, // twice that as hex literals in the query text
    sizeOf: (i) => i.msg.raw.length + i.msg.ack.length,
  });
  private initialised = false;
  private closed = false;

  constructor(options: PgStoreOptions) {
    if (!options || typeof options.connectionString !== 'string' || options.connectionString === '') {
      throw new TypeError('PgStore: options.connectionString is required');
    }
    const schema = options.schema ?? 'passerelle';
    if (!SCHEMA_NAME.test(schema)) throw new TypeError(`PgStore: invalid schema name ${JSON.stringify(schema)}`);
    this.schema = schema;
    const q = `"${schema}"`;
    this.t = { messages: `${q}.messages`, contents: `${q}.contents`, deliveries: `${q}.deliveries`, open: `${q}.open_deliveries`, counters: `${q}.counters`, reports: `${q}.reports`, versions: `${q}.report_versions`, orders: `${q}.orders`, orderRefs: `${q}.order_refs`, vd: `${q}.version_deliveries`,
      keys: `${q}.message_keys`, failures: `${q}.delivery_failures`, vdCounts: `${q}.version_delivery_counts`,
      reportPatients: `${q}.report_patients`, patientActivity: `${q}.patient_activity`, reportArchive: `${q}.report_archive`, marks: `${q}.retention_marks` };
    const config: PoolConfig = {
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      application_name: 'passerelle',
    };
    this.pool = new Pool(config);
    // An idle connection dropped by the server must not crash the process; the next query
    // on the pool reports the problem to its caller.
    this.pool.on('error', () => undefined);
    // Faults that pass (lost connection, busy, closing) surface as PSL_STORE_TRANSIENT, retried.
    return guardStoreErrors(this, UNGUARDED);
  }

  async init(): Promise<void> {
    this.checkOpen();
    const { messages, contents, deliveries, open } = this.t;
    await this.inTransaction(async (c) => {
      // Concurrent CREATE ... IF NOT EXISTS from several processes can still collide: serialise.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`passerelle.store.init:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
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
      await c.query(`DROP INDEX IF EXISTS "${this.schema}".messages_dedupe`);
      await c.query(`CREATE INDEX IF NOT EXISTS messages_control ON ${messages} (control_id, channel, sender, received_at)`);
      // Date range searches (in this order, seq included) and the console's received counts.
      await c.query(`CREATE INDEX IF NOT EXISTS messages_received ON ${messages} (received_at, channel, seq)`);
      // Partial indexes over the terminal states are made again when that list changed (a state
      // was added): the planner only uses one whose predicate implies the query's.
      for (const name of ['messages_pending', 'messages_prunable']) {
        const def = await c.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [this.schema, name]);
        const have = def.rows[0]?.indexdef;
        if (have !== undefined && !TERMINAL_STATES.every((st) => have.includes(`'${st}'`))) await c.query(`DROP INDEX "${this.schema}".${name}`);
      }
      await c.query(
        `CREATE INDEX IF NOT EXISTS messages_pending ON ${messages} (channel, seq) WHERE state NOT IN (${TERMINAL_SQL})`,
      );
      await c.query(`CREATE INDEX IF NOT EXISTS messages_by_state ON ${messages} (channel, state, seq)`);
      // messages_key_open (earlier versions) held every non-terminal message of a key; see sqlite.ts.
      await c.query(`DROP INDEX IF EXISTS "${this.schema}".messages_key_open`);
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
        CREATE TABLE IF NOT EXISTS ${this.t.counters} (
          channel TEXT   NOT NULL,
          name    TEXT   NOT NULL,
          value   BIGINT NOT NULL,
          PRIMARY KEY (channel, name)
        )`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t.reports} (
          lab          TEXT        NOT NULL,
          filler_order TEXT        NOT NULL,
          state        TEXT        NOT NULL,
          row_version  BIGINT      NOT NULL,
          updated_at   TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (lab, filler_order)
        )`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t.versions} (
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
        CREATE TABLE IF NOT EXISTS ${this.t.orders} (
          order_key   TEXT        NOT NULL PRIMARY KEY,
          state       TEXT        NOT NULL,
          row_version BIGINT      NOT NULL,
          updated_at  TIMESTAMPTZ NOT NULL
        )`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t.orderRefs} (
          ref       TEXT NOT NULL PRIMARY KEY,
          order_key TEXT NOT NULL
        )`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t.vd} (
          lab          TEXT        NOT NULL,
          filler_order TEXT        NOT NULL,
          version      INTEGER     NOT NULL,
          target       TEXT        NOT NULL,
          state        TEXT        NOT NULL,
          detail       TEXT,
          updated_at   TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (lab, filler_order, version, target)
        )`);
      await c.query(`CREATE INDEX IF NOT EXISTS version_deliveries_queued ON ${this.t.vd} (state, updated_at)`);
      await this.initConsole(c);
      const sc = await c.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      this.forceSyncCommit = sc.rows[0]?.synchronous_commit === 'off';
    });
    this.initialised = true;
  }

  /**
   * The operations console's tables (see the SQLite store): search keys deleted with their
   * message; the facts of report versions; the last failures of each destination and the
   * version deliveries per (target kind, state), kept by triggers (rare writes, so no hot row).
   * Message counts and activity are counted by queries on indexes: a counter row updated by
   * every intake transaction would serialise the processes' commits.
   */
  private async initConsole(c: PoolClient): Promise<void> {
    const { messages, deliveries, keys, failures, vdCounts, vd, versions } = this.t;
    const fn = (name: string): string => `"${this.schema}".${name}`;
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
    const hadCounts = (await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`"${this.schema}".version_delivery_counts`])).rows[0]?.t != null;
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
    // Retention (see the SQLite store's RETENTION_SCHEMA).
    const { reports, reportPatients, patientActivity, reportArchive, marks } = this.t;
    await c.query(`CREATE INDEX IF NOT EXISTS reports_updated ON ${reports} (updated_at, lab, filler_order)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${reportPatients} (lab TEXT NOT NULL, filler_order TEXT NOT NULL, patient TEXT NOT NULL, PRIMARY KEY (lab, filler_order, patient))`);
    await c.query(`CREATE INDEX IF NOT EXISTS report_patients_patient ON ${reportPatients} (patient)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${patientActivity} (patient TEXT NOT NULL PRIMARY KEY, last_at TIMESTAMPTZ NOT NULL)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${reportArchive} (lab TEXT NOT NULL, filler_order TEXT NOT NULL, archived_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (lab, filler_order))`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${marks} (name TEXT NOT NULL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, lab TEXT NOT NULL, filler_order TEXT NOT NULL)`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.group.drain(); // commit what was already asked for
    await this.pool.end();
  }

  /** Intake transactions committed by this handle (each holds one group of receives). */
  get intakeGroups(): number {
    return this.group.groups;
  }

  async receive(msg: InboundMessage, dedupeWindowMs: number): Promise<ReceiveResult> {
    checkInbound(msg, dedupeWindowMs);
    this.checkReady();
    return this.group.submit({ id: newMessageId(), msg, windowMs: dedupeWindowMs, keys: normaliseKeys(msg.keys) });
  }

  /** One group, one transaction, one round trip (pg-intake-group.ts). */
  private async commitGroup(items: PgIntakeItem[]): Promise<ItemOutcome<ReceiveResult>[]> {
    if (!literalSafe(items)) return this.commitOneByOne(items);
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw storeUnavailable(e);
    }
    const q = groupQuery(this.schema, this.t.messages, items, this.forceSyncCommit, this.t.keys);
    try {
      const results = (await c.query(q.sql)) as unknown as { rows: { id: string; ack: Buffer }[] }[];
      c.release();
      return groupResults(items, q, results).map((value) => ({ ok: true, value }));
    } catch (e) {
      let broken: unknown;
      try {
        await c.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError; // the connection is unusable: do not give it back to the pool
      }
      c.release(broken instanceof Error ? broken : undefined);
      // A statement PostgreSQL refused (a value, a constraint, a trigger): find it, alone.
      // The connection or the server failing (no SQLSTATE, or classes 08, 53, 57, 58, XX)
      // fails the group: retrying each message would only multiply the wait.
      const code = (e as { code?: unknown }).code;
      if (e instanceof DatabaseError && typeof code === 'string' && !/^(08|53|57|58|XX)/.test(code)) return this.commitOneByOne(items);
      throw storeUnavailable(e);
    }
  }

  private async commitOneByOne(items: PgIntakeItem[]): Promise<ItemOutcome<ReceiveResult>[]> {
    const out: ItemOutcome<ReceiveResult>[] = [];
    for (const i of items) {
      try {
        out.push({ ok: true, value: await this.receiveOne(i.msg, i.windowMs, i.id, i.keys) });
      } catch (error) {
        out.push({ ok: false, error });
      }
    }
    return out;
  }

  /** One message in its own transaction, with parameters (the fallback of a group that failed). */
  private async receiveOne(msg: InboundMessage, dedupeWindowMs: number, id: string, keys: MessageKey[]): Promise<ReceiveResult> {
    const withDedupe = dedupes(msg, dedupeWindowMs);
    try {
      if (!withDedupe && !this.forceSyncCommit) {
        // One statement, one implicit transaction: durable when the query returns.
        await this.insert(this.pool, msg, id, keys);
        return { duplicate: false, id };
      }
      return await this.inTransaction(async (c) => {
        if (this.forceSyncCommit) await c.query('SET LOCAL synchronous_commit TO on');
        if (withDedupe) {
          await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey(this.schema, msg)]);
          const dup = await c.query<{ id: string; ack: Buffer }>(
            `SELECT id, ack FROM ${this.t.messages}
              WHERE channel = $1 AND sender = $2 AND control_id = $3 AND received_at >= $4 AND state <> 'refused'
              ORDER BY received_at DESC, seq DESC LIMIT 1`,
            [msg.channel, msg.sender, msg.controlId, new Date(msg.receivedAt.getTime() - dedupeWindowMs)],
          );
          const row = dup.rows[0];
          if (row) return { duplicate: true, id: row.id, ack: row.ack };
        }
        await this.insert(c, msg, id, keys);
        return { duplicate: false, id };
      });
    } catch (e) {
      throw storeUnavailable(e);
    }
  }

  /** The message and its keys in one statement (so in one transaction). */
  private async insert(c: Pool | PoolClient, msg: InboundMessage, id: string, keys: MessageKey[]): Promise<void> {
    await c.query(
      `WITH ins AS (
         INSERT INTO ${this.t.messages} (id, channel, control_id, sender, message_type, ordering_key, charset,
                                         received_at, state, reason, updated_at, ack, raw)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11, $12) RETURNING seq)
       INSERT INTO ${this.t.keys} (seq, kind, value) SELECT ins.seq, k.kind, k.value FROM ins CROSS JOIN unnest($13::text[], $14::text[]) AS k(kind, value)`,
      [
        id,
        msg.channel,
        msg.controlId,
        msg.sender,
        msg.messageType,
        msg.orderingKey,
        msg.charset,
        msg.receivedAt,
        msg.state,
        msg.reason ?? null,
        msg.ack,
        msg.raw,
        keys.map((k) => k.kind),
        keys.map((k) => k.value),
      ],
    );
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    this.checkReady();
    const r = await this.pool.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM ${this.t.messages} WHERE id = $1`, [id]);
    return r.rows[0] ? toMessage(r.rows[0]) : undefined;
  }

  async raw(id: string): Promise<Buffer | undefined> {
    this.checkReady();
    const r = await this.pool.query<{ raw: Buffer }>(`SELECT raw FROM ${this.t.messages} WHERE id = $1`, [id]);
    return r.rows[0]?.raw;
  }

  async setState(id: string, state: MessageState, reason?: string | null): Promise<void> {
    checkState(state);
    this.checkReady();
    const r =
      reason === undefined
        ? await this.pool.query(`UPDATE ${this.t.messages} SET state = $1, updated_at = now() WHERE id = $2`, [state, id])
        : await this.pool.query(`UPDATE ${this.t.messages} SET state = $1, reason = $2, updated_at = now() WHERE id = $3`, [
            state,
            reason,
            id,
          ]);
    if (r.rowCount === 0) throw messageMissing(id);
  }

  async putContent(id: string, name: string, data: Buffer): Promise<void> {
    if (!Buffer.isBuffer(data)) throw new TypeError('putContent: data must be a Buffer');
    this.checkReady();
    try {
      await this.pool.query(
        `INSERT INTO ${this.t.contents} (message_id, name, data) VALUES ($1, $2, $3)
         ON CONFLICT (message_id, name) DO UPDATE SET data = EXCLUDED.data`,
        [id, name, data],
      );
    } catch (e) {
      if (isForeignKeyError(e)) throw messageMissing(id, e);
      throw e;
    }
  }

  async getContent(id: string, name: string): Promise<Buffer | undefined> {
    this.checkReady();
    const r = await this.pool.query<{ data: Buffer }>(
      `SELECT data FROM ${this.t.contents} WHERE message_id = $1 AND name = $2`,
      [id, name],
    );
    return r.rows[0]?.data;
  }

  async setDelivery(
    id: string,
    destination: string,
    state: DeliveryState,
    detail?: string | null,
    attempt?: boolean,
  ): Promise<void> {
    checkDeliveryState(state);
    this.checkReady();
    const { deliveries: d, open, messages } = this.t;
    try {
      // One statement: the delivery row and its open row change together.
      await this.pool.query(
        `WITH up AS (
           INSERT INTO ${d} AS d (message_id, destination, state, attempts, detail, updated_at)
           VALUES ($1, $2, $3, $4, $5, now())
           ON CONFLICT (message_id, destination) DO UPDATE SET
             state = EXCLUDED.state,
             attempts = d.attempts + EXCLUDED.attempts,
             detail = CASE WHEN $6::boolean THEN d.detail ELSE EXCLUDED.detail END,
             updated_at = EXCLUDED.updated_at
           RETURNING 1),
         reopened AS (
           INSERT INTO ${open} (${OPEN_COLUMNS})
           SELECT id, $2, channel, ordering_key, seq, now() FROM ${messages} WHERE id = $1 AND $3 = 'pending'
           ON CONFLICT DO NOTHING RETURNING 1),
         closed AS (DELETE FROM ${open} WHERE message_id = $1 AND destination = $2 AND $3 <> 'pending' RETURNING 1)
         SELECT (SELECT count(*) FROM up) AS n`,
        [id, destination, state, attempt ? 1 : 0, detail ?? null, detail === undefined],
      );
    } catch (e) {
      if (isForeignKeyError(e)) throw messageMissing(id, e);
      throw e;
    }
  }

  async route(id: string, destinations: readonly string[]): Promise<void> {
    checkDestinations(destinations);
    this.checkReady();
    const { messages, open, deliveries } = this.t;
    const r = await this.pool.query<{ n: number }>(
      `WITH u AS (
         UPDATE ${messages} SET state = 'routed', updated_at = now() WHERE id = $1 RETURNING id, channel, ordering_key, seq),
       opened AS (
         INSERT INTO ${open} (${OPEN_COLUMNS})
         SELECT u.id, d.dest, u.channel, u.ordering_key, u.seq, now() FROM u CROSS JOIN unnest($2::text[]) AS d(dest)
          WHERE NOT EXISTS (SELECT 1 FROM ${deliveries} x WHERE x.message_id = u.id AND x.destination = d.dest AND x.state IN (${FINAL_DELIVERY_SQL}))
         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT count(*)::int AS n FROM u`,
      [id, [...destinations]],
    );
    if (r.rows[0]?.n !== 1) throw messageMissing(id);
  }

  async getDelivery(id: string, destination: string): Promise<DeliveryRecord | undefined> {
    this.checkReady();
    const r = await this.pool.query<DeliveryRow>(
      `SELECT * FROM ${this.t.deliveries} WHERE message_id = $1 AND destination = $2`,
      [id, destination],
    );
    return r.rows[0] ? toDelivery(r.rows[0]) : undefined;
  }

  async deliveries(id: string): Promise<DeliveryRecord[]> {
    this.checkReady();
    const r = await this.pool.query<DeliveryRow>(
      `SELECT * FROM ${this.t.deliveries} WHERE message_id = $1 ORDER BY destination`,
      [id],
    );
    return r.rows.map(toDelivery);
  }

  async pending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    checkLimit(limit);
    this.checkReady();
    const r = await this.pool.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM ${this.t.messages}
        WHERE channel = $1 AND seq > $2 AND state NOT IN (${TERMINAL_SQL})
        ORDER BY seq LIMIT $3`,
      [channel, afterSeq, limit],
    );
    return r.rows.map(toMessage);
  }

  async earlierPending(channel: string, orderingKey: string, beforeSeq: number, limit: number, destination?: string): Promise<StoredMessage[]> {
    checkLimit(limit);
    this.checkReady();
    const r =
      destination === undefined
        ? await this.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM ${this.t.messages}
              WHERE channel = $1 AND ordering_key = $2 AND seq < $3 AND state IN (${INBOUND_SQL})
              ORDER BY seq LIMIT $4`,
            [channel, orderingKey, beforeSeq, limit],
          )
        : await this.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS_M} FROM ${this.t.open} o JOIN ${this.t.messages} m ON m.seq = o.seq
              WHERE o.channel = $1 AND o.destination = $2 AND o.ordering_key = $3 AND o.seq < $4
              ORDER BY o.seq LIMIT $5`,
            [channel, destination, orderingKey, beforeSeq, limit],
          );
    return r.rows.map(toMessage);
  }

  async inboundPending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    checkLimit(limit);
    this.checkReady();
    const m = this.t.messages;
    const r = await this.pool.query<MessageRow>(
      `(SELECT ${MESSAGE_COLUMNS} FROM ${m} WHERE channel = $1 AND state = 'received' AND seq > $2 ORDER BY seq LIMIT $3)
       UNION ALL
       (SELECT ${MESSAGE_COLUMNS} FROM ${m} WHERE channel = $1 AND state = 'processing' AND seq > $2 ORDER BY seq LIMIT $3)
       ORDER BY seq LIMIT $3`,
      [channel, afterSeq, limit],
    );
    return r.rows.map(toMessage);
  }

  async openDeliveries(channel: string, afterSeq: number, afterDestination: string, limit: number): Promise<OpenDelivery[]> {
    checkLimit(limit);
    this.checkReady();
    const r = await this.pool.query<OpenDeliveryRow>(
      `SELECT ${OPEN_COLUMNS} FROM ${this.t.open}
        WHERE channel = $1 AND (seq, destination) > ($2, $3)
        ORDER BY seq, destination LIMIT $4`,
      [channel, afterSeq, afterDestination, limit],
    );
    return r.rows.map(toOpenDelivery);
  }

  async repairRouted(channel: string, destinations: readonly string[], afterSeq: number, limit: number): Promise<RepairPage> {
    checkDestinations(destinations);
    checkLimit(limit);
    this.checkReady();
    const { messages, open, deliveries } = this.t;
    const page = await this.pool.query<{ seq: string }>(
      `SELECT seq FROM ${messages} WHERE channel = $1 AND state = 'routed' AND seq > $2 ORDER BY seq LIMIT $3`,
      [channel, afterSeq, limit],
    );
    if (page.rows.length === 0) return { lastSeq: afterSeq, scanned: 0, settled: [] };
    const lo = Number(page.rows[0]!.seq);
    const hi = Number(page.rows[page.rows.length - 1]!.seq);
    const dests = [...destinations];
    await this.pool.query(
      `INSERT INTO ${open} (${OPEN_COLUMNS})
       SELECT m.id, d.dest, m.channel, m.ordering_key, m.seq, now() FROM ${messages} m CROSS JOIN unnest($4::text[]) AS d(dest)
        WHERE m.channel = $1 AND m.state = 'routed' AND m.seq BETWEEN $2 AND $3
          AND NOT EXISTS (SELECT 1 FROM ${deliveries} x WHERE x.message_id = m.id AND x.destination = d.dest AND x.state IN (${FINAL_DELIVERY_SQL}))
       ON CONFLICT DO NOTHING`,
      [channel, lo, hi, dests],
    );
    const settled = await this.pool.query<{ id: string }>(
      `SELECT m.id FROM ${messages} m
        WHERE m.channel = $1 AND m.state = 'routed' AND m.seq BETWEEN $2 AND $3
          AND NOT EXISTS (SELECT 1 FROM ${open} o WHERE o.message_id = m.id AND o.destination = ANY($4::text[]))
        ORDER BY m.seq`,
      [channel, lo, hi, dests],
    );
    return { lastSeq: hi, scanned: page.rows.length, settled: settled.rows.map((r) => r.id) };
  }

  async list(channel: string, state: MessageState | undefined, limit: number): Promise<StoredMessage[]> {
    checkLimit(limit);
    this.checkReady();
    if (state !== undefined) checkState(state);
    const r =
      state === undefined
        ? await this.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM ${this.t.messages} WHERE channel = $1 ORDER BY seq DESC LIMIT $2`,
            [channel, limit],
          )
        : await this.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM ${this.t.messages} WHERE channel = $1 AND state = $2 ORDER BY seq DESC LIMIT $3`,
            [channel, state, limit],
          );
    return r.rows.map(toMessage);
  }

  async counts(channel: string): Promise<StoreCounts> {
    this.checkReady();
    const r = await this.pool.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM ${this.t.messages} WHERE channel = $1 GROUP BY state`,
      [channel],
    );
    const out: StoreCounts = zeroCounts();
    for (const row of r.rows) out[row.state] = row.n;
    return out;
  }

  async messageKeys(id: string): Promise<MessageKey[]> {
    this.checkReady();
    const r = await this.pool.query<{ kind: MessageKey['kind']; value: string }>(
      `SELECT k.kind, k.value FROM ${this.t.messages} m JOIN ${this.t.keys} k ON k.seq = m.seq WHERE m.id = $1 ORDER BY k.kind, k.value`,
      [id],
    );
    return r.rows.map((x) => ({ kind: x.kind, value: x.value }));
  }

  /**
   * One statement; PostgreSQL's planner picks the index (keys: message_keys_lookup walked
   * backwards; control id: messages_control; dates: messages_received walked backwards from the
   * cursor, in (received_at, channel, seq) order as on SQLite).
   */
  async searchMessages(q: MessageQuery): Promise<StoredMessage[]> {
    checkQuery(q);
    this.checkReady();
    if (q.limit === 0) return [];
    const args: unknown[] = [];
    const arg = (v: unknown): string => `$${args.push(v)}`;
    const where: string[] = [];
    const keys = queryKeys(q);
    let from = `${this.t.messages} m`;
    let order = 'm.seq';
    if (keys.length > 0) {
      const lead = keys[0]!;
      from = `${this.t.keys} k JOIN ${this.t.messages} m ON m.seq = k.seq`;
      order = 'k.seq';
      where.push(`k.kind = ${arg(lead.kind)}`, `k.value = ${arg(lead.value)}`);
      if (q.beforeSeq !== undefined) where.push(`k.seq < ${arg(q.beforeSeq)}`);
      for (const k of keys.slice(1)) {
        where.push(`EXISTS (SELECT 1 FROM ${this.t.keys} x WHERE x.seq = m.seq AND x.kind = ${arg(k.kind)} AND x.value = ${arg(k.value)})`);
      }
    } else if ((q.from !== undefined || q.to !== undefined) && q.controlId === undefined) {
      order = 'm.received_at DESC, m.channel DESC, m.seq';
      if (q.beforeSeq !== undefined) {
        // After the message the cursor names (or the one stored just before it, when pruned since).
        const b = arg(q.beforeSeq);
        where.push(`(m.received_at, m.channel, m.seq) < (SELECT c.received_at, c.channel, CASE WHEN c.seq = ${b} THEN c.seq ELSE c.seq + 1 END
                        FROM ${this.t.messages} c WHERE c.seq <= ${b} ORDER BY c.seq DESC LIMIT 1)`);
      }
    } else if (q.beforeSeq !== undefined) {
      where.push(`m.seq < ${arg(q.beforeSeq)}`);
    }
    if (q.channel !== undefined) where.push(`m.channel = ${arg(q.channel)}`);
    if (q.state !== undefined) where.push(`m.state = ${arg(q.state)}`);
    if (q.controlId !== undefined) where.push(`m.control_id = ${arg(q.controlId)}`);
    if (q.from !== undefined) where.push(`m.received_at >= ${arg(q.from)}`);
    if (q.to !== undefined) where.push(`m.received_at < ${arg(q.to)}`);
    const sql = `SELECT ${MESSAGE_COLUMNS_M} FROM ${from} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ${order} DESC LIMIT ${arg(q.limit)}`;
    const r = await this.pool.query<MessageRow>(sql, args);
    return r.rows.map(toMessage);
  }

  async channelStats(channel: string, destinations: readonly string[], now: Date = new Date()): Promise<ChannelStats> {
    checkDestinations(destinations);
    this.checkReady();
    const { messages, deliveries, open, failures } = this.t;
    const t = now.getTime();
    const since = (ms: number): Date => new Date(t - ms);
    const [counts, received, inbound] = await Promise.all([
      this.counts(channel),
      this.pool.query<{ m1: string; m5: string; m60: string }>(
        `SELECT count(*) FILTER (WHERE received_at >= $2) AS m1, count(*) FILTER (WHERE received_at >= $3) AS m5, count(*) AS m60
           FROM ${messages} WHERE received_at >= $4 AND received_at <= $5 AND channel = $1`,
        [channel, since(60_000), since(300_000), since(3_600_000), now],
      ),
      this.pool.query<{ at: Date | null }>(
        `SELECT least((SELECT received_at FROM ${messages} WHERE channel = $1 AND state = 'received' ORDER BY seq LIMIT 1),
                      (SELECT received_at FROM ${messages} WHERE channel = $1 AND state = 'processing' ORDER BY seq LIMIT 1)) AS at`,
        [channel],
      ),
    ]);
    const dests = await Promise.all(
      destinations.map(async (destination) => {
        const [o, d, f] = await Promise.all([
          this.pool.query<{ n: string; oldest: Date | null }>(`SELECT count(*) AS n, min(opened_at) AS oldest FROM ${open} WHERE channel = $1 AND destination = $2`, [channel, destination]),
          this.pool.query<{ dead: string; m1: string; m5: string; m60: string }>(
            `SELECT count(*) FILTER (WHERE d.state = 'dead') AS dead,
                    count(*) FILTER (WHERE d.state = 'delivered' AND d.updated_at >= $3) AS m1,
                    count(*) FILTER (WHERE d.state = 'delivered' AND d.updated_at >= $4) AS m5,
                    count(*) FILTER (WHERE d.state = 'delivered' AND d.updated_at >= $5) AS m60
               FROM ${deliveries} d JOIN ${messages} m ON m.id = d.message_id
              WHERE d.destination = $2 AND m.channel = $1
                AND (d.state = 'dead' OR (d.state = 'delivered' AND d.updated_at >= $5 AND d.updated_at <= $6))`,
            [channel, destination, since(60_000), since(300_000), since(3_600_000), now],
          ),
          this.pool.query<{ message_id: string; state: DeliveryState; detail: string | null; at: Date }>(
            `SELECT message_id, state, detail, at FROM ${failures} WHERE channel = $1 AND destination = $2 ORDER BY id DESC LIMIT $3`,
            [channel, destination, LAST_FAILURES],
          ),
        ]);
        const dr = d.rows[0]!;
        return {
          destination,
          open: Number(o.rows[0]!.n),
          oldestOpenAt: o.rows[0]!.oldest,
          dead: Number(dr.dead),
          delivered: { m1: Number(dr.m1), m5: Number(dr.m5), m60: Number(dr.m60) },
          lastFailures: f.rows.map((x) => ({ messageId: x.message_id, state: x.state, detail: boundDetail(x.detail), at: x.at })),
        };
      }),
    );
    const rr = received.rows[0]!;
    return { counts, received: { m1: Number(rr.m1), m5: Number(rr.m5), m60: Number(rr.m60) }, oldestInboundAt: inbound.rows[0]?.at ?? null, destinations: dests };
  }

  async versionDeliveryStats(_now: Date = new Date()): Promise<VersionDeliveryStats[]> {
    this.checkReady();
    const { vd, vdCounts } = this.t;
    const [counts, queued, failed] = await Promise.all([
      this.pool.query<{ kind: string; state: string; n: string }>(`SELECT kind, state, n FROM ${vdCounts} WHERE n <> 0`),
      this.pool.query<{ kind: string; at: Date }>(`SELECT split_part(target, ':', 1) AS kind, min(updated_at) AS at FROM ${vd} WHERE state = 'queued' GROUP BY 1`),
      Promise.all(VD_FAILURE_STATES.map((st) => this.pool.query<VersionDeliveryRow>(`SELECT * FROM ${vd} WHERE state = $1 ORDER BY updated_at DESC LIMIT $2`, [st, LAST_FAILURES * 8]))),
    ]);
    const byKind = new Map<string, VersionDeliveryStats>();
    const kind = (k: string): VersionDeliveryStats => {
      let v = byKind.get(k);
      if (!v) byKind.set(k, (v = { kind: k, counts: {}, oldestQueuedAt: null, lastFailures: [] }));
      return v;
    };
    for (const r of counts.rows) kind(r.kind).counts[r.state] = Number(r.n);
    for (const r of queued.rows) kind(r.kind).oldestQueuedAt = r.at;
    const rows = failed.flatMap((r) => r.rows).sort((a, b) => new Date(b.updated_at).getTime() - new Date(a.updated_at).getTime());
    for (const f of rows) {
      const v = kind(targetKind(f.target));
      if (v.lastFailures.length < LAST_FAILURES) {
        v.lastFailures.push({ lab: f.lab, fillerOrder: f.filler_order, version: f.version, target: f.target, state: f.state as StoredVersionDelivery['state'], detail: boundDetail(f.detail), at: new Date(f.updated_at) });
      }
    }
    return [...byKind.values()].sort((a, b) => a.kind.localeCompare(b.kind));
  }

  async indicatorRows(from: Date, to: Date): Promise<IndicatorRow[]> {
    this.checkReady();
    const r = await this.pool.query<IndicatorDbRow>(
      `SELECT d.lab, d.filler_order, d.version, d.target, d.state, d.updated_at, v.finess, v.rpps, v.ins_qualified, v.status
         FROM ${this.t.vd} d LEFT JOIN ${this.t.versions} v ON v.lab = d.lab AND v.filler_order = d.filler_order AND v.version = d.version
        WHERE d.updated_at >= $1 AND d.updated_at < $2`,
      [from, to],
    );
    return r.rows.map(indicatorRowOf);
  }

  /**
   * Deletes terminal messages received AND last updated before `olderThan`, with their contents
   * and deliveries (ON DELETE CASCADE), PRUNE_CHUNK rows per statement (each its own short
   * transaction). Rows another transaction holds locked are skipped, not waited for.
   */
  async prune(olderThan: Date): Promise<number> {
    if (Number.isNaN(olderThan.getTime())) throw new TypeError('prune: olderThan must be a valid Date');
    this.checkReady();
    const m = this.t.messages;
    let total = 0;
    for (;;) {
      const r = await this.pool.query(
        `WITH victims AS (
           SELECT seq FROM ${m}
            WHERE state IN (${TERMINAL_SQL}) AND received_at < $1 AND updated_at < $1
            LIMIT ${PRUNE_CHUNK}
            FOR UPDATE SKIP LOCKED)
         DELETE FROM ${m} WHERE seq IN (SELECT seq FROM victims) AND state IN (${TERMINAL_SQL})`,
        [olderThan],
      );
      const n = r.rowCount ?? 0;
      total += n;
      if (n < PRUNE_CHUNK) return total;
    }
  }

  async pruneRefusals(channel: string, quota: RefusalQuota): Promise<number> {
    checkQuota(quota);
    this.checkReady();
    const m = this.t.messages;
    try {
      return await this.inTransaction(async (c) => {
        // One pruner per channel at a time across processes; others skip (the next call catches up).
        const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS ok', [
          [this.schema, 'refusals', channel].join('\u001f'),
        ]);
        if (!got.rows[0]?.ok) return 0;
        const t = await c.query<{ n: string; b: string }>(
          `SELECT count(*) AS n, coalesce(sum(octet_length(raw) + octet_length(ack)), 0) AS b FROM ${m} WHERE channel = $1 AND state = 'refused'`,
          [channel],
        );
        if (Number(t.rows[0]!.n) <= quota.maxCount && Number(t.rows[0]!.b) <= quota.maxBytes) return 0;
        const r = await c.query(
          `DELETE FROM ${m} WHERE channel = $1 AND state = 'refused' AND seq IN (${refusalVictimsSql(m, ['$1', '$2', '$3'], 'octet_length')})`,
          [channel, quota.maxCount, quota.maxBytes],
        );
        const n = r.rowCount ?? 0;
        if (n > 0) {
          await c.query(
            `INSERT INTO ${this.t.counters} AS k (channel, name, value) VALUES ($1, $2, $3)
             ON CONFLICT (channel, name) DO UPDATE SET value = k.value + EXCLUDED.value`,
            [channel, REFUSALS_DROPPED, n],
          );
        }
        return n;
      });
    } catch (e) {
      throw storeUnavailable(e);
    }
  }

  async refusalStats(channel: string): Promise<RefusalStats> {
    this.checkReady();
    const t = await this.pool.query<{ n: string; b: string }>(
      `SELECT count(*) AS n, coalesce(sum(octet_length(raw) + octet_length(ack)), 0) AS b FROM ${this.t.messages} WHERE channel = $1 AND state = 'refused'`,
      [channel],
    );
    const d = await this.pool.query<{ value: string }>(`SELECT value FROM ${this.t.counters} WHERE channel = $1 AND name = $2`, [channel, REFUSALS_DROPPED]);
    return { count: Number(t.rows[0]!.n), bytes: Number(t.rows[0]!.b), dropped: Number(d.rows[0]?.value ?? 0) };
  }

  async getReport(lab: string, fillerOrder: string): Promise<StoredReport | undefined> {
    this.checkReady();
    const r = await this.pool.query<{ state: string; row_version: string; updated_at: Date }>(
      `SELECT state, row_version, updated_at FROM ${this.t.reports} WHERE lab = $1 AND filler_order = $2`,
      [lab, fillerOrder],
    );
    const row = r.rows[0];
    return row && { lab, fillerOrder, state: row.state, rowVersion: Number(row.row_version), updatedAt: row.updated_at };
  }

  async reportsByFillerOrder(fillerOrder: string): Promise<StoredReport[]> {
    this.checkReady();
    const r = await this.pool.query<{ lab: string; state: string; row_version: string; updated_at: Date }>(
      `SELECT lab, state, row_version, updated_at FROM ${this.t.reports} WHERE filler_order = $1 ORDER BY lab`,
      [fillerOrder],
    );
    return r.rows.map((x) => ({ lab: x.lab, fillerOrder, state: x.state, rowVersion: Number(x.row_version), updatedAt: x.updated_at }));
  }

  async putReport(lab: string, fillerOrder: string, state: string, expectedVersion: number | null): Promise<boolean> {
    this.checkReady();
    const r =
      expectedVersion === null
        ? await this.pool.query(
            `INSERT INTO ${this.t.reports} (lab, filler_order, state, row_version, updated_at) VALUES ($1, $2, $3, 1, now())
             ON CONFLICT (lab, filler_order) DO NOTHING`,
            [lab, fillerOrder, state],
          )
        : await this.pool.query(
            `UPDATE ${this.t.reports} SET state = $1, row_version = row_version + 1, updated_at = now()
              WHERE lab = $2 AND filler_order = $3 AND row_version = $4`,
            [state, lab, fillerOrder, expectedVersion],
          );
    return r.rowCount === 1;
  }

  async reserveReportVersion(v: Omit<StoredReportVersion, 'written' | 'createdAt'> & { facts?: VersionFacts }, staleAfterMs: number): Promise<boolean> {
    this.checkReady();
    const f = v.facts;
    const r = await this.pool.query(
      `INSERT INTO ${this.t.versions} AS v (lab, filler_order, version, status, content_hash, revision, written, created_at, finess, rpps, ins_qualified)
       VALUES ($1, $2, $3, $4, $5, $6, false, now(), $8, $9, $10)
       ON CONFLICT (lab, filler_order, version) DO UPDATE
         SET status = excluded.status, content_hash = excluded.content_hash, revision = excluded.revision, created_at = excluded.created_at,
             finess = excluded.finess, rpps = excluded.rpps, ins_qualified = excluded.ins_qualified
         WHERE NOT v.written AND v.created_at < now() - make_interval(secs => $7::double precision / 1000)`,
      [v.lab, v.fillerOrder, v.version, v.status, v.contentHash, v.revision, staleAfterMs, f?.finess ?? null, f?.rpps ?? null, f ? f.insQualified : null],
    );
    return r.rowCount === 1;
  }

  async markReportVersionWritten(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.checkReady();
    await this.pool.query(`UPDATE ${this.t.versions} SET written = true WHERE lab = $1 AND filler_order = $2 AND version = $3`, [lab, fillerOrder, version]);
  }

  async releaseReportVersion(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.checkReady();
    await this.pool.query(`DELETE FROM ${this.t.versions} WHERE lab = $1 AND filler_order = $2 AND version = $3 AND NOT written`, [lab, fillerOrder, version]);
  }

  async reportVersions(lab: string, fillerOrder: string): Promise<StoredReportVersion[]> {
    this.checkReady();
    const r = await this.pool.query<{ version: number; status: string; content_hash: string; revision: number; written: boolean; created_at: Date }>(
      `SELECT version, status, content_hash, revision, written, created_at FROM ${this.t.versions} WHERE lab = $1 AND filler_order = $2 ORDER BY version`,
      [lab, fillerOrder],
    );
    return r.rows.map((x) => ({
      lab,
      fillerOrder,
      version: x.version,
      status: x.status as StoredReportVersion['status'],
      contentHash: x.content_hash,
      revision: x.revision,
      written: x.written,
      createdAt: x.created_at,
    }));
  }

  private async inTransaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: unknown;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await c.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError; // the connection is unusable: do not give it back to the pool
      }
      throw e;
    } finally {
      c.release(broken instanceof Error ? broken : undefined);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('PgStore: closed');
  }

  private checkReady(): void {
    this.checkOpen();
    if (!this.initialised) throw new Error('PgStore: init() has not been called');
  }

  async getOrder(key: string): Promise<StoredOrder | undefined> {
    this.checkReady();
    const r = await this.pool.query<{ state: string; row_version: string; updated_at: Date }>(`SELECT state, row_version, updated_at FROM ${this.t.orders} WHERE order_key = $1`, [key]);
    const row = r.rows[0];
    return row && { key, state: row.state, rowVersion: Number(row.row_version), updatedAt: row.updated_at };
  }

  async putOrder(key: string, state: string, expectedVersion: number | null): Promise<boolean> {
    this.checkReady();
    const r =
      expectedVersion === null
        ? await this.pool.query(`INSERT INTO ${this.t.orders} (order_key, state, row_version, updated_at) VALUES ($1, $2, 1, now()) ON CONFLICT (order_key) DO NOTHING`, [key, state])
        : await this.pool.query(`UPDATE ${this.t.orders} SET state = $1, row_version = row_version + 1, updated_at = now() WHERE order_key = $2 AND row_version = $3`, [state, key, expectedVersion]);
    return r.rowCount === 1;
  }

  async linkOrder(ref: string, orderKey: string): Promise<string> {
    this.checkReady();
    await this.pool.query(`INSERT INTO ${this.t.orderRefs} (ref, order_key) VALUES ($1, $2) ON CONFLICT (ref) DO NOTHING`, [ref, orderKey]);
    return (await this.orderKeyOf(ref))!;
  }

  async orderKeyOf(ref: string): Promise<string | undefined> {
    this.checkReady();
    const r = await this.pool.query<{ order_key: string }>(`SELECT order_key FROM ${this.t.orderRefs} WHERE ref = $1`, [ref]);
    return r.rows[0]?.order_key;
  }

  async nextSequence(name: string): Promise<number> {
    this.checkReady();
    const r = await this.pool.query<{ value: string }>(
      `INSERT INTO ${this.t.counters} AS c (channel, name, value) VALUES ('#sequence', $1, 1)
       ON CONFLICT (channel, name) DO UPDATE SET value = c.value + 1 RETURNING value`,
      [name],
    );
    return Number(r.rows[0]!.value);
  }

  async retentionCandidates(channel: string, states: readonly RetentionState[], afterSeq: number, limit: number): Promise<RetentionCandidate[]> {
    checkRetentionStates(states);
    checkLimit(limit);
    this.checkReady();
    const { messages, contents } = this.t;
    // Each state's line from the cursor (messages_by_state), merged by seq.
    const lines = states.map((_, i) => `(SELECT seq FROM ${messages} WHERE channel = $1 AND state = $${i + 4} AND seq > $2 ORDER BY seq LIMIT $3)`).join(' UNION ALL ');
    const r = await this.pool.query<RetentionDbRow>(
      `SELECT m.seq, m.id, m.state, m.received_at, m.updated_at, octet_length(m.raw) AS raw_bytes,
              EXISTS (SELECT 1 FROM ${contents} c WHERE c.message_id = m.id AND c.name <> '${RETENTION_NOTE}') AS has_contents
         FROM ${messages} m WHERE m.seq IN (SELECT seq FROM (${lines}) l ORDER BY seq LIMIT $3) ORDER BY m.seq`,
      [channel, afterSeq, limit, ...states],
    );
    return r.rows.map(retentionCandidateOf);
  }

  async deleteMessages(ids: readonly string[], states: readonly RetentionState[], olderThan: Date): Promise<number> {
    checkRetentionStates(states);
    if (Number.isNaN(olderThan.getTime())) throw new TypeError('deleteMessages: olderThan must be a valid Date');
    this.checkReady();
    if (ids.length === 0) return 0;
    const { messages, open } = this.t;
    // The conditions are checked again in the delete itself: a message reprocessed since it was read stays.
    const r = await this.pool.query(
      `DELETE FROM ${messages} m WHERE m.id = ANY($1::text[]) AND m.state = ANY($2::text[]) AND m.received_at < $3 AND m.updated_at < $3
          AND NOT EXISTS (SELECT 1 FROM ${open} o WHERE o.message_id = m.id)`,
      [[...ids], [...states], olderThan],
    );
    return r.rowCount ?? 0;
  }

  async trimMessages(ids: readonly string[], how: TrimRequest): Promise<number> {
    checkTrim(how);
    this.checkReady();
    if (ids.length === 0) return 0;
    const { messages, contents } = this.t;
    const at = new Date().toISOString();
    return this.inTransaction(async (c) => {
      const rows = await c.query<{ id: string; raw: Buffer }>(
        `SELECT id, raw FROM ${messages} WHERE id = ANY($1::text[]) AND state = ANY($2::text[]) AND updated_at < $3 ORDER BY seq FOR UPDATE`,
        [[...ids], [...how.states], how.olderThan],
      );
      let n = 0;
      for (const row of rows.rows) {
        const names = (await c.query<{ name: string; data: Buffer | null }>(
          `SELECT name, CASE WHEN name = $2 THEN data END AS data FROM ${contents} WHERE message_id = $1 ORDER BY name`,
          [row.id, RETENTION_NOTE],
        )).rows;
        const plan = trimPlan(row.raw, names.map((x) => x.name), how, at, names.find((x) => x.name === RETENTION_NOTE)?.data ?? undefined);
        if (!plan) continue;
        await c.query(`UPDATE ${messages} SET raw = $2 WHERE id = $1`, [row.id, plan.raw]);
        await c.query(`DELETE FROM ${contents} WHERE message_id = $1 AND name <> $2`, [row.id, RETENTION_NOTE]);
        await c.query(
          `INSERT INTO ${contents} (message_id, name, data) VALUES ($1, $2, $3) ON CONFLICT (message_id, name) DO UPDATE SET data = EXCLUDED.data`,
          [row.id, RETENTION_NOTE, plan.note],
        );
        n++;
      }
      return n;
    });
  }

  async refreshPatientActivity(limit: number): Promise<number> {
    checkLimit(limit);
    this.checkReady();
    const { reports, reportPatients, patientActivity, marks } = this.t;
    return this.inTransaction(async (c) => {
      // One refresher at a time across processes; another one finds the work done.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`passerelle.retention.patients:${this.schema}`]);
      const mark = (await c.query<{ at: Date; lab: string; filler_order: string }>(`SELECT at, lab, filler_order FROM ${marks} WHERE name = $1`, [PATIENTS_MARK])).rows[0];
      const rows = (await c.query<{ lab: string; filler_order: string; updated_at: Date; patient: object | null }>(
        `SELECT lab, filler_order, updated_at, (state::jsonb) -> 'patient' AS patient FROM ${reports}
          WHERE (updated_at, lab, filler_order) > ($1, $2, $3) ORDER BY updated_at, lab, filler_order LIMIT $4`,
        [mark?.at ?? new Date(-1), mark?.lab ?? '', mark?.filler_order ?? '', limit],
      )).rows;
      for (const r of rows) {
        const ids = patientIdsOf(r.patient);
        await c.query(`DELETE FROM ${reportPatients} WHERE lab = $1 AND filler_order = $2`, [r.lab, r.filler_order]);
        if (ids.length === 0) continue;
        await c.query(`INSERT INTO ${reportPatients} (lab, filler_order, patient) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`, [r.lab, r.filler_order, ids]);
        await c.query(
          `INSERT INTO ${patientActivity} AS a (patient, last_at) SELECT unnest($1::text[]), $2
           ON CONFLICT (patient) DO UPDATE SET last_at = greatest(a.last_at, EXCLUDED.last_at)`,
          [ids, r.updated_at],
        );
      }
      const last = rows[rows.length - 1];
      if (last) {
        await c.query(
          `INSERT INTO ${marks} (name, at, lab, filler_order) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET at = EXCLUDED.at, lab = EXCLUDED.lab, filler_order = EXCLUDED.filler_order`,
          [PATIENTS_MARK, last.updated_at, last.lab, last.filler_order],
        );
      }
      return rows.length;
    });
  }

  async inactiveReports(before: Date, which: 'unarchived' | 'any', after: ReportCursor | undefined, limit: number): Promise<{ reports: ReportActivity[]; next: ReportCursor | undefined }> {
    checkLimit(limit);
    this.checkReady();
    const { reports, reportPatients, patientActivity, reportArchive, versions } = this.t;
    const rows = (await this.pool.query<{ lab: string; filler_order: string; updated_at: Date; last: Date; versions: string; archived_at: Date | null }>(
      `SELECT r.lab, r.filler_order, r.updated_at,
              greatest(r.updated_at, (SELECT max(pa.last_at) FROM ${reportPatients} rp JOIN ${patientActivity} pa ON pa.patient = rp.patient
                                       WHERE rp.lab = r.lab AND rp.filler_order = r.filler_order)) AS last,
              (SELECT count(*) FROM ${versions} v WHERE v.lab = r.lab AND v.filler_order = r.filler_order) AS versions,
              (SELECT a.archived_at FROM ${reportArchive} a WHERE a.lab = r.lab AND a.filler_order = r.filler_order) AS archived_at
         FROM ${reports} r
        WHERE r.updated_at < $1 AND (r.updated_at, r.lab, r.filler_order) > ($2, $3, $4)
        ORDER BY r.updated_at, r.lab, r.filler_order LIMIT $5`,
      [before, after?.updatedAt ?? new Date(-1), after?.lab ?? '', after?.fillerOrder ?? '', limit],
    )).rows;
    const all = rows.map((r): ReportActivity => ({ lab: r.lab, fillerOrder: r.filler_order, updatedAt: r.updated_at, lastActivity: r.last, versions: Number(r.versions), archivedAt: r.archived_at }));
    const last = all[all.length - 1];
    return {
      reports: all.filter((r) => r.lastActivity.getTime() < before.getTime() && (which === 'any' || r.archivedAt === null)),
      next: rows.length === limit && last ? { updatedAt: last.updatedAt, lab: last.lab, fillerOrder: last.fillerOrder } : undefined,
    };
  }

  async markReportArchived(lab: string, fillerOrder: string, at: Date): Promise<void> {
    this.checkReady();
    await this.pool.query(
      `INSERT INTO ${this.t.reportArchive} (lab, filler_order, archived_at) VALUES ($1, $2, $3) ON CONFLICT (lab, filler_order) DO UPDATE SET archived_at = EXCLUDED.archived_at`,
      [lab, fillerOrder, at],
    );
  }

  async purgeReport(lab: string, fillerOrder: string): Promise<void> {
    this.checkReady();
    const { vd, versions, reportPatients, reportArchive, reports } = this.t;
    await this.inTransaction(async (c) => {
      for (const table of [vd, versions, reportPatients, reportArchive, reports]) await c.query(`DELETE FROM ${table} WHERE lab = $1 AND filler_order = $2`, [lab, fillerOrder]);
    });
  }

  async putVersionDelivery(d: Omit<StoredVersionDelivery, 'updatedAt'>): Promise<void> {
    this.checkReady();
    await this.pool.query(
      `INSERT INTO ${this.t.vd} (lab, filler_order, version, target, state, detail, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (lab, filler_order, version, target) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at`,
      [d.lab, d.fillerOrder, d.version, d.target, d.state, d.detail],
    );
  }

  async versionDeliveries(lab: string, fillerOrder: string): Promise<StoredVersionDelivery[]> {
    this.checkReady();
    const r = await this.pool.query<VersionDeliveryRow>(`SELECT * FROM ${this.t.vd} WHERE lab = $1 AND filler_order = $2 ORDER BY version, target`, [lab, fillerOrder]);
    return r.rows.map(versionDeliveryOf);
  }

  async findVersionDeliveries(f: { state?: StoredVersionDelivery['state']; fillerOrder?: string; limit: number }): Promise<StoredVersionDelivery[]> {
    this.checkReady();
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.state) (args.push(f.state), where.push(`state = $${args.length}`));
    if (f.fillerOrder) (args.push(f.fillerOrder), where.push(`filler_order = $${args.length}`));
    args.push(f.limit);
    const r = await this.pool.query<VersionDeliveryRow>(`SELECT * FROM ${this.t.vd} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY updated_at DESC LIMIT $${args.length}`, args);
    return r.rows.map(versionDeliveryOf);
  }

  async queuedVersionDeliveries(limit: number, since = 0): Promise<StoredVersionDelivery[]> {
    this.checkReady();
    const r = await this.pool.query<VersionDeliveryRow>(`SELECT * FROM ${this.t.vd} WHERE state = 'queued' AND updated_at >= to_timestamp($2::double precision / 1000) ORDER BY updated_at LIMIT $1`, [limit, since]);
    return r.rows.map(versionDeliveryOf);
  }
}


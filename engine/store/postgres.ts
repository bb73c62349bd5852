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
 *
 * This file holds the store's lifecycle and its intake; every other call goes to a part,
 * sharing the pool and the table names (pg-context.ts): pg-messages.ts, pg-search.ts,
 * pg-stats.ts, pg-retention.ts, pg-reports.ts, pg-directory.ts; the tables are in pg-schema.ts.
 */
import { PartedStore } from './parted-store';
import { DatabaseError, Pool, type PoolClient, type PoolConfig } from 'pg';
import type { InboundMessage, MessageKey, MessageStore, ReceiveResult } from './types';
import { GroupCommit, type ItemOutcome } from './group-commit';
import { groupQuery, groupResults, literalSafe, lockKey, type PgIntakeItem } from './pg-intake-group';
import { checkInbound, dedupes, newMessageId, normaliseKeys, storeUnavailable } from './common';
import { guardStoreErrors } from './transient';
import { inTransaction, pgTables, type PgContext, type PgTables } from './pg-context';
import { applySchema } from './pg-schema';
import { PgMessages } from './pg-messages';
import { PgSearch } from './pg-search';
import { PgStats } from './pg-stats';
import { PgRetention } from './pg-retention';
import { PgReports } from './pg-reports';
import { PgDirectory } from './pg-directory';

/** receive() codes its own failures (PSL_STORE_UNAVAILABLE); init/close run at start and stop. */
const UNGUARDED = ['receive', 'init', 'close'];

export interface PgStoreOptions {
  connectionString: string;
  /** Schema holding the tables; created by init(). Default 'passerelle'. */
  schema?: string;
  /** Maximum connections of this process's pool. Default 10. */
  poolSize?: number;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export class PgStore extends PartedStore implements MessageStore {
  private readonly pool: Pool;
  private readonly schema: string;
  /** Qualified table names. */
  private readonly t: PgTables;
  private forceSyncCommit = false;
  private readonly group = new GroupCommit<PgIntakeItem, ReceiveResult>((items) => this.commitGroup(items), {
    maxItems: 256,
    maxBytes: 4 << 20, // twice that as hex literals in the query text
    sizeOf: (i) => i.msg.raw.length + i.msg.ack.length,
  });
  private initialised = false;
  private closed = false;

  // The parts; each checks readiness through checkReady(), as the methods here do.
  protected readonly messages: PgMessages;
  protected readonly search: PgSearch;
  protected readonly stats: PgStats;
  protected readonly retention: PgRetention;
  protected readonly reports: PgReports;
  protected readonly directory: PgDirectory;

  constructor(options: PgStoreOptions) {
    super();
    if (!options || typeof options.connectionString !== 'string' || options.connectionString === '') {
      throw new TypeError('PgStore: options.connectionString is required');
    }
    const schema = options.schema ?? 'passerelle';
    if (!SCHEMA_NAME.test(schema)) throw new TypeError(`PgStore: invalid schema name ${JSON.stringify(schema)}`);
    this.schema = schema;
    this.t = pgTables(schema);
    const config: PoolConfig = {
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      application_name: 'passerelle',
    };
    this.pool = new Pool(config);
    // An idle connection dropped by the server must not crash the process; the next query
    // on the pool reports the problem to its caller.
    this.pool.on('error', () => undefined);
    const pg: PgContext = { pool: this.pool, schema, t: this.t, checkReady: () => this.checkReady(), inTransaction: (fn) => inTransaction(this.pool, fn) };
    this.messages = new PgMessages(pg);
    this.search = new PgSearch(pg);
    this.stats = new PgStats(pg, this.messages);
    this.retention = new PgRetention(pg);
    this.reports = new PgReports(pg);
    this.directory = new PgDirectory(pg);
    // Faults that pass (lost connection, busy, closing) surface as PSL_STORE_TRANSIENT, retried.
    return guardStoreErrors(this, UNGUARDED);
  }

  async init(): Promise<void> {
    this.checkOpen();
    await inTransaction(this.pool, async (c) => {
      await applySchema(c, this.schema, this.t);
      const sc = await c.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      this.forceSyncCommit = sc.rows[0]?.synchronous_commit === 'off';
    });
    this.initialised = true;
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
      return await inTransaction(this.pool, async (c) => {
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

  private checkOpen(): void {
    if (this.closed) throw new Error('PgStore: closed');
  }

  private checkReady(): void {
    this.checkOpen();
    if (!this.initialised) throw new Error('PgStore: init() has not been called');
  }

}

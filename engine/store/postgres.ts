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
 * pg-stats.ts, pg-retention.ts, pg-reports.ts; the tables are in pg-schema.ts.
 */
import { DatabaseError, Pool, type PoolClient, type PoolConfig } from 'pg';
import type {
  ChannelStats,
  DeliveryRecord,
  DeliveryState,
  IndicatorRow,
  InboundMessage,
  MessageKey,
  MessageQuery,
  MessageState,
  MessageStore,
  OpenDelivery,
  ReceiveResult,
  RefusalQuota,
  RefusalStats,
  RepairPage,
  ReportActivity,
  ReportCursor,
  RetentionCandidate,
  RetentionState,
  StoreCounts,
  StoredMessage,
  StoredOrder,
  StoredReport,
  StoredReportVersion,
  StoredVersionDelivery,
  TrimRequest,
  VersionDeliveryStats,
  VersionFacts,
} from './types';
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

export class PgStore implements MessageStore {
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
  private readonly messages: PgMessages;
  private readonly search: PgSearch;
  private readonly stats: PgStats;
  private readonly retention: PgRetention;
  private readonly reports: PgReports;

  constructor(options: PgStoreOptions) {
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

  // Messages, their contents and deliveries: pg-messages.ts.

  get(id: string): Promise<StoredMessage | undefined> {
    return this.messages.get(id);
  }

  raw(id: string): Promise<Buffer | undefined> {
    return this.messages.raw(id);
  }

  setState(id: string, state: MessageState, reason?: string | null): Promise<void> {
    return this.messages.setState(id, state, reason);
  }

  putContent(id: string, name: string, data: Buffer): Promise<void> {
    return this.messages.putContent(id, name, data);
  }

  getContent(id: string, name: string): Promise<Buffer | undefined> {
    return this.messages.getContent(id, name);
  }

  setDelivery(id: string, destination: string, state: DeliveryState, detail?: string | null, attempt?: boolean): Promise<void> {
    return this.messages.setDelivery(id, destination, state, detail, attempt);
  }

  route(id: string, destinations: readonly string[]): Promise<void> {
    return this.messages.route(id, destinations);
  }

  getDelivery(id: string, destination: string): Promise<DeliveryRecord | undefined> {
    return this.messages.getDelivery(id, destination);
  }

  deliveries(id: string): Promise<DeliveryRecord[]> {
    return this.messages.deliveries(id);
  }

  pending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.messages.pending(channel, afterSeq, limit);
  }

  earlierPending(channel: string, orderingKey: string, beforeSeq: number, limit: number, destination?: string): Promise<StoredMessage[]> {
    return this.messages.earlierPending(channel, orderingKey, beforeSeq, limit, destination);
  }

  inboundPending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.messages.inboundPending(channel, afterSeq, limit);
  }

  openDeliveries(channel: string, afterSeq: number, afterDestination: string, limit: number): Promise<OpenDelivery[]> {
    return this.messages.openDeliveries(channel, afterSeq, afterDestination, limit);
  }

  repairRouted(channel: string, destinations: readonly string[], afterSeq: number, limit: number): Promise<RepairPage> {
    return this.messages.repairRouted(channel, destinations, afterSeq, limit);
  }

  list(channel: string, state: MessageState | undefined, limit: number): Promise<StoredMessage[]> {
    return this.messages.list(channel, state, limit);
  }

  counts(channel: string): Promise<StoreCounts> {
    return this.messages.counts(channel);
  }

  // Search keys and message search: pg-search.ts.

  messageKeys(id: string): Promise<MessageKey[]> {
    return this.search.messageKeys(id);
  }

  searchMessages(q: MessageQuery): Promise<StoredMessage[]> {
    return this.search.searchMessages(q);
  }

  // The console's stats and the indicators' rows: pg-stats.ts.

  channelStats(channel: string, destinations: readonly string[], now?: Date): Promise<ChannelStats> {
    return this.stats.channelStats(channel, destinations, now);
  }

  versionDeliveryStats(now?: Date): Promise<VersionDeliveryStats[]> {
    return this.stats.versionDeliveryStats(now);
  }

  indicatorRows(from: Date, to: Date): Promise<IndicatorRow[]> {
    return this.stats.indicatorRows(from, to);
  }

  // Pruning, refusal quotas and retention passes: pg-retention.ts.

  prune(olderThan: Date): Promise<number> {
    return this.retention.prune(olderThan);
  }

  pruneRefusals(channel: string, quota: RefusalQuota): Promise<number> {
    return this.retention.pruneRefusals(channel, quota);
  }

  refusalStats(channel: string): Promise<RefusalStats> {
    return this.retention.refusalStats(channel);
  }

  retentionCandidates(channel: string, states: readonly RetentionState[], afterSeq: number, limit: number): Promise<RetentionCandidate[]> {
    return this.retention.retentionCandidates(channel, states, afterSeq, limit);
  }

  deleteMessages(ids: readonly string[], states: readonly RetentionState[], olderThan: Date): Promise<number> {
    return this.retention.deleteMessages(ids, states, olderThan);
  }

  trimMessages(ids: readonly string[], how: TrimRequest): Promise<number> {
    return this.retention.trimMessages(ids, how);
  }

  refreshPatientActivity(limit: number): Promise<number> {
    return this.retention.refreshPatientActivity(limit);
  }

  inactiveReports(before: Date, which: 'unarchived' | 'any', after: ReportCursor | undefined, limit: number): Promise<{ reports: ReportActivity[]; next: ReportCursor | undefined }> {
    return this.retention.inactiveReports(before, which, after, limit);
  }

  markReportArchived(lab: string, fillerOrder: string, at: Date): Promise<void> {
    return this.retention.markReportArchived(lab, fillerOrder, at);
  }

  purgeReport(lab: string, fillerOrder: string): Promise<void> {
    return this.retention.purgeReport(lab, fillerOrder);
  }

  // Reports, versions, version deliveries, orders and sequences: pg-reports.ts.

  getReport(lab: string, fillerOrder: string): Promise<StoredReport | undefined> {
    return this.reports.getReport(lab, fillerOrder);
  }

  reportsByFillerOrder(fillerOrder: string): Promise<StoredReport[]> {
    return this.reports.reportsByFillerOrder(fillerOrder);
  }

  putReport(lab: string, fillerOrder: string, state: string, expectedVersion: number | null): Promise<boolean> {
    return this.reports.putReport(lab, fillerOrder, state, expectedVersion);
  }

  reserveReportVersion(v: Omit<StoredReportVersion, 'written' | 'createdAt'> & { facts?: VersionFacts }, staleAfterMs: number): Promise<boolean> {
    return this.reports.reserveReportVersion(v, staleAfterMs);
  }

  markReportVersionWritten(lab: string, fillerOrder: string, version: number): Promise<void> {
    return this.reports.markReportVersionWritten(lab, fillerOrder, version);
  }

  releaseReportVersion(lab: string, fillerOrder: string, version: number): Promise<void> {
    return this.reports.releaseReportVersion(lab, fillerOrder, version);
  }

  reportVersions(lab: string, fillerOrder: string): Promise<StoredReportVersion[]> {
    return this.reports.reportVersions(lab, fillerOrder);
  }

  putVersionDelivery(d: Omit<StoredVersionDelivery, 'updatedAt'>): Promise<void> {
    return this.reports.putVersionDelivery(d);
  }

  versionDeliveries(lab: string, fillerOrder: string): Promise<StoredVersionDelivery[]> {
    return this.reports.versionDeliveries(lab, fillerOrder);
  }

  findVersionDeliveries(f: { state?: StoredVersionDelivery['state']; fillerOrder?: string; limit: number }): Promise<StoredVersionDelivery[]> {
    return this.reports.findVersionDeliveries(f);
  }

  queuedVersionDeliveries(limit: number, since?: number): Promise<StoredVersionDelivery[]> {
    return this.reports.queuedVersionDeliveries(limit, since);
  }

  getOrder(key: string): Promise<StoredOrder | undefined> {
    return this.reports.getOrder(key);
  }

  putOrder(key: string, state: string, expectedVersion: number | null): Promise<boolean> {
    return this.reports.putOrder(key, state, expectedVersion);
  }

  linkOrder(ref: string, orderKey: string): Promise<string> {
    return this.reports.linkOrder(ref, orderKey);
  }

  orderKeyOf(ref: string): Promise<string | undefined> {
    return this.reports.orderKeyOf(ref);
  }

  nextSequence(name: string): Promise<number> {
    return this.reports.nextSequence(name);
  }
}

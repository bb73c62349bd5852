/**
 * Messages, their contents and deliveries on the PostgreSQL store (PgStore delegates here):
 * reads, state changes, routing, the lines the pipeline walks and the start-up repair.
 */
import type { DeliveryRecord, DeliveryState, MessageState, OpenDelivery, RepairPage, StoreCounts, StoredMessage } from './types';
import {
  FINAL_DELIVERY_SQL,
  INBOUND_SQL,
  MESSAGE_COLUMNS,
  MESSAGE_COLUMNS_M,
  OPEN_COLUMNS,
  TERMINAL_SQL,
  checkDeliveryState,
  checkDestinations,
  checkLimit,
  checkState,
  messageMissing,
  toDelivery,
  toMessage,
  toOpenDelivery,
  zeroCounts,
  type DeliveryRow,
  type MessageRow,
  type OpenDeliveryRow,
} from './common';
import type { PgContext } from './pg-context';

function isForeignKeyError(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { code?: unknown }).code === '23503';
}

export class PgMessages {
  constructor(private readonly pg: PgContext) {}

  async get(id: string): Promise<StoredMessage | undefined> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM ${this.pg.t.messages} WHERE id = $1`, [id]);
    return r.rows[0] ? toMessage(r.rows[0]) : undefined;
  }

  async raw(id: string): Promise<Buffer | undefined> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ raw: Buffer }>(`SELECT raw FROM ${this.pg.t.messages} WHERE id = $1`, [id]);
    return r.rows[0]?.raw;
  }

  async setState(id: string, state: MessageState, reason?: string | null): Promise<void> {
    checkState(state);
    this.pg.checkReady();
    const r =
      reason === undefined
        ? await this.pg.pool.query(`UPDATE ${this.pg.t.messages} SET state = $1, updated_at = now() WHERE id = $2`, [state, id])
        : await this.pg.pool.query(`UPDATE ${this.pg.t.messages} SET state = $1, reason = $2, updated_at = now() WHERE id = $3`, [
            state,
            reason,
            id,
          ]);
    if (r.rowCount === 0) throw messageMissing(id);
  }

  async putContent(id: string, name: string, data: Buffer): Promise<void> {
    if (!Buffer.isBuffer(data)) throw new TypeError('putContent: data must be a Buffer');
    this.pg.checkReady();
    try {
      await this.pg.pool.query(
        `INSERT INTO ${this.pg.t.contents} (message_id, name, data) VALUES ($1, $2, $3)
         ON CONFLICT (message_id, name) DO UPDATE SET data = EXCLUDED.data`,
        [id, name, data],
      );
    } catch (e) {
      if (isForeignKeyError(e)) throw messageMissing(id, e);
      throw e;
    }
  }

  async getContent(id: string, name: string): Promise<Buffer | undefined> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ data: Buffer }>(
      `SELECT data FROM ${this.pg.t.contents} WHERE message_id = $1 AND name = $2`,
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
    this.pg.checkReady();
    const { deliveries: d, open, messages } = this.pg.t;
    try {
      // One statement: the delivery row and its open row change together.
      await this.pg.pool.query(
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
    this.pg.checkReady();
    const { messages, open, deliveries } = this.pg.t;
    const r = await this.pg.pool.query<{ n: number }>(
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
    this.pg.checkReady();
    const r = await this.pg.pool.query<DeliveryRow>(
      `SELECT * FROM ${this.pg.t.deliveries} WHERE message_id = $1 AND destination = $2`,
      [id, destination],
    );
    return r.rows[0] ? toDelivery(r.rows[0]) : undefined;
  }

  async deliveries(id: string): Promise<DeliveryRecord[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<DeliveryRow>(
      `SELECT * FROM ${this.pg.t.deliveries} WHERE message_id = $1 ORDER BY destination`,
      [id],
    );
    return r.rows.map(toDelivery);
  }

  async pending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    checkLimit(limit);
    this.pg.checkReady();
    const r = await this.pg.pool.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM ${this.pg.t.messages}
        WHERE channel = $1 AND seq > $2 AND state NOT IN (${TERMINAL_SQL})
        ORDER BY seq LIMIT $3`,
      [channel, afterSeq, limit],
    );
    return r.rows.map(toMessage);
  }

  async earlierPending(channel: string, orderingKey: string, beforeSeq: number, limit: number, destination?: string): Promise<StoredMessage[]> {
    checkLimit(limit);
    this.pg.checkReady();
    const r =
      destination === undefined
        ? await this.pg.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM ${this.pg.t.messages}
              WHERE channel = $1 AND ordering_key = $2 AND seq < $3 AND state IN (${INBOUND_SQL})
              ORDER BY seq LIMIT $4`,
            [channel, orderingKey, beforeSeq, limit],
          )
        : await this.pg.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS_M} FROM ${this.pg.t.open} o JOIN ${this.pg.t.messages} m ON m.seq = o.seq
              WHERE o.channel = $1 AND o.destination = $2 AND o.ordering_key = $3 AND o.seq < $4
              ORDER BY o.seq LIMIT $5`,
            [channel, destination, orderingKey, beforeSeq, limit],
          );
    return r.rows.map(toMessage);
  }

  async inboundPending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    checkLimit(limit);
    this.pg.checkReady();
    const m = this.pg.t.messages;
    const r = await this.pg.pool.query<MessageRow>(
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
    this.pg.checkReady();
    const r = await this.pg.pool.query<OpenDeliveryRow>(
      `SELECT ${OPEN_COLUMNS} FROM ${this.pg.t.open}
        WHERE channel = $1 AND (seq, destination) > ($2, $3)
        ORDER BY seq, destination LIMIT $4`,
      [channel, afterSeq, afterDestination, limit],
    );
    return r.rows.map(toOpenDelivery);
  }

  async repairRouted(channel: string, destinations: readonly string[], afterSeq: number, limit: number): Promise<RepairPage> {
    checkDestinations(destinations);
    checkLimit(limit);
    this.pg.checkReady();
    const { messages, open, deliveries } = this.pg.t;
    const page = await this.pg.pool.query<{ seq: string }>(
      `SELECT seq FROM ${messages} WHERE channel = $1 AND state = 'routed' AND seq > $2 ORDER BY seq LIMIT $3`,
      [channel, afterSeq, limit],
    );
    if (page.rows.length === 0) return { lastSeq: afterSeq, scanned: 0, settled: [] };
    const lo = Number(page.rows[0]!.seq);
    const hi = Number(page.rows[page.rows.length - 1]!.seq);
    const dests = [...destinations];
    await this.pg.pool.query(
      `INSERT INTO ${open} (${OPEN_COLUMNS})
       SELECT m.id, d.dest, m.channel, m.ordering_key, m.seq, now() FROM ${messages} m CROSS JOIN unnest($4::text[]) AS d(dest)
        WHERE m.channel = $1 AND m.state = 'routed' AND m.seq BETWEEN $2 AND $3
          AND NOT EXISTS (SELECT 1 FROM ${deliveries} x WHERE x.message_id = m.id AND x.destination = d.dest AND x.state IN (${FINAL_DELIVERY_SQL}))
       ON CONFLICT DO NOTHING`,
      [channel, lo, hi, dests],
    );
    const settled = await this.pg.pool.query<{ id: string }>(
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
    this.pg.checkReady();
    if (state !== undefined) checkState(state);
    const r =
      state === undefined
        ? await this.pg.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM ${this.pg.t.messages} WHERE channel = $1 ORDER BY seq DESC LIMIT $2`,
            [channel, limit],
          )
        : await this.pg.pool.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM ${this.pg.t.messages} WHERE channel = $1 AND state = $2 ORDER BY seq DESC LIMIT $3`,
            [channel, state, limit],
          );
    return r.rows.map(toMessage);
  }

  async counts(channel: string): Promise<StoreCounts> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM ${this.pg.t.messages} WHERE channel = $1 GROUP BY state`,
      [channel],
    );
    const out: StoreCounts = zeroCounts();
    for (const row of r.rows) out[row.state] = row.n;
    return out;
  }
}

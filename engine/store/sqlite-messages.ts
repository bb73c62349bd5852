/**
 * Messages, their contents and deliveries on the SQLite store (SqliteStore delegates here):
 * reads, state changes, routing, the lines the pipeline walks and the start-up repair.
 */
import type Database from 'better-sqlite3';
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
import type { SqliteHandle } from './sqlite-handle';

function isForeignKeyError(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export type MessageStatements = ReturnType<typeof prepareMessageStatements>;

export function prepareMessageStatements(db: Database.Database) {
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
  };
}

export class SqliteMessages {
  constructor(private readonly handle: () => SqliteHandle) {}

  async get(id: string): Promise<StoredMessage | undefined> {
    const row = this.handle().messages.get.get(id);
    return row ? toMessage(row) : undefined;
  }

  async raw(id: string): Promise<Buffer | undefined> {
    return this.handle().messages.raw.get(id)?.raw;
  }

  async setState(id: string, state: MessageState, reason?: string | null): Promise<void> {
    checkState(state);
    const st = this.handle().messages;
    const info =
      reason === undefined ? st.setState.run(state, Date.now(), id) : st.setStateReason.run(state, reason, Date.now(), id);
    if (info.changes === 0) throw messageMissing(id);
  }

  async putContent(id: string, name: string, data: Buffer): Promise<void> {
    if (!Buffer.isBuffer(data)) throw new TypeError('putContent: data must be a Buffer');
    try {
      this.handle().messages.putContent.run(id, name, data);
    } catch (e) {
      if (isForeignKeyError(e)) throw messageMissing(id, e);
      throw e;
    }
  }

  async getContent(id: string, name: string): Promise<Buffer | undefined> {
    return this.handle().messages.getContent.get(id, name)?.data;
  }

  async setDelivery(
    id: string,
    destination: string,
    state: DeliveryState,
    detail?: string | null,
    attempt?: boolean,
  ): Promise<void> {
    checkDeliveryState(state);
    const { db, messages: st } = this.handle();
    const now = Date.now();
    try {
      db.transaction(() => {
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
    const { db, messages: st } = this.handle();
    const now = Date.now();
    db.transaction(() => {
      if (st.setRouted.run(now, id).changes === 0) throw messageMissing(id);
      for (const destination of destinations) st.openIfNotFinal.run({ id, destination, now });
    }).immediate();
  }

  async getDelivery(id: string, destination: string): Promise<DeliveryRecord | undefined> {
    const row = this.handle().messages.getDelivery.get(id, destination);
    return row ? toDelivery(row) : undefined;
  }

  async deliveries(id: string): Promise<DeliveryRecord[]> {
    return this.handle().messages.deliveries.all(id).map(toDelivery);
  }

  async pending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.handle().messages.pending.all(channel, afterSeq, checkLimit(limit)).map(toMessage);
  }

  async earlierPending(channel: string, orderingKey: string, beforeSeq: number, limit: number, destination?: string): Promise<StoredMessage[]> {
    const st = this.handle().messages;
    checkLimit(limit);
    const rows =
      destination === undefined
        ? st.earlierInbound.all(channel, orderingKey, beforeSeq, limit)
        : st.earlierUndelivered.all(channel, destination, orderingKey, beforeSeq, limit);
    return rows.map(toMessage);
  }

  async inboundPending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    checkLimit(limit);
    return this.handle().messages.inboundPending.all(channel, afterSeq, limit, channel, afterSeq, limit, limit).map(toMessage);
  }

  async openDeliveries(channel: string, afterSeq: number, afterDestination: string, limit: number): Promise<OpenDelivery[]> {
    checkLimit(limit);
    return this.handle().messages.openDeliveries.all(channel, afterSeq, afterDestination, limit).map(toOpenDelivery);
  }

  async repairRouted(channel: string, destinations: readonly string[], afterSeq: number, limit: number): Promise<RepairPage> {
    checkDestinations(destinations);
    checkLimit(limit);
    const { db, messages: st } = this.handle();
    return db.transaction((): RepairPage => {
      const seqs = st.routedPage.all(channel, afterSeq, limit);
      if (seqs.length === 0) return { lastSeq: afterSeq, scanned: 0, settled: [] };
      const range = { channel, lo: seqs[0]!.seq, hi: seqs[seqs.length - 1]!.seq, dests: JSON.stringify(destinations) };
      st.repairOpen.run({ ...range, now: Date.now() });
      const settled = st.repairSettled.all(range).map((r) => r.id);
      return { lastSeq: range.hi, scanned: seqs.length, settled };
    }).immediate();
  }

  async list(channel: string, state: MessageState | undefined, limit: number): Promise<StoredMessage[]> {
    const st = this.handle().messages;
    checkLimit(limit);
    if (state === undefined) return st.listAll.all(channel, limit).map(toMessage);
    checkState(state);
    return st.listState.all(channel, state, limit).map(toMessage);
  }

  async counts(channel: string): Promise<StoreCounts> {
    const out: StoreCounts = zeroCounts();
    for (const r of this.handle().messages.counts.all(channel)) out[r.state] = r.n;
    return out;
  }
}

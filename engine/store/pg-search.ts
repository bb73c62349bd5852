/**
 * The operations console's message search on the PostgreSQL store (PgStore delegates here): a
 * message's search keys, and searchMessages as one statement.
 */
import type { MessageKey, MessageQuery, StoredMessage } from './types';
import { MESSAGE_COLUMNS_M, checkQuery, queryKeys, toMessage, type MessageRow } from './common';
import type { PgContext } from './pg-context';

export class PgSearch {
  constructor(private readonly pg: PgContext) {}

  async messageKeys(id: string): Promise<MessageKey[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ kind: MessageKey['kind']; value: string }>(
      `SELECT k.kind, k.value FROM ${this.pg.t.messages} m JOIN ${this.pg.t.keys} k ON k.seq = m.seq WHERE m.id = $1 ORDER BY k.kind, k.value`,
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
    this.pg.checkReady();
    if (q.limit === 0) return [];
    const args: unknown[] = [];
    const arg = (v: unknown): string => `$${args.push(v)}`;
    const where: string[] = [];
    const keys = queryKeys(q);
    let from = `${this.pg.t.messages} m`;
    let order = 'm.seq';
    if (keys.length > 0) {
      const lead = keys[0]!;
      from = `${this.pg.t.keys} k JOIN ${this.pg.t.messages} m ON m.seq = k.seq`;
      order = 'k.seq';
      where.push(`k.kind = ${arg(lead.kind)}`, `k.value = ${arg(lead.value)}`);
      if (q.beforeSeq !== undefined) where.push(`k.seq < ${arg(q.beforeSeq)}`);
      for (const k of keys.slice(1)) {
        where.push(`EXISTS (SELECT 1 FROM ${this.pg.t.keys} x WHERE x.seq = m.seq AND x.kind = ${arg(k.kind)} AND x.value = ${arg(k.value)})`);
      }
    } else if ((q.from !== undefined || q.to !== undefined) && q.controlId === undefined) {
      order = 'm.received_at DESC, m.channel DESC, m.seq';
      if (q.beforeSeq !== undefined) {
        // After the message the cursor names (or the one stored just before it, when pruned since).
        const b = arg(q.beforeSeq);
        where.push(`(m.received_at, m.channel, m.seq) < (SELECT c.received_at, c.channel, CASE WHEN c.seq = ${b} THEN c.seq ELSE c.seq + 1 END
                        FROM ${this.pg.t.messages} c WHERE c.seq <= ${b} ORDER BY c.seq DESC LIMIT 1)`);
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
    const r = await this.pg.pool.query<MessageRow>(sql, args);
    return r.rows.map(toMessage);
  }
}

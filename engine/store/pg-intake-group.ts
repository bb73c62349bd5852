/**
 * One intake group as ONE round trip to PostgreSQL: a simple-protocol query string holding
 * BEGIN, the advisory locks of every deduplicated key (taken in hash order, so two processes
 * locking overlapping groups cannot deadlock), one statement per message in arrival order, and
 * COMMIT. Each statement runs in a fresh snapshot (READ COMMITTED) taken after the locks, so the
 * duplicate look-up sees what other processes committed for those keys, and what the earlier
 * statements of the same group inserted (dedupe stays exact inside a group). The simple protocol
 * takes no parameters: values are written as literals (`escapeLiteral`, bytea as hex).
 */
import { escapeLiteral } from 'pg';
import type { InboundMessage, MessageKey, ReceiveResult } from './types';
import { dedupes } from './common';

export interface PgIntakeItem {
  id: string;
  msg: InboundMessage;
  windowMs: number;
  /** Search keys, normalised (common.ts normaliseKeys): inserted in the message's statement. */
  keys: MessageKey[];
}

export interface GroupQuery {
  sql: string;
  /** Index, in the query's results, of each item's statement. */
  statementOf: number[];
}

/** Whether the group can travel as literals: PostgreSQL text cannot hold NUL (the parameter path reports it per message). */
export function literalSafe(items: PgIntakeItem[]): boolean {
  for (const { msg } of items) {
    for (const v of [msg.channel, msg.controlId, msg.sender, msg.messageType, msg.orderingKey, msg.charset, msg.reason ?? '']) {
      if (v.includes('\u0000')) return false;
    }
  }
  return true;
}

export function lockKey(schema: string, msg: InboundMessage): string {
  return [schema, msg.channel, msg.sender, msg.controlId].join('\u001f');
}

const ts = (ms: number): string => `'${new Date(ms).toISOString()}'::timestamptz`;
const bytea = (b: Buffer): string => `decode('${b.toString('hex')}', 'hex')`;

/** The keys of a message, inserted with the row `ins` returns (nothing when it was a duplicate). */
function keysInsert(keysTable: string, keys: MessageKey[]): string {
  const values = keys.map((k) => `(${escapeLiteral(k.kind)}, ${escapeLiteral(k.value)})`).join(', ');
  return `INSERT INTO ${keysTable} (seq, kind, value) SELECT ins.seq, v.kind, v.value FROM ins CROSS JOIN (VALUES ${values}) AS v(kind, value)`;
}

export function groupQuery(schema: string, messages: string, items: PgIntakeItem[], forceSyncCommit: boolean, keysTable: string): GroupQuery {
  const parts: string[] = ['BEGIN'];
  if (forceSyncCommit) parts.push('SET LOCAL synchronous_commit TO on');
  const keys = items.filter((i) => dedupes(i.msg, i.windowMs)).map((i) => escapeLiteral(lockKey(schema, i.msg)));
  if (keys.length > 0) {
    parts.push(
      `SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(ARRAY[${keys.join(', ')}]::text[]) AS k ORDER BY 1) AS locks`,
    );
  }
  const statementOf: number[] = [];
  for (const { id, msg, windowMs, keys } of items) {
    const values = [
      escapeLiteral(id),
      escapeLiteral(msg.channel),
      escapeLiteral(msg.controlId),
      escapeLiteral(msg.sender),
      escapeLiteral(msg.messageType),
      escapeLiteral(msg.orderingKey),
      escapeLiteral(msg.charset),
      ts(msg.receivedAt.getTime()),
      escapeLiteral(msg.state),
      msg.reason === undefined || msg.reason === null ? 'NULL' : escapeLiteral(msg.reason),
      'now()',
      bytea(msg.ack),
      bytea(msg.raw),
    ].join(', ');
    const columns = '(id, channel, control_id, sender, message_type, ordering_key, charset, received_at, state, reason, updated_at, ack, raw)';
    statementOf.push(parts.length);
    if (!dedupes(msg, windowMs)) {
      parts.push(
        keys.length === 0
          ? `INSERT INTO ${messages} ${columns} VALUES (${values})`
          : `WITH ins AS (INSERT INTO ${messages} ${columns} VALUES (${values}) RETURNING seq) ${keysInsert(keysTable, keys)}`,
      );
      continue;
    }
    const from = msg.receivedAt.getTime() - windowMs;
    parts.push(
      `WITH dup AS (SELECT id, ack FROM ${messages}
                     WHERE channel = ${escapeLiteral(msg.channel)} AND sender = ${escapeLiteral(msg.sender)}
                       AND control_id = ${escapeLiteral(msg.controlId)} AND received_at >= ${ts(from)} AND state <> 'refused'
                     ORDER BY received_at DESC, seq DESC LIMIT 1),
            ins AS (INSERT INTO ${messages} ${columns} SELECT ${values} WHERE NOT EXISTS (SELECT 1 FROM dup) RETURNING seq)${
              keys.length === 0 ? '' : `,
            k AS (${keysInsert(keysTable, keys)})`
            }
       SELECT id, ack FROM dup`,
    );
  }
  parts.push('COMMIT');
  return { sql: parts.join(';\n'), statementOf };
}

/** The outcome of each item from the query's results (an array, one per statement). */
export function groupResults(items: PgIntakeItem[], q: GroupQuery, results: { rows: { id: string; ack: Buffer }[] }[]): ReceiveResult[] {
  return items.map((item, i) => {
    const row = results[q.statementOf[i]!]?.rows?.[0];
    return row ? { duplicate: true, id: row.id, ack: row.ack } : { duplicate: false, id: item.id };
  });
}

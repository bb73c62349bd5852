/**
 * The operations console's message search on the SQLite store (SqliteStore delegates here): a
 * message's search keys, and searchMessages with one bounded plan per kind of query.
 */
import type Database from 'better-sqlite3';
import type { MessageKey, MessageQuery, StoredMessage } from './types';
import { MESSAGE_COLUMNS, MESSAGE_COLUMNS_M, checkQuery, queryKeys, toMessage, type MessageRow } from './common';
import type { SqliteHandle } from './sqlite-handle';

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

export type SearchStatements = ReturnType<typeof prepareSearchStatements>;

export function prepareSearchStatements(db: Database.Database) {
  return {
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
  };
}

export class SqliteSearch {
  constructor(private readonly handle: () => SqliteHandle) {}

  async messageKeys(id: string): Promise<MessageKey[]> {
    return this.handle().search.keysOf.all(id).map((r) => ({ kind: r.kind, value: r.value }));
  }

  /**
   * One plan per kind of query, each bounded (docs/design.md "Operations console"): by key, by
   * control id, by a narrow date range (its seqs from messages_received, sorted), else by the
   * (channel, state) lines of messages_by_state merged newest first; a wide date range walks
   * those lines too, filtering on the row.
   */
  async searchMessages(q: MessageQuery): Promise<StoredMessage[]> {
    checkQuery(q);
    const st = this.handle().search;
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
}

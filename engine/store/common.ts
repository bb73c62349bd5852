import { randomBytes } from 'node:crypto';
import { PasserelleError } from '../errors';
import type { DeliveryRecord, DeliveryState, IndicatorRow, InboundMessage, MessageKey, MessageQuery, MessageState, OpenDelivery, StoredMessage, StoredReportVersion, StoredVersionDelivery } from './types';
import { TERMINAL_STATES } from './types';

/** Every state, in life order; `counts()` reports each of them (0 when none). */
export const ALL_STATES: readonly MessageState[] = ['received', 'processing', 'routed', 'done', 'filtered', 'refused', 'dead', 'discarded'];
export const NON_TERMINAL_STATES: readonly MessageState[] = ALL_STATES.filter((s) => !TERMINAL_STATES.includes(s));
const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'delivered', 'dead'];

/** Rows deleted per prune transaction: short enough never to hold the write lock for long. */
export const PRUNE_CHUNK = 1000;

/**
 * A message id: a UUIDv7-shaped string (48-bit millisecond timestamp, then 74 random bits), so
 * ids sort roughly by creation time and stay unique across processes sharing one database.
 */
// randomBytes(16) per id cost ≈20 µs on the intake path; draw entropy in blocks instead.
let pool = Buffer.alloc(0);
let poolAt = 0;

export function newMessageId(): string {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(16 * 256);
    poolAt = 0;
  }
  const b = Buffer.from(pool.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  b.writeUIntBE(Date.now(), 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70; // version 7
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Rejects malformed input before it reaches SQL (a wrong type would otherwise be stored as-is). */
export function checkInbound(msg: InboundMessage, dedupeWindowMs: number): void {
  const bad = (what: string): never => {
    throw new TypeError(`store.receive: ${what}`);
  };
  for (const k of ['channel', 'controlId', 'sender', 'messageType', 'orderingKey', 'charset'] as const) {
    if (typeof msg[k] !== 'string') bad(`${k} must be a string`);
  }
  if (msg.channel === '') bad('channel must not be empty');
  if (!Buffer.isBuffer(msg.raw)) bad('raw must be a Buffer');
  if (!Buffer.isBuffer(msg.ack)) bad('ack must be a Buffer');
  if (!(msg.receivedAt instanceof Date) || Number.isNaN(msg.receivedAt.getTime())) bad('receivedAt must be a valid Date');
  if (msg.state !== 'received' && msg.state !== 'refused') bad(`initial state must be received or refused, not ${String(msg.state)}`);
  if (msg.reason !== undefined && msg.reason !== null && typeof msg.reason !== 'string') bad('reason must be a string');
  if (typeof dedupeWindowMs !== 'number' || !(dedupeWindowMs >= 0)) bad('dedupeWindowMs must be a number >= 0');
}

/**
 * Whether this message takes part in dedupe. Empty control ids never do. Duplicates are only
 * looked for among accepted messages: a refused original is not a reason to replay its NAK to a
 * corrected resend carrying the same MSH-10 (see `receive` in the stores).
 */
export function dedupes(msg: InboundMessage, dedupeWindowMs: number): boolean {
  return dedupeWindowMs > 0 && msg.controlId !== '';
}

export function checkState(state: MessageState): void {
  if (!ALL_STATES.includes(state)) throw new TypeError(`unknown message state: ${String(state)}`);
}

export function checkDeliveryState(state: DeliveryState): void {
  if (!DELIVERY_STATES.includes(state)) throw new TypeError(`unknown delivery state: ${String(state)}`);
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`limit must be an integer >= 0, got ${String(limit)}`);
  return limit;
}

export function storeUnavailable(cause: unknown): PasserelleError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new PasserelleError('PSL_STORE_UNAVAILABLE', `the message store could not commit: ${detail}`, { cause });
}

export function messageMissing(id: string, cause?: unknown): PasserelleError {
  return new PasserelleError('PSL_MESSAGE_MISSING', `no message ${id} in the store`, { cause, details: { messageId: id } });
}

export function zeroCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of ALL_STATES) out[s] = 0;
  return out;
}

/** A messages row as either driver returns it (SQLite: numbers; PostgreSQL: BIGINT string, Dates). */
export interface MessageRow {
  seq: number | string;
  id: string;
  channel: string;
  control_id: string;
  sender: string;
  message_type: string;
  ordering_key: string;
  charset: string;
  received_at: number | Date;
  state: MessageState;
  reason: string | null;
  ack: Buffer;
  updated_at: number | Date;
}

export interface DeliveryRow {
  message_id: string;
  destination: string;
  state: DeliveryState;
  attempts: number;
  detail: string | null;
  updated_at: number | Date;
}

export const sqlList = (states: readonly string[]): string => states.map((s) => `'${s}'`).join(', ');
export const TERMINAL_SQL = sqlList(TERMINAL_STATES);
/** States of a message waiting for the inbound stage (the partial index messages_key_inbound). */
export const INBOUND_SQL = sqlList(['received', 'processing']);
/** Delivery states that close an open delivery. */
export const FINAL_DELIVERY_SQL = sqlList(['delivered', 'dead']);

/** An open_deliveries row as either driver returns it. */
export interface OpenDeliveryRow {
  message_id: string;
  destination: string;
  channel: string;
  ordering_key: string;
  seq: number | string;
  opened_at: number | Date;
}

export const OPEN_COLUMNS = 'message_id, destination, channel, ordering_key, seq, opened_at';

export function toOpenDelivery(r: OpenDeliveryRow): OpenDelivery {
  return {
    messageId: r.message_id,
    destination: r.destination,
    channel: r.channel,
    orderingKey: r.ordering_key,
    seq: Number(r.seq),
    openedAt: new Date(r.opened_at),
  };
}

/** Rejects destination lists that are not non-empty strings. */
export function checkDestinations(destinations: readonly string[]): void {
  if (!Array.isArray(destinations) || destinations.some((d) => typeof d !== 'string' || d === '')) {
    throw new TypeError('destinations must be non-empty strings');
  }
}

/** Columns of StoredMessage; `raw` is left out on purpose (read it with `raw()`). */
export const MESSAGE_COLUMNS =
  'seq, id, channel, control_id, sender, message_type, ordering_key, charset, received_at, state, reason, ack, updated_at';
/** The same, qualified with the alias `m` (queries joining open_deliveries). */
export const MESSAGE_COLUMNS_M = MESSAGE_COLUMNS.split(', ').map((c) => `m.${c}`).join(', ');

export function toMessage(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    seq: Number(r.seq),
    channel: r.channel,
    controlId: r.control_id,
    sender: r.sender,
    messageType: r.message_type,
    orderingKey: r.ordering_key,
    charset: r.charset,
    receivedAt: new Date(r.received_at),
    state: r.state,
    reason: r.reason,
    ack: r.ack,
    updatedAt: new Date(r.updated_at),
  };
}

export function toDelivery(r: DeliveryRow): DeliveryRecord {
  return {
    messageId: r.message_id,
    destination: r.destination,
    state: r.state,
    attempts: r.attempts,
    detail: r.detail,
    updatedAt: new Date(r.updated_at),
  };
}

/** Name of the per-channel counter of refused messages deleted by the quota. */
export const REFUSALS_DROPPED = 'refusals_dropped';

/**
 * Refused rows of a channel beyond the quota, newest kept first: a row goes when the rows
 * newer than it (itself included) pass the count or the byte budget. `$n` placeholders are
 * written by the caller (`?` for SQLite, `$1..$3` for PostgreSQL): channel, maxCount, maxBytes.
 */
export function refusalVictimsSql(table: string, p: [string, string, string], lengthFn: 'length' | 'octet_length'): string {
  const size = `${lengthFn}(raw) + ${lengthFn}(ack)`;
  return `SELECT seq FROM (
      SELECT seq,
             count(*) OVER (ORDER BY seq DESC) AS n_newer,
             sum(${size}) OVER (ORDER BY seq DESC) AS b_newer
        FROM ${table} WHERE channel = ${p[0]} AND state = 'refused') r
     WHERE n_newer > ${p[1]} OR b_newer > ${p[2]}`;
}

export function checkQuota(q: { maxCount: number; maxBytes: number }): void {
  if (!Number.isInteger(q.maxCount) || q.maxCount < 0 || !Number.isInteger(q.maxBytes) || q.maxBytes < 0) {
    throw new TypeError(`refusal quota must be non-negative integers, got ${JSON.stringify(q)}`);
  }
}

/** A `version_deliveries` row as both stores read it (SQLite gives ms since epoch, PostgreSQL a Date). */
export interface VersionDeliveryRow {
  lab: string;
  filler_order: string;
  version: number;
  target: string;
  state: string;
  detail: string | null;
  updated_at: number | Date;
}

export function versionDeliveryOf(r: VersionDeliveryRow): StoredVersionDelivery {
  return { lab: r.lab, fillerOrder: r.filler_order, version: r.version, target: r.target, state: r.state as StoredVersionDelivery['state'], detail: r.detail, updatedAt: new Date(r.updated_at) };
}

/** At most this many search keys per message, of at most this many characters (engine/channels/search-keys.ts cuts the same way). */
export const MAX_KEYS = 32;
export const MAX_KEY_LENGTH = 64;
const KEY_KINDS: ReadonlySet<string> = new Set(['ins', 'patient', 'order']);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The keys a store writes: known kinds, non-empty values without control characters (the
 * SQLite journal packs them with one; PostgreSQL text cannot hold NUL), cut to MAX_KEY_LENGTH,
 * deduplicated, at most MAX_KEYS. Anything else is left out, never a reason to refuse a message.
 */
export function normaliseKeys(keys: readonly MessageKey[] | undefined): MessageKey[] {
  if (!Array.isArray(keys) || keys.length === 0) return [];
  const out: MessageKey[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    if (out.length >= MAX_KEYS) break;
    if (!k || typeof k.value !== 'string' || !KEY_KINDS.has(k.kind)) continue;
    const value = k.value.length > MAX_KEY_LENGTH ? k.value.slice(0, MAX_KEY_LENGTH) : k.value;
    if (value === '' || CONTROL.test(value)) continue;
    const id = `${k.kind}\u0000${value}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ kind: k.kind, value });
  }
  return out;
}

/** The key filters of a query, most selective kind first (an order number names one lab file). */
export function queryKeys(q: MessageQuery): MessageKey[] {
  const out: MessageKey[] = [];
  if (q.order !== undefined) out.push({ kind: 'order', value: q.order });
  if (q.ins !== undefined) out.push({ kind: 'ins', value: q.ins });
  if (q.patient !== undefined) out.push({ kind: 'patient', value: q.patient });
  return out;
}

/** Rejects malformed searches before they reach SQL. */
export function checkQuery(q: MessageQuery): void {
  if (!q || typeof q !== 'object') throw new TypeError('searchMessages: a query object is required');
  checkLimit(q.limit);
  if (q.state !== undefined) checkState(q.state);
  for (const k of ['channel', 'controlId', 'order', 'patient', 'ins'] as const) {
    if (q[k] !== undefined && typeof q[k] !== 'string') throw new TypeError(`searchMessages: ${k} must be a string`);
  }
  for (const k of ['from', 'to'] as const) {
    const d = q[k];
    if (d !== undefined && (!(d instanceof Date) || Number.isNaN(d.getTime()))) throw new TypeError(`searchMessages: ${k} must be a valid Date`);
  }
  if (q.beforeSeq !== undefined && (typeof q.beforeSeq !== 'number' || Number.isNaN(q.beforeSeq))) throw new TypeError('searchMessages: beforeSeq must be a number');
}

/** Target kind of a version delivery: `dmp`, `mss`, `pfi`, `pfi>dmp`, `pfi>mss`, `mss>dsn`… (the part before `:`). */
export function targetKind(target: string): string {
  const i = target.indexOf(':');
  return i < 0 ? target : target.slice(0, i);
}

/** Version delivery states that are failures or holds an operator should see. */
export const VD_FAILURE_STATES = ['dead', 'failed', 'held'] as const;
/** Failures kept per destination / target kind in the stats. */
export const LAST_FAILURES = 10;
/** Failure details are cut to this many characters in the stats. */
export const FAILURE_DETAIL_MAX = 500;

export function boundDetail(d: string | null): string {
  const s = d ?? '';
  return s.length > FAILURE_DETAIL_MAX ? s.slice(0, FAILURE_DETAIL_MAX) : s;
}

/** Every version delivery state, for SQL that names them all (an IN list on version_deliveries_queued). */
export const VD_STATES_SQL = sqlList(['queued', 'sent', 'held', 'dead', 'acknowledged', 'failed']);

/** A version_deliveries row joined with its version's facts, as either driver returns it. */
export interface IndicatorDbRow {
  lab: string;
  filler_order: string;
  version: number;
  target: string;
  state: string;
  updated_at: number | Date;
  finess: string | null;
  rpps: string | null;
  ins_qualified: number | boolean | null;
  status: string | null;
}

export function indicatorRowOf(r: IndicatorDbRow): IndicatorRow {
  const out: IndicatorRow = {
    lab: r.lab,
    fillerOrder: r.filler_order,
    version: Number(r.version),
    target: r.target,
    state: r.state as StoredVersionDelivery['state'],
    updatedAt: new Date(r.updated_at),
    // Versions reserved before facts were recorded count as without a qualified INS.
    insQualified: r.ins_qualified === true || r.ins_qualified === 1,
  };
  if (r.finess !== null) out.finess = r.finess;
  if (r.rpps !== null) out.rpps = r.rpps;
  if (r.status !== null) out.status = r.status as StoredReportVersion['status'];
  return out;
}

/**
 * Counts of the last 1, 5 and 60 minutes from time buckets (`bucket` = ms / width): a bucket
 * counts when it began inside the window, so each figure is within one bucket of the truth.
 */
export function windowCounts(buckets: { bucket: number | string; n: number | string }[], now: number, width: number): { m1: number; m5: number; m60: number } {
  const out = { m1: 0, m5: 0, m60: 0 };
  for (const b of buckets) {
    const start = Number(b.bucket) * width;
    const n = Number(b.n);
    if (start > now) continue;
    if (start >= now - 3_600_000) out.m60 += n;
    if (start >= now - 300_000) out.m5 += n;
    if (start >= now - 60_000) out.m1 += n;
  }
  return out;
}

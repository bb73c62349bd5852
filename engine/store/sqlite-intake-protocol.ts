/**
 * Messages between the SQLite store and its writer thread. A group travels as ONE ArrayBuffer,
 * transferred (not cloned): structured cloning of row objects cost more than the commit saved.
 * Layout per row: receivedAt, updatedAt, dedupeFrom (float64, NaN = no dedupe), then id,
 * channel, controlId, sender, messageType, orderingKey, charset, state, reason, keys (uint32
 * length + UTF-8; 0xFFFFFFFF = null), then ack and raw (uint32 length + bytes). Journal records
 * written before search keys existed have no `keys` string: their header's row count does not
 * carry WITH_KEYS, and they are read without it (a journal left by the previous version replays).
 */
import type { IntakeRow } from './sqlite-intake';

export interface WriterData {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs: number;
  /** The connection's autocheckpoint threshold (a safety net when a checkpointer thread runs). */
  autocheckpointPages: number;
  /** Only indexes journalled rows (nothing waits for it): run at a lower priority. */
  background?: boolean;
}

export interface GroupRequest {
  type: 'group';
  group: number;
  count: number;
  bytes: ArrayBuffer;
}

/**
 * Journalled rows to index (sqlite-intake-journal.ts): already ACKed, so inserted as they are,
 * in one transaction, `INSERT OR IGNORE` (a retry or a replay is a no-op), no dedupe. The
 * thread reads them from the journal file (page cache): nothing is copied between threads.
 */
export interface IndexRequest {
  type: 'index';
  group: number;
  span: JournalSpan;
}

/** Whole records of a journal file: `length` bytes from `offset`. */
export interface JournalSpan {
  file: string;
  offset: number;
  length: number;
}

/** Journal record: uint32 LE payload length, uint32 LE row count, uint32 LE CRC-32 of the payload, then the payload (`encodeGroup`). */
export const RECORD_HEADER_BYTES = 12;
/** Bit of a record's row count saying its rows carry their search keys (every record written now). */
export const WITH_KEYS = 0x80000000;

/**
 * The rows of the whole records in `data`, in order, up to the first torn or corrupt one
 * (`crc32` given: checked); `end` is where reading stopped.
 */
export function decodeRecords(data: Buffer, crc32?: (b: Uint8Array) => number): { rows: IntakeRow[]; end: number } {
  const rows: IntakeRow[] = [];
  let at = 0;
  while (at + RECORD_HEADER_BYTES <= data.length) {
    const length = data.readUInt32LE(at);
    const header = data.readUInt32LE(at + 4);
    const body = data.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
    if (body.length < length || (crc32 && crc32(body) !== data.readUInt32LE(at + 8))) break;
    for (const r of decodeGroup(body, (header & ~WITH_KEYS) >>> 0, (header & WITH_KEYS) !== 0)) rows.push(r);
    at += RECORD_HEADER_BYTES + length;
  }
  return { rows, end: at };
}

/** Reads a span of a journal file (whole records). */
export function readSpan(fs: typeof import('node:fs'), span: JournalSpan): Buffer {
  const buf = Buffer.allocUnsafe(span.length);
  const fd = fs.openSync(span.file, 'r');
  try {
    let got = 0;
    while (got < span.length) {
      const n = fs.readSync(fd, buf, got, span.length - got, span.offset + got);
      if (n === 0) throw new Error(`journal ${span.file}: ${span.length - got} bytes missing at ${span.offset + got}`);
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

/** Rows encoded by `encodeGroup`: `length` bytes of `bytes` are used. */
export interface EncodedGroup {
  bytes: ArrayBuffer;
  length: number;
  count: number;
}

export interface PlainError {
  message: string;
  code?: string;
}

export type PackedOutcome = { dup: { id: string; ack: Uint8Array } | null } | { error: PlainError };

/** `outcomes` absent with no `fatal`: every row was inserted (the common case, kept small). */
export interface GroupReply {
  type: 'done';
  group: number;
  outcomes?: PackedOutcome[];
  fatal?: PlainError;
  /** Index requests: rows SQLite refused on their own (the others committed). */
  rejected?: { id: string; error: PlainError }[];
}

const NULL_LENGTH = 0xffffffff;
const STRINGS = ['id', 'channel', 'controlId', 'sender', 'messageType', 'orderingKey', 'charset', 'state'] as const;

/** Bytes `encodeGroup` may need for `rows` (an upper bound). */
export function groupBound(rows: IntakeRow[]): number {
  let max = 0;
  for (const r of rows) {
    max += 24 + 4 * (STRINGS.length + 3) + r.ack.length + r.raw.length;
    for (const k of STRINGS) max += r[k].length * 3;
    if (r.reason !== null) max += r.reason.length * 3;
    max += 4 + (r.keys ? r.keys.length * 3 : 0);
  }
  return max;
}

export function encodeGroup(rows: IntakeRow[]): EncodedGroup {
  const bytes = new ArrayBuffer(groupBound(rows));
  const length = encodeGroupInto(rows, Buffer.from(bytes), 0);
  return { bytes, length, count: rows.length };
}

/**
 * Writes `rows` into `buf` from `start` (room for `groupBound(rows)` needed); returns the end.
 * `withKeys` false writes the layout of the version before search keys (tests of an old journal).
 */
export function encodeGroupInto(rows: IntakeRow[], buf: Buffer, start: number, withKeys = true): number {
  let at = start;
  const str = (s: string | null): void => {
    if (s === null) {
      buf.writeUInt32LE(NULL_LENGTH, at);
      at += 4;
      return;
    }
    const n = buf.write(s, at + 4, 'utf8');
    buf.writeUInt32LE(n, at);
    at += 4 + n;
  };
  const blob = (b: Uint8Array): void => {
    buf.writeUInt32LE(b.length, at);
    buf.set(b, at + 4);
    at += 4 + b.length;
  };
  for (const r of rows) {
    buf.writeDoubleLE(r.receivedAt, at);
    buf.writeDoubleLE(r.updatedAt, at + 8);
    buf.writeDoubleLE(r.dedupeFrom ?? Number.NaN, at + 16);
    at += 24;
    for (const k of STRINGS) str(r[k]);
    str(r.reason);
    if (withKeys) str(r.keys ?? null);
    blob(r.ack);
    blob(r.raw);
  }
  return at;
}

/** Rows whose ack and raw are views on `bytes` (no copy). */
export function decodeGroup(bytes: ArrayBuffer | Uint8Array, count: number, withKeys = true): IntakeRow[] {
  const buf = bytes instanceof Uint8Array ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.from(bytes);
  let at = 0;
  const str = (): string | null => {
    const n = buf.readUInt32LE(at);
    at += 4;
    if (n === NULL_LENGTH) return null;
    const s = buf.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  const blob = (): Buffer => {
    const n = buf.readUInt32LE(at);
    const b = buf.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return b;
  };
  const rows: IntakeRow[] = [];
  for (let i = 0; i < count; i++) {
    const receivedAt = buf.readDoubleLE(at);
    const updatedAt = buf.readDoubleLE(at + 8);
    const from = buf.readDoubleLE(at + 16);
    at += 24;
    const [id, channel, controlId, sender, messageType, orderingKey, charset, state] = STRINGS.map(() => str() ?? '');
    const reason = str();
    const keys = withKeys ? str() : null;
    const ack = blob();
    const raw = blob();
    rows.push({
      id: id!, channel: channel!, controlId: controlId!, sender: sender!, messageType: messageType!, orderingKey: orderingKey!, charset: charset!,
      state: state as IntakeRow['state'], reason, receivedAt, updatedAt, dedupeFrom: Number.isNaN(from) ? null : from, ack, raw, keys,
    });
  }
  return rows;
}

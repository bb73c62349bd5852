/**
 * Intake journal of the SQLite store (docs/design.md "Intake guarantee", issue 7): an intake
 * group is durable once appended to a journal file, and its ACKs go out then; the rows reach
 * the `messages` table a moment later, in larger transactions of the writer thread (or of the
 * loop), off the ACK path. An SQLite commit of one 4 KB row cost ≈ 100 µs of CPU on the loop
 * and a journal append of a group costs one `write`, which is what brings durable intake close
 * to a bare server.
 *
 * Files: `<db>-intake-<pid>-<handle>-<n>.jnl`, a new one past ROTATE_AT, the old removed once
 * indexed; `<db>-intake-<pid>-<handle>.lock`, a small SQLite file the handle keeps locked
 * (exclusive) while it lives, which is how a replay anywhere knows the files are in use. Durability is the one of the configured `synchronous` level: at NORMAL the append reaches
 * the OS page cache (survives a crash of the process, like SQLite's WAL at NORMAL); at FULL
 * the file is fdatasynced before the ACKs. A journal file is removed once every row in it is in
 * SQLite and appends moved to the next one (RETIRE_AT, ROTATE_AT); at start-up a journal left by a process that
 * is gone is replayed (rows whose id is not stored yet are inserted, in order) and removed.
 *
 * Until a row is indexed: a duplicate of it is recognised from memory (`recent`), and every
 * other store call waits for the rows written before it (`barrier()`), so a caller reads what
 * `receive()` acknowledged. Dedupe is exact within the process; another process sharing the
 * file sees the row once indexed (milliseconds later).
 *
 * Record layout: uint32 LE payload length, uint32 LE row count, uint32 LE CRC-32 of the
 * payload, then the payload (`encodeGroup`). A torn or corrupt record ends the replay of its
 * file: only its tail can be one, as appends are sequential.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { IntakeRow, RejectedRow } from './sqlite-intake';
import type { ReceiveResult } from './types';
import { wrapMethods } from './method-proxy';
import { RECORD_HEADER_BYTES, WITH_KEYS, decodeRecords, encodeGroupInto, groupBound, readSpan, type JournalSpan } from './sqlite-intake-protocol';

/**
 * Appends go to a new file when the index caught up with a file larger than RETIRE_AT, or when
 * one reaches ROTATE_AT (a load that never lets the index catch up); the old file is removed
 * once all of it is indexed, in the background: unlinking 32 MB took 14 ms, truncating 3 ms,
 * time the event loop would not answer.
 */
const RETIRE_AT = 4 << 20;
const ROTATE_AT = 32 << 20;
/** Largest append buffer kept for the next append. */
const SCRATCH_KEEP = 1 << 20;
/** Rows in the journal not yet indexed, at most (bytes); intake waits beyond it. */
const DEFAULT_MAX_UNINDEXED_BYTES = 64 << 20;
/** Largest index transaction (bytes of encoded rows). */
const MAX_INDEX_BYTES = 8 << 20;
/**
 * An index transaction waits this long for more rows unless INDEX_ROWS are queued: an SQLite
 * transaction costs ≈ 100 µs for one 4 KB row and ≈ 30 µs a row for hundreds (bench/ingest.ts).
 * It delays only the processing that follows intake, never an ACK.
 */
const INDEX_DELAY_MS = 10;
const INDEX_ROWS = 256;
/** Wait between two attempts to index after a failure. */
const RETRY_MS = 500;
/**
 * Longest wait of an append for room under the bound: past it the group is refused (the sender
 * gets a NAK, "store unavailable, resend later") instead of no answer, which most senders take
 * for a lost connection after their own timeout (often 10–30 s).
 */
const DEFAULT_MAX_SPACE_WAIT_MS = 5_000;
/** While indexing keeps failing, onIndexError is told again at most this often. */
const INDEX_ERROR_REPEAT_MS = 60_000;

/** Journal files of this process that are open: never replayed by another handle of the process. */
const openJournals = new Set<string>();

export interface IntakeJournalOptions {
  /** The SQLite file; the journal sits beside it, named `<file>-intake-<pid>-<id>.jnl`. */
  dbPath: string;
  /** fdatasync each append before its ACKs (synchronous FULL). */
  fsync: boolean;
  /**
   * Inserts the rows of a span of the journal (`INSERT OR IGNORE`, one transaction); resolves
   * with the rows SQLite refused on their own (the others committed), rejects when nothing did.
   */
  index(span: JournalSpan): Promise<RejectedRow[]>;
  /** The stored message a new one duplicates, if any (same query as the writer's). */
  findDuplicate(channel: string, sender: string, controlId: string, from: number): { id: string; ack: Buffer } | undefined;
  /**
   * Rows were indexed: a `findDuplicate` that reads from an older snapshot must let it go now,
   * before those rows leave the journal's own dedupe memory.
   */
  onIndexed?(): void;
  /**
   * Indexing failed (the journal keeps the rows and tries again every 500 ms): told at the first
   * failure, then at most once a minute while it goes on, with the failures so far and for how long.
   */
  onIndexError(error: unknown, failing: { attempts: number; sinceMs: number }): void;
  /** Indexing works again after `attempts` failures over `sinceMs`. */
  onIndexRecovered?(failing: { attempts: number; sinceMs: number }): void;
  /**
   * Told of acknowledged rows SQLite refused on their own: their records are copied to `keptIn`
   * (same layout; `replayJournals` does not read it) for an operator, and indexing goes on.
   */
  onRejected(rows: RejectedRow[], keptIn: string): void;
  maxUnindexedBytes?: number;
  /** Longest wait of an append while the backlog is over `maxUnindexedBytes`; then it is refused. Default 5 s. */
  maxSpaceWaitMs?: number;
}


interface Recent {
  id: string;
  ack: Uint8Array;
  receivedAt: number;
  written: Promise<unknown>;
}

/** One appended record, not indexed yet. */
interface Unindexed {
  file: string;
  offset: number;
  /** Record bytes, header included. */
  length: number;
  count: number;
  /** Dedupe keys of its rows in `recent`, with their ids, dropped once indexed. */
  keys: [string, string][];
  settle: { resolve(): void; reject(e: unknown): void };
}

export class IntakeJournal {
  private readonly instance = randomUUID().slice(0, 8);
  private serial = 0;
  private current: string;
  /** Records not indexed yet, per file (the current one and the retired ones). */
  private readonly unindexedIn = new Map<string, number>();
  private scratch = Buffer.alloc(0);
  /** Held for the handle's life: tells replayJournals of any process that these files are in use. */
  private lock: Database.Database | undefined;
  /** Background removals of indexed files, awaited by close(). */
  private readonly removals = new Set<Promise<void>>();
  private fd: number | undefined;
  private size = 0;
  private readonly recent = new Map<string, Recent>();
  private readonly queue: Unindexed[] = [];
  private queuedBytes = 0;
  private indexing: Promise<void> | undefined;
  private lastStored: Promise<void> | undefined;
  private closing = false;
  /**
   * An append is between its write and its queue entry (awaiting fdatasync at FULL): the current
   * file holds a record nobody counts yet, so the index loop must not retire (and remove) it.
   */
  private appending = false;
  private readonly spaceWaiters: (() => void)[] = [];

  constructor(private readonly o: IntakeJournalOptions) {
    this.current = this.nextName();
  }

  /** The file appended to now. */
  get file(): string {
    return this.current;
  }

  /**
   * Dedupe against what is journalled but not indexed, then what is stored; a new row is handed
   * to `submit` (the group commit, which calls `write`). A duplicate of a row still being
   * written is answered once that row is durable.
   */
  receive(row: IntakeRow, submit: (row: IntakeRow) => Promise<ReceiveResult>): Promise<ReceiveResult> {
    const from = row.dedupeFrom;
    if (from === null) return submit(row);
    const key = `${row.channel}\u0000${row.sender}\u0000${row.controlId}`;
    const hit = this.recent.get(key);
    if (hit && hit.receivedAt >= from) {
      return hit.written.then((): ReceiveResult => ({ duplicate: true, id: hit.id, ack: Buffer.from(hit.ack) }));
    }
    const old = this.o.findDuplicate(row.channel, row.sender, row.controlId, from);
    if (old) return Promise.resolve({ duplicate: true, id: old.id, ack: old.ack });
    row.dedupeFrom = null; // checked here; the row is the store's own object
    const written = submit(row);
    // A refusal is never the original of a duplicate. The entry goes once the row is indexed.
    if (row.state === 'received') this.recent.set(key, { id: row.id, ack: row.ack, receivedAt: row.receivedAt, written });
    return written;
  }

  /** Appends one group; resolves once it is durable (`stored` settles once it is indexed). */
  async write(rows: IntakeRow[]): Promise<{ stored: Promise<void> }> {
    if (this.closing) throw this.forget(rows, new Error('SqliteStore: closed'));
    const max = this.o.maxUnindexedBytes ?? DEFAULT_MAX_UNINDEXED_BYTES;
    if (this.queuedBytes > max) {
      try {
        await this.waitForSpace(max);
      } catch (e) {
        throw this.forget(rows, e);
      }
    }
    const record = this.encode(rows);
    if (this.size >= ROTATE_AT) this.retire();
    const fd = this.open();
    const before = this.size;
    const file = this.current;
    this.appending = true;
    try {
      writeAll(fd, [record]);
      this.size += record.length;
      if (this.o.fsync) await new Promise<void>((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
    } catch (e) {
      // A short write (disk full) must not leave a torn record before the next ones.
      this.rewind(fd, before);
      throw this.forget(rows, e);
    } finally {
      this.appending = false;
    }
    const length = record.length;
    this.unindexedIn.set(file, (this.unindexedIn.get(file) ?? 0) + 1);
    const keys: [string, string][] = [];
    for (const r of rows) {
      if (r.state !== 'received') continue;
      const key = `${r.channel}\u0000${r.sender}\u0000${r.controlId}`;
      if (this.recent.get(key)?.id === r.id) keys.push([key, r.id]);
    }
    const stored = new Promise<void>((resolve, reject) => {
      this.queue.push({ file, offset: before, length, count: rows.length, keys, settle: { resolve, reject } });
    });
    stored.catch(() => undefined); // a caller may not wait for it; the failure is reported to onIndexError
    this.queuedBytes += length;
    this.lastStored = stored;
    this.indexing ??= this.indexLoop();
    return { stored };
  }

  /**
   * Rows that were not appended leave `recent`: the sender's resend of a refused message must be
   * taken as new, not answered as a duplicate of a row that was never written. Returns `error`.
   */
  private forget(rows: IntakeRow[], error: unknown): unknown {
    for (const r of rows) {
      const key = `${r.channel}\u0000${r.sender}\u0000${r.controlId}`;
      if (this.recent.get(key)?.id === r.id) this.recent.delete(key);
    }
    return error;
  }

  private async waitForSpace(max: number): Promise<void> {
    const limitMs = this.o.maxSpaceWaitMs ?? DEFAULT_MAX_SPACE_WAIT_MS;
    const until = Date.now() + limitMs;
    while (this.queuedBytes > max && !this.closing) {
      const left = until - Date.now();
      if (left <= 0) {
        throw new Error(`intake journal full: ${Math.round(this.queuedBytes / 1024)} KB not indexed into the database after waiting ${limitMs} ms (bound ${Math.round(max / 1024)} KB)`);
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.spaceWaiters.push(r);
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
  }

  /** Resolves once every row written so far is indexed (or could not be, the journal keeping it). */
  barrier(): Promise<void> | undefined {
    return this.queue.length > 0 ? this.lastStored?.then(noop, noop) : undefined;
  }

  /** Rows written and not yet indexed. */
  get backlog(): number {
    return this.queue.reduce((n, u) => n + u.count, 0);
  }

  /**
   * Indexes what is left, trying until `deadlineMs`; then closes the file, and removes it when
   * everything is indexed (otherwise the next start replays it).
   */
  async close(deadlineMs = 10_000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (this.indexing && Date.now() < until) await Promise.race([this.indexing, sleep(Math.max(0, until - Date.now()))]);
    this.closing = true;
    for (const w of this.spaceWaiters.splice(0)) w();
    const left = this.queue.splice(0);
    for (const u of left) u.settle.reject(new Error('SqliteStore: closed before the message was indexed (it is replayed at the next start)'));
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
      if (left.length === 0) fs.rmSync(this.current, { force: true });
    }
    await Promise.all([...this.removals]);
    // Files with records not indexed stay for the next start's replay.
    for (const file of this.unindexedIn.keys()) openJournals.delete(file);
    openJournals.delete(this.current);
    if (this.lock) {
      const file = this.lock.name;
      this.lock.close();
      this.lock = undefined;
      if (left.length === 0 && this.unindexedIn.size === 0) fs.rmSync(file, { force: true });
    }
  }

  /** One record in a scratch buffer reused from one append to the next (no allocation per group). */
  private encode(rows: IntakeRow[]): Buffer {
    const need = RECORD_HEADER_BYTES + groupBound(rows);
    if (this.scratch.length < need) this.scratch = Buffer.allocUnsafe(Math.max(need, 64 << 10));
    const end = encodeGroupInto(rows, this.scratch, RECORD_HEADER_BYTES);
    const body = this.scratch.subarray(RECORD_HEADER_BYTES, end);
    this.scratch.writeUInt32LE(body.length, 0);
    this.scratch.writeUInt32LE((rows.length | WITH_KEYS) >>> 0, 4);
    this.scratch.writeUInt32LE(crc32(body), 8);
    const record = this.scratch.subarray(0, end);
    if (this.scratch.length > SCRATCH_KEEP) this.scratch = Buffer.alloc(0); // a huge frame's buffer is not kept
    return record;
  }

  private open(): number {
    if (!this.lock) this.lock = holdLock(lockName(this.o.dbPath, `${process.pid}-${this.instance}`));
    if (this.fd === undefined) {
      this.fd = fs.openSync(this.current, 'a');
      this.size = fs.fstatSync(this.fd).size;
      openJournals.add(this.current);
    }
    return this.fd;
  }

  private rewind(fd: number, size: number): void {
    try {
      fs.ftruncateSync(fd, size);
      this.size = size;
    } catch {
      // Cannot cut the torn record: go on in a new file. The old one is removed once its whole
      // records are indexed (or replayed up to the tear after a crash).
      this.retire();
    }
  }

  /** Closes the current file and appends to a new one; the old one goes once indexed. */
  private retire(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    if (!this.unindexedIn.has(this.current)) this.remove(this.current);
    this.current = this.nextName();
    this.size = 0;
  }

  private remove(file: string): void {
    const done = new Promise<void>((resolve) =>
      fs.rm(file, { force: true }, () => {
        openJournals.delete(file);
        this.removals.delete(done);
        resolve();
      }),
    );
    this.removals.add(done);
  }

  private nextName(): string {
    return `${this.o.dbPath}-intake-${process.pid}-${this.instance}-${++this.serial}.jnl`;
  }

  /** `count` records of `file` are indexed: a retired file with none left is removed. */
  private indexed(file: string, count: number): void {
    const left = (this.unindexedIn.get(file) ?? 0) - count;
    if (left > 0) return void this.unindexedIn.set(file, left);
    this.unindexedIn.delete(file);
    if (file !== this.current) this.remove(file);
  }

  /** One index transaction at a time, of everything queued (up to MAX_INDEX_BYTES), in order. */
  private async indexLoop(): Promise<void> {
    let attempts = 0;
    let failingSince = 0;
    let toldAt = 0;
    while (this.queue.length > 0 && !this.closing) {
      if (this.backlog < INDEX_ROWS) await sleep(INDEX_DELAY_MS);
      // Consecutive records of one file, up to MAX_INDEX_BYTES.
      const first = this.queue[0]!;
      let bytes = first.length;
      let n = 1;
      while (n < this.queue.length) {
        const u = this.queue[n]!;
        if (u.file !== first.file || u.offset !== first.offset + bytes || bytes + u.length > MAX_INDEX_BYTES) break;
        bytes += u.length;
        n++;
      }
      const batch = this.queue.slice(0, n);
      try {
        const span = { file: first.file, offset: first.offset, length: bytes };
        const rejected = await this.o.index(span);
        if (rejected.length > 0) this.o.onRejected(rejected, keepRejected(this.o.dbPath, span));
      } catch (e) {
        const now = Date.now();
        if (attempts++ === 0) failingSince = now;
        if (attempts === 1 || now - toldAt >= INDEX_ERROR_REPEAT_MS) {
          toldAt = now;
          this.o.onIndexError(e, { attempts, sinceMs: now - failingSince });
        }
        await sleep(RETRY_MS);
        continue;
      }
      if (attempts > 0) {
        this.o.onIndexRecovered?.({ attempts, sinceMs: Date.now() - failingSince });
        attempts = 0;
      }
      this.o.onIndexed?.();
      this.queue.splice(0, n);
      this.queuedBytes -= bytes;
      this.indexed(first.file, n);
      for (const u of batch) {
        for (const [key, id] of u.keys) if (this.recent.get(key)?.id === id) this.recent.delete(key);
        u.settle.resolve();
      }
      for (const w of this.spaceWaiters.splice(0)) w();
      if (this.queue.length === 0 && this.size > RETIRE_AT && !this.appending) this.retire();
    }
    this.indexing = undefined;
  }
}

/**
 * `store` seen through a proxy whose async methods (all but `skip`) first wait for `barrier()`
 * when it gives a promise: a read made after an ACK sees the acknowledged message.
 */
export function waitForIntake<T extends object>(store: T, barrier: () => Promise<void> | undefined, skip: readonly string[]): T {
  return wrapMethods(store, skip, (method) =>
    function afterIntake(...args: unknown[]): unknown {
      const wait = barrier();
      return wait ? wait.then(() => method(...args)) : method(...args);
    },
  );
}

/**
 * Replays the journals beside `dbPath` that no live handle writes (its lock is free; this
 * process's own open ones excepted): their records, in order, through `insert` (`INSERT OR IGNORE`), then removes
 * them; a file with rows the database refused is renamed to a `-intake-rejected-` file instead.
 */
export function replayJournals(
  dbPath: string,
  insert: (rows: IntakeRow[]) => RejectedRow[],
): { files: number; rows: number; torn: number; rejected: RejectedRow[]; keptIn: string[] } {
  const dir = path.dirname(dbPath);
  const prefix = `${path.basename(dbPath)}-intake-`;
  const out = { files: 0, rows: 0, torn: 0, rejected: [] as RejectedRow[], keptIn: [] as string[] };
  const found: { file: string; instance: string; serial: number; mtime: number }[] = [];
  const owners = new Map<string, Database.Database | null>(); // owner → its lock, null when in use
  for (const name of fs.readdirSync(dir)) {
    const m = name.startsWith(prefix) && /^(\d+-[0-9a-f]{8})-(\d+)\.jnl$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const file = path.join(dir, name);
    const owner = m[1]!;
    if (openJournals.has(file)) continue;
    // In use while its writer lives, in whatever process or container (a pid proves nothing
    // across PID namespaces): the writer holds an exclusive lock that dies with it.
    if (!owners.has(owner)) owners.set(owner, tryLock(lockName(dbPath, owner)));
    if (!owners.get(owner)) continue;
    found.push({ file, instance: owner, serial: Number(m[2]), mtime: fs.statSync(file).mtimeMs });
  }
  // In writing order: one handle's files by serial; handles by when they first wrote.
  const firstWrite = new Map<string, number>();
  for (const f of found) firstWrite.set(f.instance, Math.min(firstWrite.get(f.instance) ?? Infinity, f.mtime));
  found.sort((a, b) => firstWrite.get(a.instance)! - firstWrite.get(b.instance)! || a.instance.localeCompare(b.instance) || a.serial - b.serial);
  for (const { file } of found) {
    const data = fs.readFileSync(file);
    const { rows, end } = decodeRecords(data, crc32);
    const rejected = rows.length > 0 ? insert(rows) : [];
    out.rows += rows.length;
    if (end < data.length) out.torn++;
    out.files++;
    if (rejected.length > 0) {
      const kept = `${dbPath}-intake-rejected-${process.pid}-${randomUUID().slice(0, 8)}.jnl`;
      fs.renameSync(file, kept);
      out.rejected.push(...rejected);
      out.keptIn.push(kept);
    } else {
      fs.rmSync(file, { force: true });
    }
  }
  for (const lock of owners.values()) {
    if (!lock) continue;
    const file = lock.name;
    lock.close();
    fs.rmSync(file, { force: true });
  }
  return out;
}

/** One journal record: header (payload length, row count, CRC-32) and payload; `withKeys` false: the layout before search keys. */
export function encodeRecord(rows: IntakeRow[], withKeys = true): Buffer {
  const buf = Buffer.alloc(RECORD_HEADER_BYTES + groupBound(rows));
  const end = encodeGroupInto(rows, buf, RECORD_HEADER_BYTES, withKeys);
  const body = buf.subarray(RECORD_HEADER_BYTES, end);
  buf.writeUInt32LE(body.length, 0);
  buf.writeUInt32LE(withKeys ? (rows.length | WITH_KEYS) >>> 0 : rows.length, 4);
  buf.writeUInt32LE(crc32(body), 8);
  return buf.subarray(0, end);
}

/** Copies a span to `<db>-intake-rejected-<pid>-<id>.jnl` and returns that file. */
function keepRejected(dbPath: string, span: JournalSpan): string {
  const file = `${dbPath}-intake-rejected-${process.pid}-${randomUUID().slice(0, 8)}.jnl`;
  fs.writeFileSync(file, readSpan(fs, span));
  return file;
}

function lockName(dbPath: string, owner: string): string {
  return `${dbPath}-intake-${owner}.lock`;
}

/** An exclusive lock held by this connection until it closes (or the process dies). */
function holdLock(file: string): Database.Database {
  const db = new Database(file, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** The lock, or null when another connection (a live writer) holds it. */
function tryLock(file: string): Database.Database | null {
  try {
    return holdLock(file);
  } catch (e) {
    if (String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY')) return null;
    throw e;
  }
}

function writeAll(fd: number, chunks: Uint8Array[]): void {
  let written = fs.writevSync(fd, chunks);
  const total = chunks.reduce((n, c) => n + c.length, 0);
  // A short write is rare (signals, quotas): finish it from where it stopped.
  while (written < total) {
    let skip = written;
    const rest: Uint8Array[] = [];
    for (const c of chunks) {
      if (skip >= c.length) skip -= c.length;
      else {
        rest.push(c.subarray(skip));
        skip = 0;
      }
    }
    const n = fs.writevSync(fd, rest);
    if (n <= 0) throw new Error('journal: write made no progress');
    written += n;
  }
}

const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
let table: Uint32Array | undefined;

/** CRC-32 (zlib's, Node ≥ 20.15; the table version for older 20.x). */
function crc32(data: Uint8Array): number {
  if (zlibCrc32) return zlibCrc32(data) >>> 0;
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function noop(): void {}

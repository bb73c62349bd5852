/**
 * The SQLite intake journal (engine/store/sqlite-intake-journal.ts): an ACK once the group is
 * appended, the row in the table a moment later. What a user relies on: nothing ACKed is lost
 * when the process dies before the rows are indexed, a duplicate is recognised before its
 * original is indexed, a read after an ACK sees the message, a torn tail is not taken for data,
 * and another live process's journal is left alone. The kill -9 child runs the compiled store
 * (dist/…): `npm test` builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../engine/store';
import type { InboundMessage } from '../../engine/store';
import { IntakeJournal, encodeRecord } from '../../engine/store/sqlite-intake-journal';
import { decodeRecords, readSpan, type JournalSpan } from '../../engine/store/sqlite-intake-protocol';
import { packKeys, type IntakeRow } from '../../engine/store/sqlite-intake';
import { SqliteDedupeReader } from '../../engine/store/sqlite-dedupe-reader';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-journal-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
const rnd = (): string => randomBytes(5).toString('hex');
const HOUR = 3600_000;
const distStore = path.resolve(__dirname, '../../dist/engine/store/sqlite.js');

function inbound(controlId: string, over: Partial<InboundMessage> = {}): InboundMessage {
  return {
    channel: 'jnl',
    controlId,
    sender: 'LAB|FAC',
    messageType: 'ORU^R01',
    orderingKey: 'order:1',
    charset: '8859/1',
    raw: Buffer.from(`MSH|^~\\&|LAB|FAC|PSL|HOSP|20261206000000||ORU^R01|${controlId}|P|2.5\rOBX|1|TX|||Hématie ÿ\r`, 'latin1'),
    ack: Buffer.from(`MSH|^~\\&|PSL|HOSP|LAB|FAC|20261206000001||ACK|ACK${controlId}|P|2.5\rMSA|AA|${controlId}\r`, 'latin1'),
    receivedAt: new Date(),
    state: 'received',
    ...over,
  };
}

const journals = (db: string): string[] =>
  fs.readdirSync(path.dirname(db)).filter((f) => f.startsWith(`${path.basename(db)}-intake-`) && !f.includes('-rejected-'));

/** Holds SQLite's write lock from another connection: the journal can append, nothing can be indexed. */
function holdWriteLock(db: string): { release(): void } {
  const conn = new Database(db);
  conn.exec('BEGIN IMMEDIATE');
  return {
    release() {
      conn.exec('COMMIT');
      conn.close();
    },
  };
}

const record = (rows: IntakeRow[]): Buffer => encodeRecord(rows);

function row(id: string, controlId: string): IntakeRow {
  const m = inbound(controlId);
  return {
    id, channel: m.channel, controlId, sender: m.sender, messageType: m.messageType, orderingKey: m.orderingKey, charset: m.charset,
    receivedAt: Date.now(), state: 'received', reason: null, updatedAt: Date.now(), ack: m.ack, raw: m.raw, dedupeFrom: null,
  };
}

/** A pid no process has: a child that already exited. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => c.once('exit', r));
  return c.pid!;
}

describe('SQLite intake journal', () => {
  test('ACKed while nothing can be indexed, then kill -9: the next start replays the journal files in order, every ACKed message is there once', async () => {
    if (!fs.existsSync(distStore)) throw new Error(`${distStore} is missing: build first (npm test does it)`);
    const file = path.join(tmpRoot, `crash-${rnd()}.db`);
    const script = path.join(tmpRoot, `child-${rnd()}.js`);
    fs.writeFileSync(
      script,
      `'use strict';
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const { SqliteStore } = require(${JSON.stringify(distStore)});
const store = new SqliteStore({ path: process.argv[2], synchronous: 'NORMAL', onIntakeEvent() {} });
(async () => {
  await store.init();
  const lock = new Database(process.argv[2]);
  lock.exec('BEGIN IMMEDIATE'); // the indexer waits on this lock until the kill
  for (let n = 0; ; n++) {
    const batch = [];
    for (let i = 0; i < 1 + (n % 4); i++) {
      const k = n * 4 + i;
      const controlId = 'K' + k;
      batch.push(store.receive({ channel: 'jnl', controlId, sender: 'LAB|FAC', messageType: 'ORU^R01', orderingKey: 'order:' + (k % 7),
        charset: 'UTF-8', raw: Buffer.from('MSH|^~\\\\&|LAB|FAC|||||ORU^R01|' + controlId + '|P|2.5\\r' + 'x'.repeat(100000 + k % 3000)),
        ack: Buffer.from('MSA|AA|' + controlId), receivedAt: new Date(), state: 'received' }, 3600000)
        .then((r) => process.stdout.write(r.id + ' ' + k + '\\n')));
    }
    await Promise.all(batch);
  }
})().catch((e) => { console.error(e); process.exit(2); });
`,
    );
    const printed: { id: string; k: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const child: ChildProcess = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const [id, k] = buf.slice(0, nl).split(' ');
          buf = buf.slice(nl + 1);
          printed.push({ id: id!, k: Number(k) });
        }
        if (printed.length >= 400 && !child.killed) child.kill('SIGKILL');
      });
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child ended by itself: ${stderr}`))));
    });

    // Nothing reached the table: every ACKed message is in the journal only.
    const raw = new Database(file, { readonly: true });
    expect((raw.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n).toBe(0);
    raw.close();
    expect(journals(file).length).toBeGreaterThanOrEqual(2); // ≈ 40 MB: the journal rotated at 32 MB

    const events: string[] = [];
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL', onIntakeEvent: (level, message, d) => events.push(`${level} ${message} ${JSON.stringify(d)}`) });
    await s.init();
    try {
      expect(journals(file)).toHaveLength(0);
      expect(events.some((e) => e.startsWith('warn intake journal of a stopped process replayed'))).toBe(true);
      for (const { id, k } of printed) {
        const m = await s.get(id);
        expect(m).toMatchObject({ controlId: `K${k}`, state: 'received', orderingKey: `order:${k % 7}` });
        expect((await s.raw(id))!.toString()).toBe(`MSH|^~\\&|LAB|FAC|||||ORU^R01|K${k}|P|2.5\r${'x'.repeat(100_000 + (k % 3000))}`);
      }
      // Replayed in writing order, across files.
      const seqs = await Promise.all([...printed].sort((a, b) => a.k - b.k).map(async ({ id }) => (await s.get(id))!.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // Replayed rows dedupe like any other.
      const last = printed[printed.length - 1]!;
      const again = await s.receive({ ...inbound(`K${last.k}`), sender: 'LAB|FAC', ack: Buffer.from('other') }, HOUR);
      expect(again).toMatchObject({ duplicate: true, id: last.id });
    } finally {
      await s.close();
    }
  }, 60_000);

  test('a duplicate of a message not yet indexed gets its ACK; a read after the ACK waits for the index', async () => {
    const file = path.join(tmpRoot, `dup-${rnd()}.db`);
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL' });
    await s.init();
    try {
      const lock = holdWriteLock(file);
      const first = await s.receive(inbound('D1'), HOUR);
      const second = await s.receive(inbound('D1', { ack: Buffer.from('not this one') }), HOUR);
      expect(first.duplicate).toBe(false);
      expect(second).toMatchObject({ duplicate: true, id: first.id });
      expect(second.duplicate && second.ack.equals(inbound('D1').ack)).toBe(true);
      // A refusal is never the original of a duplicate, journalled or not.
      await s.receive(inbound('R1', { state: 'refused', reason: 'HL7_207: test' }), HOUR);
      expect(await s.receive(inbound('R1'), HOUR)).toMatchObject({ duplicate: false });

      let read: unknown = 'pending';
      const got = s.get(first.id).then((m) => (read = m));
      await new Promise((r) => setTimeout(r, 200));
      expect(read).toBe('pending'); // not indexed yet: the read waits rather than miss it
      lock.release();
      await got;
      expect(read).toMatchObject({ id: first.id, controlId: 'D1' });
      expect((await s.counts('jnl')).received).toBe(2); // D1 and the accepted R1
    } finally {
      await s.close();
    }
    expect(journals(file)).toHaveLength(0); // a clean close leaves no journal
  }, 30_000);

  test('a resend arriving just after its original was indexed is still a duplicate (the dedupe snapshot is renewed before the journal forgets the row)', async () => {
    const file = path.join(tmpRoot, `snap-${rnd()}.db`);
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL' });
    await s.init();
    try {
      for (let round = 0; round < 5; round++) {
        const lock = holdWriteLock(file);
        await s.receive(inbound(`S${round}-other`), HOUR); // a look-up: the dedupe snapshot starts here
        const first = await s.receive(inbound(`S${round}`), HOUR);
        lock.release();
        await (first as { stored?: Promise<void> }).stored; // indexed: the journal forgets S<round>
        const again = await s.receive(inbound(`S${round}`, { ack: Buffer.from('not this one') }), HOUR);
        expect(again).toMatchObject({ duplicate: true, id: first.id });
      }
    } finally {
      await s.close();
    }
  }, 30_000);

  test('the dedupe reader answers from one snapshot until it is renewed', () => {
    const file = path.join(tmpRoot, `reader-${rnd()}.db`);
    const writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    writer.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT, channel TEXT, sender TEXT, control_id TEXT, received_at INTEGER, state TEXT, ack BLOB)`);
    const reader = new SqliteDedupeReader(file, 1000, 60_000);
    try {
      expect(reader.findDuplicate('c', 'S', 'X1', 0)).toBeUndefined();
      writer.prepare(`INSERT INTO messages (id, channel, sender, control_id, received_at, state, ack) VALUES ('m1', 'c', 'S', 'X1', 10, 'received', x'4141')`).run();
      expect(reader.findDuplicate('c', 'S', 'X1', 0)).toBeUndefined(); // the snapshot predates the row
      reader.refresh();
      expect(reader.findDuplicate('c', 'S', 'X1', 0)).toEqual({ id: 'm1', ack: Buffer.from('AA') });
      expect(reader.findDuplicate('c', 'S', 'X1', 11)).toBeUndefined(); // outside the window
    } finally {
      reader.close();
      writer.close();
    }
  });

  test('an idle dedupe reader lets its snapshot go, so the WAL can restart (it would grow without end)', async () => {
    const file = path.join(tmpRoot, `idle-${rnd()}.db`);
    const writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('busy_timeout = 0');
    writer.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT, channel TEXT, sender TEXT, control_id TEXT, received_at INTEGER, state TEXT, ack BLOB)`);
    const insert = writer.prepare(`INSERT INTO messages (id, channel, sender, control_id, received_at, state, ack) VALUES (?, 'c', 'S', ?, 10, 'received', x'41')`);
    const reader = new SqliteDedupeReader(file, 1000, 100);
    try {
      insert.run('m1', 'X1');
      expect(reader.findDuplicate('c', 'S', 'X1', 0)?.id).toBe('m1'); // a snapshot is held from here
      insert.run('m2', 'X2');
      const truncate = (): number => (writer.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]!.busy;
      expect(truncate()).toBe(1); // the reader's snapshot keeps the WAL from restarting
      await new Promise((r) => setTimeout(r, 250)); // no look-up comes
      expect(truncate()).toBe(0);
      expect(fs.statSync(`${file}-wal`).size).toBe(0);
    } finally {
      reader.close();
      writer.close();
    }
  });

  test('a torn record ends the replay; a journal whose writer lives (its lock held) is left alone', async () => {
    const file = path.join(tmpRoot, `torn-${rnd()}.db`);
    const setup = new SqliteStore({ path: file, synchronous: 'NORMAL' });
    await setup.init();
    await setup.close();

    const dead = await deadPid();
    const good = record([row('T-1', 'C1'), row('T-2', 'C2')]);
    const torn = record([row('T-3', 'C3')]);
    fs.writeFileSync(`${file}-intake-${dead}-0000abcd-1.jnl`, Buffer.concat([good, torn.subarray(0, torn.length - 5)]));

    // A live writer, in another process, holds its handle's lock.
    const liveFile = `${file}-intake-4242-0000beef-1.jnl`;
    fs.writeFileSync(liveFile, record([row('L-1', 'C9')]));
    const sleeper = spawn(
      process.execPath,
      ['-e', `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))}); const d = new D(${JSON.stringify(`${file}-intake-4242-0000beef.lock`)}); d.exec('BEGIN EXCLUSIVE'); console.log('held'); setTimeout(() => {}, 60000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => sleeper.stdout!.once('data', () => resolve()));

    const events: string[] = [];
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL', onIntakeEvent: (level, message, d) => events.push(`${level} ${message} ${JSON.stringify(d)}`) });
    try {
      await s.init();
      expect(await s.get('T-1')).toMatchObject({ controlId: 'C1' });
      expect(await s.get('T-2')).toMatchObject({ controlId: 'C2' });
      expect(await s.get('T-3')).toBeUndefined();
      expect(await s.get('L-1')).toBeUndefined();
      expect(fs.existsSync(liveFile)).toBe(true);
      expect(events).toContainEqual(expect.stringMatching(/replayed .*"rows":2,"torn":1/));
    } finally {
      const gone = new Promise((r) => sleeper.once('exit', r));
      sleeper.kill('SIGKILL');
      await gone;
      await s.close();
    }
    // Its writer dead (the lock went with it), the next start replays that journal too.
    const after = new SqliteStore({ path: file, synchronous: 'NORMAL', onIntakeEvent: () => undefined });
    await after.init();
    try {
      expect(await after.get('L-1')).toMatchObject({ controlId: 'C9' });
      expect(fs.existsSync(liveFile)).toBe(false);
    } finally {
      await after.close();
    }
  }, 30_000);

  test('search keys travel in the journal: a journal left by a dead process replays with them; a record of the previous layout (no keys) replays too', async () => {
    const file = path.join(tmpRoot, `keys-${rnd()}.db`);
    const setup = new SqliteStore({ path: file, synchronous: 'NORMAL' });
    await setup.init();
    await setup.close();
    const dead = await deadPid();
    const withKeys = { ...row('K-1', 'CK1'), keys: packKeys([{ kind: 'ins', value: '248092A20345642' }, { kind: 'order', value: 'LAB-9' }]) };
    const old = row('K-2', 'CK2');
    fs.writeFileSync(`${file}-intake-${dead}-0000abce-1.jnl`, Buffer.concat([record([withKeys]), encodeRecord([old], false), record([row('K-3', 'CK3')])]));
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL', onIntakeEvent: () => undefined });
    try {
      await s.init();
      expect(await s.messageKeys('K-1')).toEqual([{ kind: 'ins', value: '248092A20345642' }, { kind: 'order', value: 'LAB-9' }]);
      expect((await s.searchMessages({ order: 'LAB-9', limit: 5 })).map((m) => m.id)).toEqual(['K-1']);
      expect(await s.get('K-2')).toMatchObject({ controlId: 'CK2' });
      expect(await s.messageKeys('K-2')).toEqual([]);
      expect(await s.get('K-3')).toMatchObject({ controlId: 'CK3' });
    } finally {
      await s.close();
    }
  });

  test('keys of messages ACKed while the database is locked reach it with their rows', async () => {
    const file = path.join(tmpRoot, `keys-locked-${rnd()}.db`);
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL', onIntakeEvent: () => undefined });
    await s.init();
    try {
      const lock = holdWriteLock(file);
      const acked = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.receive(inbound(`KL${i}`, { keys: [{ kind: 'patient', value: `P${i % 4}` }, { kind: 'order', value: `F${i}` }] }), HOUR)),
      );
      lock.release();
      await Promise.all(acked.map((r) => (r.duplicate ? undefined : r.stored)));
      const p1 = await s.searchMessages({ patient: 'P1', limit: 10 });
      expect(p1.map((m) => m.controlId)).toEqual(['KL17', 'KL13', 'KL9', 'KL5', 'KL1']);
      expect((await s.searchMessages({ order: 'F13', limit: 10 })).map((m) => m.controlId)).toEqual(['KL13']);
    } finally {
      await s.close();
    }
  });

  test('indexing on the event loop (intakeThread off) stores the same rows', async () => {
    const file = path.join(tmpRoot, `inline-${rnd()}.db`);
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL', intakeThread: false });
    await s.init();
    try {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => s.receive(inbound(`I${i}`), HOUR)));
      expect((await s.counts('jnl')).received).toBe(50);
      const seqs = await Promise.all(results.map(async (r) => (await s.get(r.id))!.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // arrival order is table order
    } finally {
      await s.close();
    }
  });
});

describe('IntakeJournal backlog bound', () => {
  test('past maxUnindexedBytes, an append waits until the index catches up (memory and disk stay bounded)', async () => {
    const dbPath = path.join(tmpRoot, `bound-${rnd()}.db`);
    const releases: (() => void)[] = [];
    const journal = new IntakeJournal({
      dbPath,
      fsync: false,
      maxUnindexedBytes: 1024,
      // The index holds each span until the test lets it go.
      index: () => new Promise((resolve) => releases.push(() => resolve([]))),
      findDuplicate: () => undefined,
      onIndexError: (e: unknown) => {
        throw e;
      },
      onRejected: () => undefined,
    });
    const first = await journal.write([row('B-1', 'C1')]); // ≈ 200 bytes: under the bound
    const second = await journal.write([{ ...row('B-2', 'C2'), raw: Buffer.alloc(4096, 0x41) }]); // now over it
    let thirdDone = false;
    const third = journal.write([row('B-3', 'C3')]).then((r) => ((thirdDone = true), r));
    await new Promise((r) => setTimeout(r, 100));
    expect(thirdDone).toBe(false); // waits: 4 KB not indexed, bound 1 KB
    while (releases.length === 0) await new Promise((r) => setTimeout(r, 5));
    releases.shift()!(); // the first index transaction (both records) commits
    await first.stored;
    await second.stored;
    await third;
    expect(thirdDone).toBe(true);
    while (releases.length === 0) await new Promise((r) => setTimeout(r, 5));
    releases.shift()!();
    await journal.close();
    expect(journals(dbPath)).toHaveLength(0);
  });
});

describe('IntakeJournal at FULL (fdatasync per append)', () => {
  test('the index catching up while an append awaits its fdatasync does not retire the file that append is in (found by the ingest bench: ENOENT, ACKed rows never indexed)', async () => {
    const dbPath = path.join(tmpRoot, `fsync-${rnd()}.db`);
    const releases: (() => void)[] = [];
    const indexed: string[] = [];
    const errors: unknown[] = [];
    const journal = new IntakeJournal({
      dbPath,
      fsync: true,
      // Reads each span back from its file, as the writer thread does; the first one is held.
      index: async (span: JournalSpan) => {
        if (indexed.length === 0 && releases.length === 0) await new Promise<void>((r) => releases.push(r));
        for (const r of decodeRecords(readSpan(fs, span)).rows) indexed.push(r.id);
        return [];
      },
      findDuplicate: () => undefined,
      onIndexError: (e: unknown) => errors.push(e),
      onRejected: () => undefined,
    });
    const big = (id: string): IntakeRow => ({ ...row(id, id), raw: Buffer.alloc(4_300_000, 0x41) }); // past the 4 MB retire size
    const first = await journal.write([big('F-1')]);
    while (releases.length === 0) await new Promise((r) => setTimeout(r, 5)); // its index is under way
    const second = journal.write([big('F-2')]); // appended now, durable once its fdatasync returns
    releases.shift()!(); // the first index ends while the second append awaits its fdatasync
    await first.stored;
    const notIndexed = new Promise((_, reject) => setTimeout(() => reject(new Error(`second record not indexed: ${String(errors[0])}`)), 5000).unref());
    await Promise.race([(await second).stored, notIndexed]);
    expect(errors).toEqual([]);
    expect(indexed).toEqual(['F-1', 'F-2']);
    await journal.close();
    expect(journals(dbPath)).toHaveLength(0);
  });
});

describe('SQLite intake journal while the database takes no rows', () => {
  test('past the bound, a message waits at most maxSpaceWaitMs and is then refused (a NAK, not silence); one warning, not one per retry; the ACKed ones are indexed once the database is back', async () => {
    const file = path.join(tmpRoot, `stuck-${rnd()}.db`);
    const events: string[] = [];
    const s = new SqliteStore({
      path: file, synchronous: 'NORMAL', busyTimeoutMs: 50,
      intakeJournalBound: { maxUnindexedBytes: 256 << 10, maxSpaceWaitMs: 300 },
      onIntakeEvent: (level, message) => events.push(`${level} ${message}`),
    });
    await s.init();
    const lock = holdWriteLock(file);
    const big = (controlId: string): InboundMessage => inbound(controlId, { raw: Buffer.concat([inbound(controlId).raw, Buffer.alloc(100_000, 0x58)]) });
    try {
      const acked: string[] = [];
      let refused: unknown;
      let refusedControlId = '';
      for (let i = 0; i < 10 && !refused; i++) {
        const t0 = Date.now();
        try {
          acked.push((await s.receive(big(`S${i}`), HOUR)).id);
        } catch (e) {
          refused = e;
          refusedControlId = `S${i}`;
          expect(Date.now() - t0).toBeGreaterThanOrEqual(250); // it waited for room first
        }
      }
      expect(acked.length).toBeGreaterThanOrEqual(3); // 256 KB of 100 KB messages, then the wait
      expect(refused).toMatchObject({ code: 'PSL_STORE_UNAVAILABLE', message: expect.stringContaining('intake journal full') });
      await new Promise((r) => setTimeout(r, 1500)); // ≥ 3 more failed attempts (one every 500 ms)
      expect(events.filter((e) => e === 'warn journalled messages not indexed yet, trying again')).toHaveLength(1);

      lock.release();
      await waitUntil(() => events.includes('info journalled messages indexed again'));
      for (const id of acked) expect((await s.get(id))?.state).toBe('received');
      // Room again: the next message is taken at once, and the sender's resend of the refused one
      // is taken as new (not answered as a duplicate of a row that was never written).
      expect((await s.receive(big('S-after'), HOUR)).duplicate).toBe(false);
      const resent = await s.receive(big(refusedControlId), HOUR);
      expect(resent.duplicate).toBe(false);
      expect((await s.get(resent.id))?.controlId).toBe(refusedControlId);
    } finally {
      await s.close();
    }
  });
});

async function waitUntil(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

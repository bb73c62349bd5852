/**
 * One shared suite for every MessageStore implementation (SQLite file, PostgreSQL schema),
 * plus SQLite-only checks (group commit flush on close, kill -9 durability).
 *
 * PostgreSQL: see test/support/pg.ts (PASSERELLE_TEST_PG_URL overrides). Each run
 * uses a fresh schema `psl_test_<random>`, dropped at the end.
 * The crash test runs a child process on the compiled store (dist/…): `npm test` builds first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { PgStore, SqliteStore, createStore } from '../../engine/store';
import { testPgUrl } from '../support/pg';
import type { InboundMessage, MessageStore, StoredMessage } from '../../engine/store';

let PG_URL = '';
beforeAll(async () => {
  PG_URL = await testPgUrl();
});
const HOUR = 3600_000;

interface StoreHarness {
  /** A new, initialised handle on the same database (another "process"). */
  open(): Promise<MessageStore>;
  /** Removes the database (file / schema). Handles are closed by the suite before. */
  destroy(): Promise<void>;
  /** Makes the database itself refuse inserts of this control id (a trigger), as a bad value would. */
  refuseControlId(controlId: string): Promise<void>;
  /** PostgreSQL only: the id of the transaction that inserted each message (xmin). */
  insertingTransactions?(ids: string[]): Promise<string[]>;
  /**
   * SQLite intake journal: the ACK comes before the row reaches the table, so a row the
   * database refuses is kept aside (not NAKed), and another handle recognises a duplicate once
   * the first handle indexed the original (milliseconds), not at once.
   */
  journal?: { rejectedEvents(): string[] };
}

/** Both stores count their intake transactions (group commit). */
const groupsOf = (s: MessageStore): number => (s as unknown as { intakeGroups: number }).intakeGroups;

const rnd = (): string => randomBytes(5).toString('hex');

/** Every byte value, NUL included, then latin-1 text as on the wire. */
const BINARY_TAIL = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from('OBX|1|TX|||Hématies élevées ç à ÿ\r', 'latin1'),
]);

function inbound(over: Partial<InboundMessage> & { channel: string }): InboundMessage {
  const controlId = over.controlId ?? `C${rnd()}`;
  return {
    controlId,
    sender: 'LAB^FAC',
    messageType: 'ORU^R01',
    orderingKey: 'ORD1',
    charset: '8859/1',
    raw: Buffer.from(`MSH|^~\\&|LAB|FAC|PSL|HOSP|20240101000000||ORU^R01|${controlId}|P|2.5|||||FRA|8859/1\r`, 'latin1'),
    ack: Buffer.from(`MSH|^~\\&|PSL|HOSP|LAB|FAC|20240101000001||ACK|A${controlId}|P|2.5\rMSA|AA|${controlId}\r`, 'latin1'),
    receivedAt: new Date(),
    state: 'received',
    ...over,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

export function describeStore(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(name, () => {
    let harness: StoreHarness;
    let store: MessageStore;
    const others: MessageStore[] = [];
    const channel = (): string => `ch-${rnd()}`;

    beforeAll(async () => {
      harness = await makeHarness();
      store = await harness.open();
    });

    afterAll(async () => {
      for (const s of [store, ...others]) await s?.close();
      await harness?.destroy();
    });

    test('init is idempotent: a second init keeps the data, the schema and the dedupe', async () => {
      /** Tables, columns and indexes as the database describes them (private handles: test only). */
      const schemaOf = async (s: MessageStore): Promise<string[]> => {
        if (s instanceof SqliteStore) {
          const db = new Database((s as unknown as { opts: { path: string } }).opts.path, { readonly: true });
          try {
            return (db.prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS d FROM sqlite_master ORDER BY name").all() as Array<{ d: string }>).map((r) => r.d);
          } finally {
            db.close();
          }
        }
        const schema = (s as unknown as { schema: string }).schema;
        const c = new Client({ connectionString: PG_URL });
        await c.connect();
        try {
          const cols = await c.query(
            `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS d FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1`,
            [schema],
          );
          const idx = await c.query(`SELECT indexdef AS d FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema]);
          return [...cols.rows, ...idx.rows].map((r: { d: string }) => r.d);
        } finally {
          await c.end();
        }
      };
      const ch = channel();
      const msg = inbound({ channel: ch, raw: Buffer.concat([inbound({ channel: ch }).raw, BINARY_TAIL]) });
      const first = await store.receive(msg, 60_000);
      const before = await store.get(first.id);
      const schemaBefore = await schemaOf(store);
      expect(schemaBefore.length).toBeGreaterThan(3);

      await store.init();
      const again = await harness.open(); // open() runs init() on the same database
      others.push(again);
      await again.init();

      expect(await schemaOf(again)).toEqual(schemaBefore);
      expect(await again.get(first.id)).toEqual(before);
      expect((await again.raw(first.id))!.equals(msg.raw)).toBe(true);
      expect(await again.receive({ ...msg, receivedAt: new Date() }, 60_000)).toMatchObject({ duplicate: true, id: first.id });
      const next = await again.receive(inbound({ channel: ch }), 60_000);
      expect((await again.get(next.id))!.seq).toBeGreaterThan(before!.seq);
    });

    test('receive, get and raw round-trip every field and binary bytes', async () => {
      const ch = channel();
      const raw = Buffer.concat([inbound({ channel: ch }).raw, BINARY_TAIL]);
      const ack = Buffer.from([0x0b, 0x4d, 0x00, 0xe9, 0xff, 0x1c, 0x0d]);
      const receivedAt = new Date(Date.now() - 1234);
      const before = Date.now();
      const res = await store.receive(inbound({ channel: ch, controlId: 'X1', raw, ack, receivedAt }), 60_000);
      expect(res).toMatchObject({ duplicate: false, id: expect.any(String) });
      const m = (await store.get(res.id)) as StoredMessage;
      expect(m).toMatchObject({
        id: res.id,
        channel: ch,
        controlId: 'X1',
        sender: 'LAB^FAC',
        messageType: 'ORU^R01',
        orderingKey: 'ORD1',
        charset: '8859/1',
        state: 'received',
        reason: null,
      });
      expect(typeof m.seq).toBe('number');
      expect(m.seq).toBeGreaterThan(0);
      expect(m.receivedAt.getTime()).toBe(receivedAt.getTime());
      expect(m.updatedAt).toBeInstanceOf(Date);
      expect(m.updatedAt.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(Buffer.isBuffer(m.ack) && m.ack.equals(ack)).toBe(true);
      const back = await store.raw(res.id);
      expect(Buffer.isBuffer(back) && back.equals(raw)).toBe(true);
      expect(back!.toString('latin1')).toContain('Hématies élevées');

      expect(await store.get('no-such-id')).toBeUndefined();
      expect(await store.raw('no-such-id')).toBeUndefined();
    });

    test('ids are unique and seq grows in arrival order', async () => {
      const ch = channel();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.receive(inbound({ channel: ch }), 0)).id);
      expect(new Set(ids).size).toBe(5);
      const seqs = await Promise.all(ids.map(async (id) => (await store.get(id))!.seq));
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    });

    test('a refused message is stored with its NAK and reason', async () => {
      const ch = channel();
      const nak = Buffer.from('MSA|AR|X\rERR|||100^Segment sequence error^HL70357|E\r');
      const r = await store.receive(inbound({ channel: ch, state: 'refused', reason: 'HL7_AR_100: bad MSH', ack: nak }), 60_000);
      const m = await store.get(r.id);
      expect(m).toMatchObject({ state: 'refused', reason: 'HL7_AR_100: bad MSH' });
      expect(m!.ack.equals(nak)).toBe(true);
    });

    test('a duplicate inside the window gets the stored ACK replayed and is not stored', async () => {
      const ch = channel();
      const first = inbound({ channel: ch, controlId: 'DUP1' });
      const r1 = await store.receive(first, HOUR);
      const again = inbound({ channel: ch, controlId: 'DUP1', ack: Buffer.from('MSA|AA|other\r') });
      const r2 = await store.receive(again, HOUR);
      expect(r2.duplicate).toBe(true);
      expect(r2.id).toBe(r1.id);
      if (r2.duplicate) expect(r2.ack.equals(first.ack)).toBe(true);
      expect((await store.list(ch, undefined, 10)).length).toBe(1);
      // the original's later state does not matter
      await store.setState(r1.id, 'done');
      expect((await store.receive(inbound({ channel: ch, controlId: 'DUP1' }), HOUR)).duplicate).toBe(true);
    });

    test('not a duplicate outside the window, nor with a window of 0', async () => {
      const ch = channel();
      const old = await store.receive(inbound({ channel: ch, controlId: 'OLD', receivedAt: new Date(Date.now() - 2 * HOUR) }), HOUR);
      const now = await store.receive(inbound({ channel: ch, controlId: 'OLD' }), HOUR);
      expect(now.duplicate).toBe(false);
      expect(now.id).not.toBe(old.id);
      // the newest one is now the reference
      const r3 = await store.receive(inbound({ channel: ch, controlId: 'OLD' }), HOUR);
      expect(r3).toMatchObject({ duplicate: true, id: now.id });
      // window 0: no dedupe at all
      const r4 = await store.receive(inbound({ channel: ch, controlId: 'OLD' }), 0);
      expect(r4.duplicate).toBe(false);
      expect((await store.counts(ch)).received).toBe(3);
    });

    test('an empty controlId is never deduplicated', async () => {
      const ch = channel();
      const a = await store.receive(inbound({ channel: ch, controlId: '' }), HOUR);
      const b = await store.receive(inbound({ channel: ch, controlId: '' }), HOUR);
      expect(a.duplicate || b.duplicate).toBe(false);
      expect(a.id).not.toBe(b.id);
    });

    test('a different sender or channel is not a duplicate', async () => {
      const ch = channel();
      const ch2 = channel();
      const a = await store.receive(inbound({ channel: ch, controlId: 'K', sender: 'LAB^FAC' }), HOUR);
      const b = await store.receive(inbound({ channel: ch, controlId: 'K', sender: 'LAB^OTHER' }), HOUR);
      const c = await store.receive(inbound({ channel: ch2, controlId: 'K', sender: 'LAB^FAC' }), HOUR);
      expect([a, b, c].map((r) => r.duplicate)).toEqual([false, false, false]);
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    });

    test('a refused original is not replayed: a corrected resend with the same MSH-10 is accepted', async () => {
      const ch = channel();
      const refused = await store.receive(
        inbound({ channel: ch, controlId: 'R1', state: 'refused', reason: 'bad', ack: Buffer.from('MSA|AE|R1\r') }),
        HOUR,
      );
      const fixed = await store.receive(inbound({ channel: ch, controlId: 'R1' }), HOUR);
      expect(fixed.duplicate).toBe(false);
      expect(fixed.id).not.toBe(refused.id);
      // a retransmission of the accepted one, even if now refused by acceptance, replays the AA
      const dup = await store.receive(inbound({ channel: ch, controlId: 'R1', state: 'refused' }), HOUR);
      expect(dup).toMatchObject({ duplicate: true, id: fixed.id });
    });

    test('20 concurrent receives of the same key, on two handles: exactly one is stored', async () => {
      const other = await harness.open();
      others.push(other);
      const ch = channel();
      const msgs = Array.from({ length: 20 }, (_, i) =>
        inbound({ channel: ch, controlId: 'SAME', ack: Buffer.from(`MSA|AA|SAME|${i}\r`) }),
      );
      if (harness.journal) {
        // Each handle dedupes exactly what it journals; the other sees it once indexed.
        const mine = await Promise.all(msgs.slice(0, 10).map((m) => store.receive(m, HOUR)));
        expect(mine.filter((r) => !r.duplicate).length).toBe(1);
        await store.counts(ch); // waits for this handle's journalled rows to be indexed
        const theirs = await Promise.all(msgs.slice(10).map((m) => other.receive(m, HOUR)));
        expect(theirs.every((r) => r.duplicate && r.id === mine[0].id && r.ack.equals(msgs[0].ack))).toBe(true);
        expect((await store.counts(ch)).received).toBe(1);
        return;
      }
      const results = await Promise.all(msgs.map((m, i) => (i % 2 ? other : store).receive(m, HOUR)));
      const stored = results.filter((r) => !r.duplicate);
      expect(stored.length).toBe(1);
      const winner = msgs[results.findIndex((r) => !r.duplicate)];
      for (const r of results) {
        expect(r.id).toBe(stored[0].id);
        if (r.duplicate) expect(r.ack.equals(winner.ack)).toBe(true);
      }
      expect((await store.counts(ch)).received).toBe(1);
    });

    test('many keys at once, with duplicates among them, in one turn', async () => {
      const ch = channel();
      const msgs = Array.from({ length: 30 }, (_, i) => inbound({ channel: ch, controlId: `M${i % 10}` }));
      const results = await Promise.all(msgs.map((m) => store.receive(m, HOUR)));
      expect(results.filter((r) => !r.duplicate).length).toBe(10);
      const byKey = new Map<string, Set<string>>();
      results.forEach((r, i) => {
        const k = msgs[i].controlId;
        byKey.set(k, (byKey.get(k) ?? new Set()).add(r.id));
      });
      for (const ids of byKey.values()) expect(ids.size).toBe(1);
    });

    test('group commit: receives made while a commit is in flight go together in the next transaction', async () => {
      const ch = channel();
      const before = groupsOf(store);
      const first = store.receive(inbound({ channel: ch, controlId: 'G0' }), HOUR);
      await new Promise((r) => setImmediate(r)); // the first group's commit has started
      const rest = Array.from({ length: 10 }, (_, i) => store.receive(inbound({ channel: ch, controlId: `G${i + 1}` }), HOUR));
      const results = await Promise.all([first, ...rest]);
      expect(groupsOf(store) - before).toBe(2);
      expect(results.every((r) => !r.duplicate)).toBe(true);
      if (harness.insertingTransactions) {
        const xids = await harness.insertingTransactions(results.map((r) => r.id));
        expect(new Set(xids.slice(1)).size).toBe(1); // the ten that waited: one transaction
        expect(xids[0]).not.toBe(xids[1]);
      }
      // arrival order is commit order
      const seqs = await Promise.all(results.map(async (r) => (await store.get(r.id))!.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect((await store.counts(ch)).received).toBe(11);
    });

    test('group commit: a duplicate of a message earlier in the same group is recognised', async () => {
      const ch = channel();
      const before = groupsOf(store);
      const original = inbound({ channel: ch, controlId: 'DUP-IN-GROUP' });
      const [a, b, c] = await Promise.all([
        store.receive(original, HOUR),
        store.receive(inbound({ channel: ch, controlId: 'OTHER' }), HOUR),
        store.receive(inbound({ channel: ch, controlId: 'DUP-IN-GROUP', ack: Buffer.from('not this one') }), HOUR),
      ]);
      expect(groupsOf(store) - before).toBe(1);
      expect([a.duplicate, b.duplicate]).toEqual([false, false]);
      expect(c).toMatchObject({ duplicate: true, id: a.id });
      expect(c.duplicate && c.ack.equals(original.ack)).toBe(true);
      expect((await store.counts(ch)).received).toBe(2);
    });

    test('group commit: a message the database refuses fails alone, the rest of its group is stored', async () => {
      const ch = channel();
      const bad = `BAD${rnd()}`;
      await harness.refuseControlId(bad);
      const settled = await Promise.allSettled([
        store.receive(inbound({ channel: ch, controlId: 'OK1' }), HOUR),
        store.receive(inbound({ channel: ch, controlId: bad }), HOUR),
        store.receive(inbound({ channel: ch, controlId: 'OK2' }), 0),
        store.receive(inbound({ channel: ch, controlId: 'OK1' }), HOUR), // still deduplicated after the retry
      ]);
      if (harness.journal) {
        // Acknowledged once journalled; the database's refusal comes later: the row is kept
        // aside with an error event, the others of its transaction are stored.
        expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
        const values = settled.map((x) => (x as PromiseFulfilledResult<{ id: string; duplicate: boolean }>).value);
        expect(values[3]).toMatchObject({ duplicate: true, id: values[0].id });
        expect((await store.counts(ch)).received).toBe(2);
        expect(await store.get(values[1].id)).toBeUndefined();
        expect(harness.journal.rejectedEvents()).toContainEqual(expect.stringContaining(values[1].id));
        return;
      }
      expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'PSL_STORE_UNAVAILABLE' });
      const first = (settled[0] as PromiseFulfilledResult<{ id: string; duplicate: boolean }>).value;
      expect((settled[3] as PromiseFulfilledResult<{ id: string; duplicate: boolean }>).value).toMatchObject({ duplicate: true, id: first.id });
      expect((await store.counts(ch)).received).toBe(2);
    });

    test('setState sets the state and manages the reason', async () => {
      const ch = channel();
      const { id } = await store.receive(inbound({ channel: ch }), 0);
      const t0 = (await store.get(id))!.updatedAt.getTime();
      await new Promise((r) => setTimeout(r, 15));
      await store.setState(id, 'processing');
      let m = (await store.get(id))!;
      expect(m).toMatchObject({ state: 'processing', reason: null });
      expect(m.updatedAt.getTime()).toBeGreaterThan(t0);
      await store.setState(id, 'dead', 'PSL_DEST_CONNECT: ECONNREFUSED 10.0.0.1:2575');
      expect(await store.get(id)).toMatchObject({ state: 'dead', reason: 'PSL_DEST_CONNECT: ECONNREFUSED 10.0.0.1:2575' });
      await store.setState(id, 'processing'); // reason left as it was
      expect(await store.get(id)).toMatchObject({ state: 'processing', reason: 'PSL_DEST_CONNECT: ECONNREFUSED 10.0.0.1:2575' });
      await store.setState(id, 'done', null); // cleared
      expect(await store.get(id)).toMatchObject({ state: 'done', reason: null });
      await expectCode(store.setState('no-such-id', 'done'), 'PSL_MESSAGE_MISSING');
    });

    test('content: put, get, overwrite, binary, several names', async () => {
      const { id } = await store.receive(inbound({ channel: channel() }), 0);
      expect(await store.getContent(id, 'transformed')).toBeUndefined();
      await store.putContent(id, 'transformed', BINARY_TAIL);
      expect((await store.getContent(id, 'transformed'))!.equals(BINARY_TAIL)).toBe(true);
      await store.putContent(id, 'transformed', Buffer.from('v2'));
      expect((await store.getContent(id, 'transformed'))!.toString()).toBe('v2');
      await store.putContent(id, 'crbio', Buffer.alloc(0));
      expect((await store.getContent(id, 'crbio'))!.length).toBe(0);
      expect((await store.getContent(id, 'transformed'))!.toString()).toBe('v2');
      await expectCode(store.putContent('no-such-id', 'x', Buffer.from('x')), 'PSL_MESSAGE_MISSING');
    });

    test('deliveries: upsert, attempts counting, detail kept or cleared', async () => {
      const { id } = await store.receive(inbound({ channel: channel() }), 0);
      expect(await store.getDelivery(id, 'lis')).toBeUndefined();
      expect(await store.deliveries(id)).toEqual([]);
      await store.setDelivery(id, 'lis', 'pending');
      expect(await store.getDelivery(id, 'lis')).toMatchObject({ messageId: id, destination: 'lis', state: 'pending', attempts: 0, detail: null });
      await store.setDelivery(id, 'lis', 'pending', 'PSL_DEST_CONNECT: refused', true);
      await store.setDelivery(id, 'lis', 'pending', undefined, true);
      let d = (await store.getDelivery(id, 'lis'))!;
      expect(d).toMatchObject({ state: 'pending', attempts: 2, detail: 'PSL_DEST_CONNECT: refused' });
      expect(d.updatedAt).toBeInstanceOf(Date);
      await store.setDelivery(id, 'lis', 'delivered', null, true);
      d = (await store.getDelivery(id, 'lis'))!;
      expect(d).toMatchObject({ state: 'delivered', attempts: 3, detail: null });
      await store.setDelivery(id, 'archive', 'dead', 'PSL_DEST_IO: EACCES', true);
      const all = await store.deliveries(id);
      expect(all.map((x) => [x.destination, x.state, x.attempts])).toEqual([
        ['archive', 'dead', 1],
        ['lis', 'delivered', 3],
      ]);
      await expectCode(store.setDelivery('no-such-id', 'lis', 'pending'), 'PSL_MESSAGE_MISSING');
    });

    test('pending: non-terminal only, seq order, afterSeq and limit, one channel', async () => {
      const ch = channel();
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push((await store.receive(inbound({ channel: ch }), 0)).id);
      await store.receive(inbound({ channel: ch, state: 'refused' }), 0);
      await store.receive(inbound({ channel: channel() }), 0); // another channel
      await store.setState(ids[1], 'done');
      await store.setState(ids[2], 'filtered');
      await store.setState(ids[3], 'dead', 'x');
      await store.setState(ids[4], 'processing');
      await store.setState(ids[5], 'routed');
      const expected = [ids[0], ids[4], ids[5], ids[6], ids[7]];
      const all = await store.pending(ch, 0, 100);
      expect(all.map((m) => m.id)).toEqual(expected);
      expect(all.map((m) => m.seq)).toEqual([...all.map((m) => m.seq)].sort((a, b) => a - b));
      expect(all.every((m) => m.channel === ch)).toBe(true);
      expect((await store.pending(ch, 0, 2)).map((m) => m.id)).toEqual(expected.slice(0, 2));
      expect((await store.pending(ch, all[1].seq, 2)).map((m) => m.id)).toEqual(expected.slice(2, 4));
      expect((await store.pending(ch, all[4].seq, 10)).length).toBe(0);
      expect(await store.pending(`none-${rnd()}`, 0, 10)).toEqual([]);
    });

    test('earlierPending: per key, before a seq, inbound-waiting or not yet delivered to a destination', async () => {
      const ch = channel();
      const key = `order:${rnd()}`;
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push((await store.receive(inbound({ channel: ch, orderingKey: key }), 0)).id);
      await store.receive(inbound({ channel: ch, orderingKey: 'other' }), 0);
      const seqOf = async (id: string): Promise<number> => (await store.get(id))!.seq;
      const last = await seqOf(ids[5]);
      // ids[0] done, ids[1] routed and delivered to A, ids[2] routed, ids[3] dead at B, ids[4] received
      await store.setState(ids[0], 'done');
      for (const i of [1, 2, 3]) {
        await store.putContent(ids[i], 'out', Buffer.from('x'));
        await store.route(ids[i], ['A', 'B']);
      }
      await store.setDelivery(ids[1], 'A', 'delivered');
      await store.setState(ids[3], 'dead', 'B: PSL_DEST_NAK_ERROR: AE');
      await store.setDelivery(ids[3], 'B', 'dead');
      expect((await store.earlierPending(ch, key, last, 10)).map((m) => m.id)).toEqual([ids[4]]);
      expect((await store.earlierPending(ch, key, last, 10, 'A')).map((m) => m.id)).toEqual([ids[2], ids[3]]);
      expect((await store.earlierPending(ch, key, last, 10, 'B')).map((m) => m.id)).toEqual([ids[1], ids[2]]);
      expect((await store.earlierPending(ch, key, await seqOf(ids[3]), 1, 'A')).map((m) => m.id)).toEqual([ids[2]]);
      expect(await store.earlierPending(ch, 'other', last + 100, 10, 'A')).toEqual([]);
      // a dead delivery reprocessed (pending again) reopens its place in the line
      await store.setDelivery(ids[3], 'B', 'pending', 'reprocess requested');
      expect((await store.earlierPending(ch, key, last, 10, 'B')).map((m) => m.id)).toEqual([ids[1], ids[2], ids[3]]);
    });

    test("earlierPending for one destination ignores another destination's open deliveries", async () => {
      const ch = channel();
      const key = `order:${rnd()}`;
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const { id } = await store.receive(inbound({ channel: ch, orderingKey: key }), 0);
        await store.route(id, ['healthy', 'stuck']);
        ids.push(id);
      }
      for (const id of ids.slice(0, 29)) await store.setDelivery(id, 'healthy', 'delivered', null, true);
      const last = (await store.get(ids[29]))!.seq;
      expect(await store.earlierPending(ch, key, last, 50, 'healthy')).toEqual([]);
      expect((await store.earlierPending(ch, key, last, 50, 'stuck')).map((m) => m.id)).toEqual(ids.slice(0, 29));
      // failures keep the delivery open; the message's own state does not matter
      await store.setDelivery(ids[29], 'stuck', 'pending', 'PSL_DEST_CONNECT: refused', true);
      await store.setState(ids[0], 'dead', 'stuck: x');
      expect((await store.earlierPending(ch, key, last + 1, 1, 'stuck')).map((m) => m.id)).toEqual([ids[0]]);
      expect(await store.earlierPending(ch, key, last + 1, 50, 'healthy')).toHaveLength(1);
    });

    test('route: routed state and open deliveries in one step; final deliveries stay closed', async () => {
      const ch = channel();
      const { id } = await store.receive(inbound({ channel: ch, orderingKey: 'K' }), 0);
      await store.setDelivery(id, 'A', 'delivered', 'a.hl7', true);
      await store.route(id, ['A', 'B', 'C']);
      expect((await store.get(id))!.state).toBe('routed');
      const open = await store.openDeliveries(ch, 0, '', 10);
      expect(open.map((o) => [o.messageId, o.destination, o.orderingKey, o.channel])).toEqual([
        [id, 'B', 'K', ch],
        [id, 'C', 'K', ch],
      ]);
      expect(open[0].openedAt).toBeInstanceOf(Date);
      await store.route(id, ['A', 'B', 'C']); // again: no duplicate rows
      expect(await store.openDeliveries(ch, 0, '', 10)).toHaveLength(2);
      await store.setDelivery(id, 'C', 'dead', 'PSL_DEST_NAK_ERROR: AE', true);
      expect((await store.openDeliveries(ch, 0, '', 10)).map((o) => o.destination)).toEqual(['B']);
      await expectCode(store.route('no-such-id', ['A']), 'PSL_MESSAGE_MISSING');
    });

    test('openDeliveries pages in (seq, destination) order without skipping a destination', async () => {
      const ch = channel();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const { id } = await store.receive(inbound({ channel: ch, orderingKey: `K${i}` }), 0);
        await store.route(id, ['x', 'y', 'z']);
        ids.push(id);
      }
      await store.route((await store.receive(inbound({ channel: channel() }), 0)).id, ['x']); // another channel
      const seen: string[] = [];
      let after = { seq: 0, destination: '' };
      for (;;) {
        const page = await store.openDeliveries(ch, after.seq, after.destination, 5);
        if (page.length === 0) break;
        seen.push(...page.map((o) => `${o.messageId}/${o.destination}`));
        after = page[page.length - 1];
      }
      expect(seen).toEqual(ids.flatMap((id) => ['x', 'y', 'z'].map((d) => `${id}/${d}`)));
    });

    test('inboundPending: received and processing only, in seq order, paged', async () => {
      const ch = channel();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push((await store.receive(inbound({ channel: ch }), 0)).id);
      await store.setState(ids[1], 'processing');
      await store.route(ids[2], ['A']);
      await store.setState(ids[3], 'done');
      await store.setState(ids[4], 'processing');
      expect((await store.inboundPending(ch, 0, 10)).map((m) => m.id)).toEqual([ids[0], ids[1], ids[4], ids[5]]);
      const first = await store.inboundPending(ch, 0, 2);
      expect(first.map((m) => m.id)).toEqual([ids[0], ids[1]]);
      expect((await store.inboundPending(ch, first[1].seq, 2)).map((m) => m.id)).toEqual([ids[4], ids[5]]);
    });

    test('repairRouted opens what a routed message of an older database lacks, and names the settled ones', async () => {
      const ch = channel();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.receive(inbound({ channel: ch }), 0)).id);
      // as an earlier version left them: routed, no open rows; ids[1] delivered to A; ids[2] final everywhere
      for (const id of ids.slice(0, 4)) await store.setState(id, 'routed');
      await store.setDelivery(ids[1], 'A', 'delivered');
      await store.setDelivery(ids[2], 'A', 'delivered');
      await store.setDelivery(ids[2], 'B', 'dead', 'x');
      const pages = [];
      let after = 0;
      for (;;) {
        const p = await store.repairRouted(ch, ['A', 'B'], after, 2);
        if (p.scanned === 0) break;
        pages.push(p);
        after = p.lastSeq;
      }
      expect(pages.map((p) => p.scanned)).toEqual([2, 2]);
      expect(pages.flatMap((p) => p.settled)).toEqual([ids[2]]);
      const open = (await store.openDeliveries(ch, 0, '', 100)).map((o) => `${o.messageId}/${o.destination}`);
      expect(open).toEqual([`${ids[0]}/A`, `${ids[0]}/B`, `${ids[1]}/B`, `${ids[3]}/A`, `${ids[3]}/B`]);
      expect((await store.repairRouted(ch, ['A', 'B'], 0, 10)).settled).toEqual([ids[2]]); // idempotent
      expect(await store.openDeliveries(ch, 0, '', 100)).toHaveLength(5);
    });

    test('list (newest first, by state, limit) and counts', async () => {
      const ch = channel();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.receive(inbound({ channel: ch }), 0)).id);
      await store.setState(ids[0], 'dead', 'PSL_TRANSFORM_FAILED: x');
      await store.setState(ids[3], 'dead', 'PSL_TRANSFORM_FAILED: y');
      await store.setState(ids[4], 'done');
      expect((await store.list(ch, undefined, 10)).map((m) => m.id)).toEqual([...ids].reverse());
      expect((await store.list(ch, undefined, 2)).map((m) => m.id)).toEqual([ids[4], ids[3]]);
      const dead = await store.list(ch, 'dead', 10);
      expect(dead.map((m) => m.id)).toEqual([ids[3], ids[0]]);
      expect(dead[0].reason).toBe('PSL_TRANSFORM_FAILED: y');
      expect(await store.list(ch, 'routed', 10)).toEqual([]);
      expect(await store.counts(ch)).toEqual({
        received: 2,
        processing: 0,
        routed: 0,
        done: 1,
        filtered: 0,
        refused: 0,
        dead: 2,
        discarded: 0,
      });
      expect(Object.values(await store.counts(`none-${rnd()}`)).every((n) => n === 0)).toBe(true);
    });

    test('receive rejects malformed input', async () => {
      await expect(store.receive({ ...inbound({ channel: channel() }), raw: 'text' as unknown as Buffer }, 0)).rejects.toThrow(TypeError);
      await expect(store.receive(inbound({ channel: channel() }), -1)).rejects.toThrow(TypeError);
    });

    // Last: prune removes every old-enough terminal message of the store.
    test('prune deletes old terminal messages in chunks, with their content; keeps the rest', async () => {
      const ch = channel();
      const old = new Date(Date.now() - 48 * HOUR);
      const keep: string[] = [];
      for (const s of ['received', 'processing', 'routed'] as const) {
        const { id } = await store.receive(inbound({ channel: ch, receivedAt: old }), 0);
        if (s !== 'received') await store.setState(id, s);
        keep.push(id);
      }
      const gone: string[] = [];
      for (const s of ['done', 'filtered', 'dead'] as const) {
        const { id } = await store.receive(inbound({ channel: ch, receivedAt: old }), 0);
        await store.setState(id, s, s === 'dead' ? 'x' : undefined);
        await store.putContent(id, 'transformed', Buffer.from('t'));
        await store.setDelivery(id, 'lis', 'delivered', null, true);
        gone.push(id);
      }
      // 2,500 refused messages: more than two chunks
      const bulk = `${ch}-bulk`;
      for (let i = 0; i < 2500; i += 250) {
        await Promise.all(
          Array.from({ length: 250 }, () => store.receive(inbound({ channel: bulk, state: 'refused', receivedAt: old }), 0)),
        );
      }
      // terminal for a day, but changed just now: too recent
      expect(await store.prune(new Date(Date.now() - 24 * HOUR))).toBe(0);

      const n = await store.prune(new Date(Date.now() + 60_000));
      expect(n).toBeGreaterThanOrEqual(2503);
      for (const id of keep) expect(await store.get(id)).toBeDefined();
      for (const id of gone) {
        expect(await store.get(id)).toBeUndefined();
        expect(await store.raw(id)).toBeUndefined();
        expect(await store.getContent(id, 'transformed')).toBeUndefined();
        expect(await store.deliveries(id)).toEqual([]);
      }
      expect(await store.counts(ch)).toMatchObject({ received: 1, processing: 1, routed: 1, done: 0, filtered: 0, dead: 0 });
      expect((await store.counts(bulk)).refused).toBe(0);
      expect(await store.prune(new Date(Date.now() + 60_000))).toBe(0);
    });
  });
}

// ---------------------------------------------------------------------------------------------

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-store-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** A trigger that makes the SQLite file refuse inserts of one control id. */
const refuseInSqlite = (file: string) => async (controlId: string): Promise<void> => {
  const db = new Database(file);
  db.exec(`CREATE TRIGGER refuse_${controlId} BEFORE INSERT ON messages WHEN NEW.control_id = '${controlId}'
           BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
  db.close();
};

describeStore('SqliteStore', async () => {
  const file = path.join(tmpRoot, 'nested', 'dirs', 'store.db'); // parent dirs are created
  return {
    async open() {
      const s = new SqliteStore({ path: file });
      await s.init();
      return s;
    },
    async destroy() {
      /* tmpRoot is removed at the end */
    },
    refuseControlId: refuseInSqlite(file),
  };
});

describeStore('SqliteStore, intake commits on the event loop', async () => {
  const file = path.join(tmpRoot, `inline-${rnd()}.db`);
  return {
    async open() {
      const s = new SqliteStore({ path: file, intakeThread: false });
      await s.init();
      return s;
    },
    async destroy() {
      /* tmpRoot is removed at the end */
    },
    refuseControlId: refuseInSqlite(file),
  };
});

describeStore('SqliteStore, NORMAL: intake journal', async () => {
  const file = path.join(tmpRoot, `journal-${rnd()}.db`);
  const events: string[] = [];
  return {
    async open() {
      const s = new SqliteStore({
        path: file,
        synchronous: 'NORMAL', // the journal's default
        onIntakeEvent: (level, message, details) => events.push(`${level} ${message} ${JSON.stringify(details)}`),
      });
      await s.init();
      return s;
    },
    async destroy() {
      /* tmpRoot is removed at the end */
    },
    refuseControlId: refuseInSqlite(file),
    journal: { rejectedEvents: () => events.filter((e) => e.startsWith('error acknowledged message refused')) },
  };
});

describeStore('PgStore', async () => {
  const schema = `psl_test_${rnd()}`;
  return {
    async open() {
      const s = createStore({ kind: 'postgres', url: PG_URL, schema, poolSize: 5 });
      await s.init();
      return s;
    },
    async destroy() {
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
    async insertingTransactions(ids) {
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      try {
        const r = await c.query<{ id: string; xmin: string }>(`SELECT id, xmin::text AS xmin FROM "${schema}".messages WHERE id = ANY($1)`, [ids]);
        const byId = new Map(r.rows.map((x) => [x.id, x.xmin]));
        return ids.map((id) => byId.get(id) ?? '');
      } finally {
        await c.end();
      }
    },
    async refuseControlId(controlId) {
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`CREATE FUNCTION "${schema}".refuse_${controlId}() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$`);
        await c.query(`CREATE TRIGGER refuse_${controlId} BEFORE INSERT ON "${schema}".messages FOR EACH ROW
                       WHEN (NEW.control_id = '${controlId}') EXECUTE FUNCTION "${schema}".refuse_${controlId}()`);
      } finally {
        await c.end();
      }
    },
  };
});

describe('PgStore specifics', () => {
  test('rejects an unsafe schema name', () => {
    expect(() => new PgStore({ connectionString: PG_URL, schema: 'x"; DROP TABLE y; --' })).toThrow(TypeError);
  });
});

describe('SqliteStore specifics', () => {
  test('uses WAL; refuses an unknown synchronous level', async () => {
    const file = path.join(tmpRoot, `pragma-${rnd()}.db`);
    const s = createStore({ kind: 'sqlite', path: file, synchronous: 'NORMAL' });
    await s.init();
    await s.close();
    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    expect(() => new SqliteStore({ path: file, synchronous: 'OFF' as 'FULL' })).toThrow(TypeError);
  });

  test('close() commits receives still waiting for their batch', async () => {
    const file = path.join(tmpRoot, `close-${rnd()}.db`);
    const s = new SqliteStore({ path: file });
    await s.init();
    const pending = [s.receive(inbound({ channel: 'c' }), HOUR), s.receive(inbound({ channel: 'c' }), HOUR)];
    await s.close();
    const ids = (await Promise.all(pending)).map((r) => r.id);
    await expect(s.receive(inbound({ channel: 'c' }), 0)).rejects.toThrow(/closed/);
    const again = new SqliteStore({ path: file });
    await again.init();
    for (const id of ids) expect(await again.get(id)).toBeDefined();
    await again.close();
  });

  test('a database of the previous version opens: old index dropped, open deliveries added, repair fills them', async () => {
    const file = path.join(tmpRoot, `old-${rnd()}.db`);
    const s = new SqliteStore({ path: file });
    await s.init();
    const { id } = await s.receive(inbound({ channel: 'old', orderingKey: 'K' }), 0);
    await s.setState(id, 'routed');
    await s.close();
    // back to the previous layout: no open_deliveries table, messages_key_open present
    const db = new Database(file);
    db.exec(`DROP TABLE open_deliveries; DROP INDEX messages_key_inbound;
      CREATE INDEX messages_key_open ON messages (channel, ordering_key, seq) WHERE state NOT IN ('done', 'filtered', 'refused');`);
    db.close();
    const again = new SqliteStore({ path: file });
    await again.init();
    const check = new Database(file, { readonly: true });
    const indexes = check.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'`).all() as { name: string }[];
    check.close();
    expect(indexes.map((i) => i.name)).toEqual(expect.arrayContaining(['messages_key_inbound']));
    expect(indexes.map((i) => i.name)).not.toContain('messages_key_open');
    expect(await again.openDeliveries('old', 0, '', 10)).toEqual([]);
    await again.repairRouted('old', ['out'], 0, 100);
    const m = (await again.get(id))!;
    expect((await again.earlierPending('old', 'K', m.seq + 1, 10, 'out')).map((x) => x.id)).toEqual([id]);
    await again.close();
  });

  test('the WAL is checkpointed in the background: the database file alone soon holds what was committed', async () => {
    const file = path.join(tmpRoot, `checkpoint-${rnd()}.db`);
    const s = new SqliteStore({ path: file, synchronous: 'NORMAL' });
    await s.init();
    try {
      const ids = (await Promise.all(Array.from({ length: 20 }, () => s.receive(inbound({ channel: 'cp' }), HOUR)))).map((r) => r.id);
      // A copy of the main file without its WAL sees only checkpointed pages; the connections'
      // own autocheckpoint would not run before thousands of pages.
      const copy = path.join(tmpRoot, `checkpoint-copy-${rnd()}.db`);
      let found = 0;
      for (let i = 0; i < 100 && found < ids.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        fs.copyFileSync(file, copy);
        const db = new Database(copy, { readonly: true });
        try {
          found = (db.prepare(`SELECT count(*) AS n FROM messages WHERE channel = 'cp'`).get() as { n: number }).n;
        } catch {
          found = 0; // schema not checkpointed yet
        } finally {
          db.close();
        }
      }
      expect(found).toBe(ids.length);
    } finally {
      await s.close();
    }
  });

  test('methods refuse to run before init()', async () => {
    const s = new SqliteStore({ path: path.join(tmpRoot, `noinit-${rnd()}.db`) });
    await expect(s.get('x')).rejects.toThrow(/init/);
    await expect(s.receive(inbound({ channel: 'c' }), 0)).rejects.toThrow(/init/);
  });

  /** Deterministic payload of message n; also injected into the child's source. */
  function payload(n: number): { controlId: string; raw: Buffer; ack: Buffer } {
    const controlId = 'K' + n;
    const raw = Buffer.concat([
      Buffer.from('MSH|^~\\&|LAB|FAC|PSL|HOSP|20240101||ORU^R01|' + controlId + '|P|2.5\rOBX|1|TX|||é ç\r', 'latin1'),
      Buffer.from([0x00, n & 0xff, (n >> 8) & 0xff, 0xe9, 0x00]),
      Buffer.alloc(200 + (n % 300), n & 0xff),
    ]);
    const ack = Buffer.from('MSH|^~\\&|PSL|HOSP|LAB|FAC|20240101||ACK|A' + controlId + '|P|2.5\rMSA|AA|' + controlId + '\r', 'latin1');
    return { controlId, raw, ack };
  }

  const distStore = path.resolve(__dirname, '../../dist/engine/store/sqlite.js');

  for (const synchronous of ['NORMAL', 'FULL'] as const) {
    test(`kill -9 right after the ACK loses nothing (synchronous ${synchronous})`, async () => {
      if (!fs.existsSync(distStore)) {
        throw new Error(`${distStore} is missing: build first (npx tsc -p tsconfig.build.json; npm test does it)`);
      }
      const file = path.join(tmpRoot, `crash-${synchronous}-${rnd()}.db`);
      const script = path.join(tmpRoot, `crash-child-${rnd()}.js`);
      fs.writeFileSync(
        script,
        `'use strict';
const { SqliteStore } = require(${JSON.stringify(distStore)});
${payload.toString()}
const store = new SqliteStore({ path: process.argv[2], synchronous: process.argv[3] });
(async () => {
  await store.init();
  let n = 0;
  for (;;) {
    // several "connections" in the same turn: exercises group commit
    const batch = [];
    for (let i = 0; i < 1 + (n % 5); i++) {
      const k = n++;
      const p = payload(k);
      batch.push(
        store.receive({ channel: 'crash', controlId: p.controlId, sender: 'LAB^FAC', messageType: 'ORU^R01',
          orderingKey: '', charset: '8859/1', raw: p.raw, ack: p.ack, receivedAt: new Date(), state: 'received' }, 60000)
          .then((r) => { process.stdout.write(r.id + ' ' + k + '\\n'); }),
      );
    }
    await Promise.all(batch);
  }
})().catch((e) => { console.error(e); process.exit(2); });
`,
      );

      const printed: Array<{ id: string; n: number }> = [];
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [script, file, synchronous], { stdio: ['ignore', 'pipe', 'pipe'] });
        let buf = '';
        let killed = false;
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const [id, n] = buf.slice(0, nl).split(' ');
            buf = buf.slice(nl + 1);
            printed.push({ id, n: Number(n) });
          }
          if (!killed && printed.length >= 300) {
            killed = true;
            child.kill('SIGKILL');
          }
        });
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('error', reject);
        child.on('close', (code, signal) => {
          if (signal === 'SIGKILL') resolve();
          else reject(new Error(`child ended by itself (code ${code}): ${stderr}`));
        });
      });

      expect(printed.length).toBeGreaterThanOrEqual(300);
      const db = new Database(file);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();

      const s = new SqliteStore({ path: file, synchronous });
      await s.init();
      try {
        for (const { id, n } of printed) {
          const p = payload(n);
          const m = await s.get(id);
          expect(m).toBeDefined();
          expect(m!.controlId).toBe(p.controlId);
          expect(m!.ack.equals(p.ack)).toBe(true);
          expect((await s.raw(id))!.equals(p.raw)).toBe(true);
        }
        expect((await s.counts('crash')).received).toBeGreaterThanOrEqual(printed.length);
        // the reopened store still dedupes what the dead process committed
        const last = payload(printed[printed.length - 1].n);
        const again = await s.receive(
          { channel: 'crash', controlId: last.controlId, sender: 'LAB^FAC', messageType: 'ORU^R01', orderingKey: '',
            charset: '8859/1', raw: last.raw, ack: Buffer.from('other'), receivedAt: new Date(), state: 'received' },
          60_000,
        );
        expect(again).toMatchObject({ duplicate: true, id: printed[printed.length - 1].id });
        if (again.duplicate) expect(again.ack.equals(last.ack)).toBe(true);
      } finally {
        await s.close();
      }
    });
  }
});

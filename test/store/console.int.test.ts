/**
 * The store calls of the operations console (issue 10), on every intake path of both stores:
 * search keys written with their message (and gone with it), the search itself (every field
 * narrows, newest first, paged), the channel and version delivery stats, the facts of report
 * versions and the rows the indicators count. A database of the previous version gets the new
 * tables, counters and columns when opened.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { PgStore, SqliteStore } from '../../engine/store';
import type { InboundMessage, MessageKey, MessageStore, StoredMessage } from '../../engine/store';
import { testPgUrl } from '../support/pg';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-console-store-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
const rnd = (): string => randomBytes(5).toString('hex');
const MIN = 60_000;
const HOUR = 60 * MIN;

let PG_URL = '';
beforeAll(async () => {
  PG_URL = await testPgUrl();
});

function inbound(channel: string, over: Partial<InboundMessage> = {}): InboundMessage {
  const controlId = over.controlId ?? `C${rnd()}`;
  return {
    channel,
    controlId,
    sender: 'LAB|FAC',
    messageType: 'ORU^R01',
    orderingKey: 'order:1',
    charset: '8859/1',
    raw: Buffer.from(`MSH|^~\\&|LAB|FAC|PSL|HOSP|20260101000000||ORU^R01|${controlId}|P|2.5\r`, 'latin1'),
    ack: Buffer.from(`MSH|^~\\&|PSL|HOSP|LAB|FAC|20260101000001||ACK|A${controlId}|P|2.5\rMSA|AA|${controlId}\r`, 'latin1'),
    receivedAt: new Date(),
    state: 'received',
    ...over,
  };
}

interface Harness {
  open(): Promise<MessageStore>;
  /** One number straight from the database (test assertions on tables the API does not show). */
  scalar(sql: string): Promise<number>;
  /** Runs statements on the database itself. */
  exec(sql: string): Promise<void>;
  /** Table name as SQL (PostgreSQL: schema-qualified). */
  table(name: string): string;
  destroy(): Promise<void>;
  kind: 'sqlite' | 'pg';
}

const ids = (ms: StoredMessage[]): string[] => ms.map((m) => m.id);

function suite(name: string, make: () => Promise<Harness>): void {
  describe(name, () => {
    let h: Harness;
    let store: MessageStore;
    beforeAll(async () => {
      h = await make();
      store = await h.open();
    });
    afterAll(async () => {
      await store?.close();
      await h?.destroy();
    });

    /** Receives in order, one at a time (so seq order is the call order); returns the ids. */
    async function receiveAll(msgs: InboundMessage[]): Promise<string[]> {
      const out: string[] = [];
      for (const m of msgs) {
        const r = await store.receive(m, HOUR);
        if (r.duplicate) throw new Error('unexpected duplicate');
        await r.stored;
        out.push(r.id);
      }
      return out;
    }

    test('keys are stored with the message, normalised, and read back; a duplicate writes none', async () => {
      const ch = `keys-${rnd()}`;
      const keys: MessageKey[] = [
        { kind: 'patient', value: 'IPP-1' },
        { kind: 'ins', value: '248092A20345642' },
        { kind: 'order', value: 'LAB-1' },
        { kind: 'order', value: 'LAB-1' },
        { kind: 'order', value: 'bad\u0000value' },
        { kind: 'order', value: 'y'.repeat(80) },
        { kind: 'other' as MessageKey['kind'], value: 'x' },
      ];
      const msg = inbound(ch, { keys });
      const [id] = await receiveAll([msg]);
      const stored = await store.messageKeys(id!);
      expect(stored).toEqual(
        [
          { kind: 'ins', value: '248092A20345642' },
          { kind: 'order', value: 'LAB-1' },
          { kind: 'order', value: 'y'.repeat(64) },
          { kind: 'patient', value: 'IPP-1' },
        ],
      );
      const dup = await store.receive({ ...msg, receivedAt: new Date(), keys: [{ kind: 'order', value: 'ONLY-ON-DUP' }] }, HOUR);
      expect(dup).toMatchObject({ duplicate: true, id });
      await store.get(id!); // waits for anything journalled
      expect(await store.searchMessages({ order: 'ONLY-ON-DUP', limit: 10 })).toEqual([]);
      expect(await store.messageKeys(id!)).toEqual(stored);
      const none = await receiveAll([inbound(ch)]);
      expect(await store.messageKeys(none[0]!)).toEqual([]);
      expect(await store.messageKeys('no-such-id')).toEqual([]);
    });

    test('search: every field narrows, newest first, no payloads, paged by beforeSeq', async () => {
      const a = `srch-a-${rnd()}`;
      const b = `srch-b-${rnd()}`;
      const ins = `1${rnd()}`;
      const file = `LAB-${rnd()}`;
      const other = `LAB-${rnd()}`;
      const t0 = Date.now() - 10 * HOUR;
      const msgs = [
        inbound(a, { receivedAt: new Date(t0), keys: [{ kind: 'ins', value: ins }, { kind: 'order', value: file }, { kind: 'patient', value: 'P1' }] }),
        inbound(b, { receivedAt: new Date(t0 + HOUR), keys: [{ kind: 'ins', value: ins }, { kind: 'order', value: other }] }),
        inbound(a, { receivedAt: new Date(t0 + 2 * HOUR), keys: [{ kind: 'ins', value: ins }, { kind: 'order', value: file }] }),
        inbound(a, { receivedAt: new Date(t0 + 3 * HOUR), keys: [{ kind: 'patient', value: 'P1' }] }),
        inbound(a, { receivedAt: new Date(t0 + 4 * HOUR), controlId: `CTL-${rnd()}`, keys: [{ kind: 'ins', value: ins }] }),
      ];
      const [m0, m1, m2, m3, m4] = await receiveAll(msgs);
      await store.setState(m2!, 'dead', 'PSL_X: y');

      const byIns = await store.searchMessages({ ins, limit: 10 });
      expect(ids(byIns)).toEqual([m4, m2, m1, m0]);
      for (const m of byIns) {
        expect(m).not.toHaveProperty('raw');
        expect(Object.keys(m).sort()).toEqual(['ack', 'channel', 'charset', 'controlId', 'id', 'messageType', 'orderingKey', 'reason', 'receivedAt', 'sender', 'seq', 'state', 'updatedAt']);
      }
      expect(ids(await store.searchMessages({ ins, channel: a, limit: 10 }))).toEqual([m4, m2, m0]);
      expect(ids(await store.searchMessages({ ins, state: 'dead', limit: 10 }))).toEqual([m2]);
      expect(ids(await store.searchMessages({ ins, order: file, limit: 10 }))).toEqual([m2, m0]);
      expect(ids(await store.searchMessages({ ins, order: file, patient: 'P1', limit: 10 }))).toEqual([m0]);
      expect(ids(await store.searchMessages({ patient: 'P1', limit: 10 }))).toEqual([m3, m0]);
      expect(ids(await store.searchMessages({ order: other, limit: 10 }))).toEqual([m1]);
      expect(ids(await store.searchMessages({ ins, from: new Date(t0 + HOUR), to: new Date(t0 + 4 * HOUR), limit: 10 }))).toEqual([m2, m1]);
      expect(ids(await store.searchMessages({ ins, controlId: msgs[4]!.controlId, limit: 10 }))).toEqual([m4]);
      expect(ids(await store.searchMessages({ controlId: msgs[4]!.controlId, limit: 10 }))).toEqual([m4]);
      expect(ids(await store.searchMessages({ controlId: msgs[4]!.controlId, channel: b, limit: 10 }))).toEqual([]);
      expect(await store.searchMessages({ ins: 'unknown', limit: 10 })).toEqual([]);
      expect(await store.searchMessages({ ins, limit: 0 })).toEqual([]);

      // Pages of two.
      const p1 = await store.searchMessages({ ins, limit: 2 });
      expect(ids(p1)).toEqual([m4, m2]);
      const p2 = await store.searchMessages({ ins, limit: 2, beforeSeq: p1[1]!.seq });
      expect(ids(p2)).toEqual([m1, m0]);
      expect(await store.searchMessages({ ins, limit: 2, beforeSeq: p2[1]!.seq })).toEqual([]);

      // Channel and date range without a key; channel and state.
      expect(ids(await store.searchMessages({ channel: a, limit: 10 }))).toEqual([m4, m3, m2, m0]);
      expect(ids(await store.searchMessages({ channel: a, state: 'received', limit: 2 }))).toEqual([m4, m3]);
      expect(ids(await store.searchMessages({ channel: a, from: new Date(t0 + 2 * HOUR), limit: 10 }))).toEqual([m4, m3, m2]);
      expect(ids(await store.searchMessages({ from: new Date(t0 + HOUR), to: new Date(t0 + 3 * HOUR), limit: 10 }))).toEqual([m2, m1]);
      const rangePage = await store.searchMessages({ from: new Date(t0), to: new Date(t0 + 5 * HOUR), limit: 3 });
      expect(ids(rangePage)).toEqual([m4, m3, m2]);
      expect(ids(await store.searchMessages({ from: new Date(t0), to: new Date(t0 + 5 * HOUR), limit: 3, beforeSeq: rangePage[2]!.seq }))).toEqual([m1, m0]);
      expect(ids(await store.searchMessages({ state: 'dead', from: new Date(t0), limit: 10 }))).toEqual([m2]);
      const newest = await store.searchMessages({ limit: 1 });
      expect(newest[0]!.seq).toBeGreaterThanOrEqual(byIns[0]!.seq);
      await expect(store.searchMessages({ limit: -1 })).rejects.toThrow(TypeError);
      await expect(store.searchMessages({ state: 'nope' as 'dead', limit: 1 })).rejects.toThrow(TypeError);
      await expect(store.searchMessages({ from: new Date('x'), limit: 1 })).rejects.toThrow(TypeError);
    });

    test('a wide date range is newest first and exact, page after page; a state with many (or few) messages in it too', async () => {
      const ch = `wide-${rnd()}`;
      const t0 = Date.now() - 5 * HOUR;
      const n = 6000;
      const rs = await Promise.all(Array.from({ length: n }, (_, i) => store.receive(inbound(ch, { receivedAt: new Date(t0 + i * 1000), state: i % 1000 === 7 ? 'refused' : 'received' }), 0)));
      await Promise.all(rs.map((r) => (r.duplicate ? undefined : r.stored)));
      const all = await store.searchMessages({ channel: ch, limit: n });
      expect(all).toHaveLength(n);
      for (let i = 1; i < all.length; i++) expect(all[i]!.seq).toBeLessThan(all[i - 1]!.seq);
      // [t0 + 100 s, t0 + 5900 s): 5800 messages.
      const from = new Date(t0 + 100_000);
      const to = new Date(t0 + 5_900_000);
      const inRange = all.filter((m) => m.receivedAt >= from && m.receivedAt < to);
      expect(inRange).toHaveLength(5800);
      const page = await store.searchMessages({ from, to, limit: 50 });
      expect(ids(page)).toEqual(ids(inRange.slice(0, 50)));
      const next = await store.searchMessages({ from, to, limit: 50, beforeSeq: page[49]!.seq });
      expect(ids(next)).toEqual(ids(inRange.slice(50, 100)));
      const refused = await store.searchMessages({ from, to, state: 'refused', limit: 50 });
      expect(ids(refused)).toEqual(ids(inRange.filter((m) => m.state === 'refused')));
      expect(refused.length).toBe(5);
      const received = await store.searchMessages({ from, to, state: 'received', limit: 50, beforeSeq: page[9]!.seq });
      expect(ids(received)).toEqual(ids(inRange.slice(10).filter((m) => m.state === 'received').slice(0, 50)));
    });

    test('a date range without key is ordered by received time (then channel, seq) and paged exactly, whatever the store order', async () => {
      const ch = `late-${rnd()}`;
      const t0 = Date.now() - 3 * HOUR;
      // Store order differs from time order (a message received earlier stored later).
      const offsets = [5, 1, 9, 3, 7, 3, 0, 8];
      const got = await receiveAll(offsets.map((o) => inbound(ch, { receivedAt: new Date(t0 + o * MIN), state: o === 3 ? 'refused' : 'received' })));
      const expected = got
        .map((id, i) => ({ id, at: offsets[i]!, seq: i }))
        .sort((a, b) => b.at - a.at || b.seq - a.seq)
        .map((x) => x.id);
      const q = { channel: ch, from: new Date(t0), to: new Date(t0 + 10 * MIN) };
      const pages: string[] = [];
      let cursor: number | undefined;
      for (;;) {
        const page = await store.searchMessages({ ...q, limit: 3, beforeSeq: cursor });
        if (page.length === 0) break;
        pages.push(...ids(page));
        cursor = page[page.length - 1]!.seq;
      }
      expect(pages).toEqual(expected);
      // The rare-state plan gives the same order.
      expect(ids(await store.searchMessages({ ...q, state: 'refused', limit: 10 }))).toEqual(expected.filter((id) => offsets[got.indexOf(id)] === 3));
      // Without a date range: store order.
      expect(ids(await store.searchMessages({ channel: ch, limit: 10 }))).toEqual([...got].reverse());
    });

    test('keys go with their message when it is pruned', async () => {
      const ch = `prune-${rnd()}`;
      const file = `LAB-${rnd()}`;
      const old = new Date(Date.now() - 48 * HOUR);
      const [gone, kept] = await receiveAll([
        inbound(ch, { receivedAt: old, keys: [{ kind: 'order', value: file }] }),
        inbound(ch, { receivedAt: old, keys: [{ kind: 'order', value: file }] }),
      ]);
      await store.setState(gone!, 'done');
      // updated_at must be old too: prune keeps what changed recently.
      await h.exec(
        h.kind === 'sqlite'
          ? `UPDATE messages SET updated_at = ${old.getTime()} WHERE id = '${gone}'`
          : `UPDATE ${h.table('messages')} SET updated_at = '${old.toISOString()}' WHERE id = '${gone}'`,
      );
      expect(await store.prune(new Date(Date.now() - 24 * HOUR))).toBeGreaterThanOrEqual(1);
      expect(ids(await store.searchMessages({ order: file, limit: 10 }))).toEqual([kept]);
      expect(await h.scalar(`SELECT count(*) AS n FROM ${h.table('message_keys')} WHERE value = '${file}'`)).toBe(1);
      expect(await store.messageKeys(gone!)).toEqual([]);
    });

    test('counts follow the rows the database took: one row of a group refused is not counted', async () => {
      const ch = `cnt-${rnd()}`;
      const bad = `BAD${rnd()}`;
      await h.exec(
        h.kind === 'sqlite'
          ? `CREATE TRIGGER refuse_${bad} BEFORE INSERT ON messages WHEN NEW.control_id = '${bad}' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`
          : `CREATE FUNCTION ${h.table(`refuse_${bad}`)}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
             CREATE TRIGGER refuse_${bad} BEFORE INSERT ON ${h.table('messages')} FOR EACH ROW WHEN (NEW.control_id = '${bad}') EXECUTE FUNCTION ${h.table(`refuse_${bad}`)}()`,
      );
      const results = await Promise.allSettled([inbound(ch), inbound(ch, { controlId: bad }), inbound(ch)].map((m) => store.receive(m, HOUR)));
      await Promise.allSettled(results.map((r) => (r.status === 'fulfilled' && !r.value.duplicate ? r.value.stored : undefined)));
      const s = await store.channelStats(ch, []);
      expect(s.counts.received).toBe(2);
      expect(s.received.m1).toBe(2);
      expect((await store.searchMessages({ channel: ch, limit: 10 })).length).toBe(2);
    });

    test('channelStats: counts per state, received and delivered per window, open lines, dead, last failures', async () => {
      const ch = `stats-${rnd()}`;
      const now = Date.now();
      // In arrival order (the oldest waiting is the head of the line).
      const [a4, a1, a2, a3] = await receiveAll([
        inbound(ch, { receivedAt: new Date(now - 2 * HOUR) }),
        inbound(ch, { receivedAt: new Date(now - 30 * MIN) }),
        inbound(ch, { receivedAt: new Date(now - 3 * MIN) }),
        inbound(ch, { receivedAt: new Date(now - 20_000) }),
      ]);
      await receiveAll([inbound(ch, { state: 'refused', reason: 'HL7_207: x', receivedAt: new Date(now - 10_000) })]);
      let s = await store.channelStats(ch, ['file', 'mllp'], new Date());
      expect(s.counts).toMatchObject({ received: 4, refused: 1, processing: 0, dead: 0 });
      expect(s.received).toEqual({ m1: 2, m5: 3, m60: 4 });
      expect(s.oldestInboundAt).toEqual(new Date(now - 2 * HOUR));
      expect(s.destinations.map((d) => d.destination)).toEqual(['file', 'mllp']);
      expect(s.destinations[0]).toEqual({ destination: 'file', open: 0, oldestOpenAt: null, dead: 0, delivered: { m1: 0, m5: 0, m60: 0 }, lastFailures: [] });

      for (const id of [a1, a2, a3, a4]) {
        await store.setState(id!, 'processing');
        await store.route(id!, ['file', 'mllp']);
      }
      s = await store.channelStats(ch, ['file', 'mllp']);
      expect(s.counts).toMatchObject({ received: 0, routed: 4 });
      expect(s.oldestInboundAt).toBeNull();
      expect(s.destinations[0]!.open).toBe(4);
      expect(s.destinations[0]!.oldestOpenAt).toBeInstanceOf(Date);
      expect(Math.abs(s.destinations[0]!.oldestOpenAt!.getTime() - Date.now())).toBeLessThan(MIN);

      await store.setDelivery(a1!, 'file', 'delivered', null, true);
      await store.setDelivery(a2!, 'file', 'delivered', null, true);
      await store.setDelivery(a2!, 'file', 'delivered', null, false); // recorded twice: delivered once
      await store.setDelivery(a1!, 'mllp', 'pending', 'PSL_DEST_CONNECT: refused', true);
      await store.setDelivery(a1!, 'mllp', 'pending', 'PSL_DEST_CONNECT: refused again', true);
      await store.setDelivery(a1!, 'mllp', 'dead', 'PSL_DEST_AE: ' + 'z'.repeat(800), false);
      await store.setDelivery(a2!, 'mllp', 'dead', 'PSL_DEST_AR: no', true);
      await store.setState(a1!, 'dead', 'PSL_DEST_AE: z');
      await store.setState(a2!, 'dead', 'PSL_DEST_AR: no');
      s = await store.channelStats(ch, ['file', 'mllp']);
      const [file, mllp] = s.destinations;
      expect(s.counts).toMatchObject({ routed: 2, dead: 2 });
      expect(file).toMatchObject({ open: 2, dead: 0, delivered: { m1: 2, m5: 2, m60: 2 }, lastFailures: [] });
      expect(mllp).toMatchObject({ open: 2, dead: 2, delivered: { m1: 0, m5: 0, m60: 0 } });
      expect(mllp!.lastFailures.map((f) => [f.messageId, f.state, f.detail.slice(0, 30)])).toEqual([
        [a2, 'dead', 'PSL_DEST_AR: no'],
        [a1, 'dead', 'PSL_DEST_AE: ' + 'z'.repeat(17)],
        [a1, 'pending', 'PSL_DEST_CONNECT: refused agai'],
        [a1, 'pending', 'PSL_DEST_CONNECT: refused'],
      ]);
      expect(mllp!.lastFailures[1]!.detail.length).toBe(500);

      // A reprocess reopens without a failure; the dead count follows the row.
      await store.setDelivery(a1!, 'mllp', 'pending', 'reprocess requested', false);
      s = await store.channelStats(ch, ['file', 'mllp']);
      expect(s.destinations[1]).toMatchObject({ open: 3, dead: 1 });
      expect(s.destinations[1]!.lastFailures).toHaveLength(4);
      // Only the last 10 are shown (20 kept).
      for (let i = 0; i < 25; i++) await store.setDelivery(a3!, 'mllp', 'pending', `PSL_DEST_CONNECT: ${i}`, true);
      s = await store.channelStats(ch, ['file', 'mllp']);
      expect(s.destinations[1]!.lastFailures.map((f) => f.detail)).toEqual(Array.from({ length: 10 }, (_, i) => `PSL_DEST_CONNECT: ${24 - i}`));

      // A pruned dead message leaves the dead count.
      await h.exec(
        h.kind === 'sqlite'
          ? `UPDATE messages SET updated_at = 1, received_at = 1 WHERE id = '${a2}'`
          : `UPDATE ${h.table('messages')} SET updated_at = 'epoch', received_at = 'epoch' WHERE id = '${a2}'`,
      );
      await store.prune(new Date(Date.now() - HOUR));
      s = await store.channelStats(ch, ['file', 'mllp']);
      expect(s.destinations[1]!.dead).toBe(0);
      expect(s.counts).toMatchObject({ dead: 1, routed: 2 });
      expect(await store.counts(ch)).toEqual(s.counts);
    });

    test('versionDeliveryStats per target kind; indicatorRows join the version facts', async () => {
      const lab = `L${rnd()}`;
      const f = 'F1';
      expect(await store.reserveReportVersion({ lab, fillerOrder: f, version: 1, status: 'active', contentHash: 'h1', revision: 1, facts: { finess: '1120459876', rpps: '801234534765', insQualified: true } }, 30_000)).toBe(true);
      expect(await store.reserveReportVersion({ lab, fillerOrder: f, version: 2, status: 'completed', contentHash: 'h2', revision: 2, facts: { insQualified: false } }, 30_000)).toBe(true);
      await store.reserveReportVersion({ lab, fillerOrder: f, version: 3, status: 'deleted', contentHash: 'h3', revision: 3 }, 30_000);
      const put = (version: number, target: string, state: 'queued' | 'sent' | 'held' | 'dead' | 'acknowledged' | 'failed', detail: string | null = null): Promise<void> =>
        store.putVersionDelivery({ lab, fillerOrder: f, version, target, state, detail });
      const before = await store.versionDeliveryStats();
      const countOf = (stats: typeof before, kind: string, state: string): number => stats.find((k) => k.kind === kind)?.counts[state] ?? 0;
      await put(1, 'dmp', 'queued');
      await put(1, 'dmp', 'sent', 'uuid-1');
      await put(1, 'mss:dr@x.mssante.fr', 'sent');
      await put(1, 'mss:248092A20345642@patient.mssante.fr', 'dead', 'PSL_MSS_REFUSED: 550');
      await put(2, 'pfi', 'queued');
      await put(2, 'pfi>dmp', 'failed', 'DMP closed');
      await new Promise((r) => setTimeout(r, 5)); // newest first: a later time
      await put(2, 'mss:(prescriber 1)', 'held', 'no MSSanté address');
      await put(3, 'dmp', 'queued');
      const stats = await store.versionDeliveryStats();
      expect(countOf(stats, 'dmp', 'sent') - countOf(before, 'dmp', 'sent')).toBe(1);
      expect(countOf(stats, 'dmp', 'queued') - countOf(before, 'dmp', 'queued')).toBe(1);
      expect(countOf(stats, 'mss', 'sent') - countOf(before, 'mss', 'sent')).toBe(1);
      expect(countOf(stats, 'mss', 'dead') - countOf(before, 'mss', 'dead')).toBe(1);
      expect(countOf(stats, 'mss', 'held') - countOf(before, 'mss', 'held')).toBe(1);
      expect(countOf(stats, 'pfi', 'queued') - countOf(before, 'pfi', 'queued')).toBe(1);
      expect(countOf(stats, 'pfi>dmp', 'failed') - countOf(before, 'pfi>dmp', 'failed')).toBe(1);
      expect(stats.find((k) => k.kind === 'dmp')!.oldestQueuedAt).toBeInstanceOf(Date);
      const mss = stats.find((k) => k.kind === 'mss')!;
      expect(mss.lastFailures.slice(0, 2).map((x) => [x.target, x.state, x.detail])).toEqual([
        ['mss:(prescriber 1)', 'held', 'no MSSanté address'],
        ['mss:248092A20345642@patient.mssante.fr', 'dead', 'PSL_MSS_REFUSED: 550'],
      ]);
      expect(stats.find((k) => k.kind === 'pfi>dmp')!.lastFailures[0]).toMatchObject({ lab, fillerOrder: f, version: 2, state: 'failed', detail: 'DMP closed' });

      const rows = (await store.indicatorRows(new Date(Date.now() - MIN), new Date(Date.now() + MIN))).filter((r) => r.lab === lab);
      const byKey = new Map(rows.map((r) => [`${r.version} ${r.target}`, r]));
      expect(rows).toHaveLength(7);
      expect(byKey.get('1 dmp')).toMatchObject({ fillerOrder: f, state: 'sent', finess: '1120459876', rpps: '801234534765', insQualified: true, status: 'active' });
      expect(byKey.get('2 pfi>dmp')).toMatchObject({ state: 'failed', insQualified: false, status: 'completed' });
      expect(byKey.get('2 pfi>dmp')).not.toHaveProperty('finess');
      expect(byKey.get('3 dmp')).toMatchObject({ insQualified: false, status: 'deleted' });
      expect(byKey.get('1 dmp')!.updatedAt).toBeInstanceOf(Date);
      expect((await store.indicatorRows(new Date(Date.now() + MIN), new Date(Date.now() + 2 * MIN))).filter((r) => r.lab === lab)).toEqual([]);

      // A stale reservation taken over carries the new facts.
      expect(await store.reserveReportVersion({ lab, fillerOrder: 'F2', version: 1, status: 'active', contentHash: 'a', revision: 1, facts: { insQualified: false } }, 30_000)).toBe(true);
      expect(await store.reserveReportVersion({ lab, fillerOrder: 'F2', version: 1, status: 'active', contentHash: 'b', revision: 1, facts: { finess: 'X', insQualified: true } }, -1000)).toBe(true);
      await store.putVersionDelivery({ lab, fillerOrder: 'F2', version: 1, target: 'dmp', state: 'sent', detail: null });
      const taken = (await store.indicatorRows(new Date(Date.now() - MIN), new Date(Date.now() + MIN))).find((r) => r.lab === lab && r.fillerOrder === 'F2');
      expect(taken).toMatchObject({ finess: 'X', insQualified: true });
    });
  });
}

suite('SqliteStore (writer thread)', async () => sqliteHarness({}));
suite('SqliteStore (commits on the event loop)', async () => sqliteHarness({ intakeThread: false }));
suite('SqliteStore, NORMAL: intake journal', async () => sqliteHarness({ synchronous: 'NORMAL' }));
suite('PgStore', async () => pgHarness(`psl_test_${rnd()}`));

function sqliteHarness(opts: { intakeThread?: boolean; synchronous?: 'NORMAL' | 'FULL' }, file = path.join(tmpRoot, `s-${rnd()}.db`)): Harness {
  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    kind: 'sqlite',
    async open() {
      const s = new SqliteStore({ path: file, ...opts });
      await s.init();
      return s;
    },
    async scalar(sql) {
      return withDb((db) => Number((db.prepare(sql).get() as { n: number }).n));
    },
    async exec(sql) {
      withDb((db) => db.exec(sql));
    },
    table: (name) => name,
    async destroy() {
      /* tmpRoot goes at the end */
    },
  };
}

function pgHarness(schema: string): Harness {
  const withClient = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    kind: 'pg',
    async open() {
      const s = new PgStore({ connectionString: PG_URL, schema, poolSize: 4 });
      await s.init();
      return s;
    },
    scalar: (sql) => withClient(async (c) => Number((await c.query<{ n: string }>(sql)).rows[0]!.n)),
    exec: (sql) => withClient(async (c) => void (await c.query(sql))),
    table: (name) => `"${schema}".${name}`,
    destroy: () => withClient(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))),
  };
}

describe('a database of the previous version', () => {
  /** What the previous version had: no console tables, triggers, columns or indexes. */
  const SQLITE_DOWNGRADE = `
    DROP TRIGGER messages_count_state; DROP TRIGGER messages_count_delete;
    DROP TRIGGER messages_dead_deliveries_delete; DROP TRIGGER deliveries_insert_stats; DROP TRIGGER deliveries_update_stats;
    DROP TRIGGER delivery_failures_trim; DROP TRIGGER version_deliveries_count_insert; DROP TRIGGER version_deliveries_count_update;
    DROP TRIGGER version_deliveries_count_delete;
    DROP TABLE message_keys; DROP TABLE message_counts; DROP TABLE message_activity; DROP TABLE destination_counts;
    DROP TABLE delivery_failures; DROP TABLE version_delivery_counts;
    ALTER TABLE report_versions DROP COLUMN finess; ALTER TABLE report_versions DROP COLUMN rpps; ALTER TABLE report_versions DROP COLUMN ins_qualified;
    DROP INDEX messages_control; DROP INDEX messages_received;
    CREATE INDEX messages_dedupe ON messages (channel, sender, control_id, received_at);
    DROP INDEX messages_pending; CREATE INDEX messages_pending ON messages (channel, seq) WHERE state NOT IN ('done', 'filtered', 'refused', 'dead');`;

  async function fill(s: MessageStore, ch: string): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await s.receive(inbound(ch), HOUR);
      await (r.duplicate ? undefined : r.stored);
      out.push(r.id);
    }
    await s.setState(out[0]!, 'processing');
    await s.route(out[0]!, ['d']);
    await s.setDelivery(out[0]!, 'd', 'dead', 'PSL_X: gone', true);
    await s.setState(out[0]!, 'dead', 'PSL_X: gone');
    await s.reserveReportVersion({ lab: 'L', fillerOrder: 'F', version: 1, status: 'active', contentHash: 'h', revision: 1 }, 1000);
    await s.putVersionDelivery({ lab: 'L', fillerOrder: 'F', version: 1, target: 'dmp', state: 'sent', detail: null });
    return out;
  }

  test('SQLite: opened by this version, it gets the tables, counters (backfilled), columns and indexes', async () => {
    const file = path.join(tmpRoot, `old-${rnd()}.db`);
    const h = sqliteHarness({}, file);
    let s = await h.open();
    const ch = `old-${rnd()}`;
    const msgIds = await fill(s, ch);
    const control = (await s.get(msgIds[2]!))!.controlId;
    await s.close();
    await h.exec(SQLITE_DOWNGRADE);
    expect(await h.scalar(`SELECT count(*) AS n FROM sqlite_master WHERE name IN ('message_keys', 'message_counts', 'messages_control')`)).toBe(0);

    s = await h.open();
    try {
      expect(await s.counts(ch)).toMatchObject({ received: 3, dead: 1 });
      expect((await s.channelStats(ch, ['d'])).destinations[0]).toMatchObject({ dead: 1 });
      expect((await s.versionDeliveryStats()).find((k) => k.kind === 'dmp')!.counts).toEqual({ sent: 1 });
      expect(ids(await s.searchMessages({ controlId: control, limit: 5 }))).toEqual([msgIds[2]]);
      expect(ids(await s.searchMessages({ channel: ch, limit: 10 }))).toEqual([...msgIds].reverse());
      expect(await h.scalar(`SELECT count(*) AS n FROM pragma_table_info('report_versions') WHERE name IN ('finess', 'rpps', 'ins_qualified')`)).toBe(3);
      expect(await h.scalar(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'messages_dedupe'`)).toBe(0);
      // The partial index over terminal states was made again with today's list.
      expect(await h.scalar(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'messages_pending' AND sql LIKE '%discarded%'`)).toBe(1);
      const [row] = (await s.indicatorRows(new Date(0), new Date(Date.now() + HOUR))).filter((r) => r.lab === 'L');
      expect(row).toMatchObject({ target: 'dmp', insQualified: false, status: 'active' });
      expect(row).not.toHaveProperty('finess');
      const r = await s.receive(inbound(ch, { keys: [{ kind: 'order', value: 'NEW' }] }), HOUR);
      expect(ids(await s.searchMessages({ order: 'NEW', limit: 5 }))).toEqual([r.id]);
    } finally {
      await s.close();
    }
  });

  test('PostgreSQL: opened by this version, it gets the tables, counters (backfilled), columns and indexes', async () => {
    const schema = `psl_test_${rnd()}`;
    const h = pgHarness(schema);
    let s = await h.open();
    try {
      const ch = `old-${rnd()}`;
      const msgIds = await fill(s, ch);
      await s.close();
      const q = `"${schema}"`;
      await h.exec(`
        DROP TRIGGER deliveries_failure_log ON ${q}.deliveries; DROP TRIGGER version_deliveries_count ON ${q}.version_deliveries;
        DROP TRIGGER version_deliveries_count_state ON ${q}.version_deliveries;
        DROP TABLE ${q}.message_keys, ${q}.delivery_failures, ${q}.version_delivery_counts;
        ALTER TABLE ${q}.report_versions DROP COLUMN finess, DROP COLUMN rpps, DROP COLUMN ins_qualified;
        DROP INDEX ${q}.messages_control, ${q}.messages_received, ${q}.deliveries_by_state;
        CREATE INDEX messages_dedupe ON ${q}.messages (channel, sender, control_id, received_at);
        DROP INDEX ${q}.messages_pending; CREATE INDEX messages_pending ON ${q}.messages (channel, seq) WHERE state NOT IN ('done', 'filtered', 'refused', 'dead');`);
      s = await h.open();
      expect(await s.counts(ch)).toMatchObject({ received: 3, dead: 1 });
      expect((await s.channelStats(ch, ['d'])).destinations[0]).toMatchObject({ dead: 1 });
      expect((await s.versionDeliveryStats()).find((k) => k.kind === 'dmp')!.counts).toEqual({ sent: 1 });
      expect(ids(await s.searchMessages({ channel: ch, limit: 10 }))).toEqual([...msgIds].reverse());
      expect(await h.scalar(`SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'report_versions' AND column_name IN ('finess', 'rpps', 'ins_qualified')`)).toBe(3);
      expect(await h.scalar(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = '${schema}' AND indexname = 'messages_dedupe'`)).toBe(0);
      expect(await h.scalar(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = '${schema}' AND indexname = 'messages_pending' AND indexdef LIKE '%discarded%'`)).toBe(1);
      const r = await s.receive(inbound(ch, { keys: [{ kind: 'order', value: 'NEW' }] }), HOUR);
      expect(ids(await s.searchMessages({ order: 'NEW', limit: 5 }))).toEqual([r.id]);
    } finally {
      await s.close();
      await h.destroy();
    }
  });
});

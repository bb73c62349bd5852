/**
 * Retention (channel `retention`, engine/channels/retention.ts) on both stores: finished
 * messages trimmed (metadata: an excerpt; content-after-delivery: nothing) and deleted by age,
 * in small batches; a message waiting, retrying, dead-lettered or refused never touched, even
 * when asked by id or reprocessed between the read and the delete; report documents archived
 * after years of patient inactivity and purged after more, with a dry run first.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { PgStore, SqliteStore } from '../../engine/store';
import type { InboundMessage, MessageState, MessageStore, RetentionNote } from '../../engine/store';
import { RETENTION_NOTE } from '../../engine/store';
import { channelSchema, type ChannelConfig } from '../../engine/config/channel-schema';
import { loadChannelFile, ChannelConfigError } from '../../engine/config/load-channels';
import { RetentionRunner } from '../../engine/channels/retention';
import { createLogger } from '../../engine/runtime/logger';
import { testPgUrl } from '../support/pg';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-retention-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
const rnd = (): string => randomBytes(5).toString('hex');
const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
const logger = createLogger({ level: 'error' });
let PG_URL = '';
beforeAll(async () => {
  PG_URL = await testPgUrl();
});

const RAW = Buffer.concat([Buffer.from('MSH|^~\\&|LAB|FAC|PSL|HOSP|20260101000000||ORU^R01|X|P|2.5\r'), Buffer.alloc(3000, 'O')]);

function inbound(channel: string, receivedAt: Date, state: 'received' | 'refused' = 'received'): InboundMessage {
  const controlId = `C${rnd()}`;
  return {
    channel, controlId, sender: 'LAB|FAC', messageType: 'ORU^R01', orderingKey: 'o', charset: 'UTF-8', raw: RAW,
    ack: Buffer.from(`MSA|AA|${controlId}`), receivedAt, state, keys: [{ kind: 'order', value: `F-${controlId}` }],
  };
}

function channel(name: string, retention: Record<string, unknown>, directory?: string): ChannelConfig {
  return channelSchema.parse({
    name, source: { type: 'mllp', port: 0 }, acceptance: { messageTypes: ['ORU^R01'] }, retention,
    destinations: directory ? [{ type: 'reports', name: 'reports', directory, lab: 'channels/labs/laboratoire-demo.yaml' }] : [],
  });
}

interface Harness {
  open(): Promise<MessageStore>;
  /** Sets a message's (or a report's) last change in the past, as time would. */
  age(table: 'messages' | 'reports', where: string, at: Date): Promise<void>;
  destroy(): Promise<void>;
}

function suite(name: string, make: () => Harness): void {
  describe(name, () => {
    let h: Harness;
    let store: MessageStore;
    beforeAll(async () => {
      h = make();
      store = await h.open();
    });
    afterAll(async () => {
      await store.close();
      await h.destroy();
    });

    /** A message received at `receivedAt`, moved to `state` (with what that takes), last changed at `changedAt`. */
    async function message(ch: string, state: MessageState, receivedAt: Date, changedAt: Date): Promise<string> {
      const r = await store.receive(inbound(ch, receivedAt, state === 'refused' ? 'refused' : 'received'), 0);
      await (r.duplicate ? undefined : r.stored);
      const id = r.id;
      if (state !== 'received' && state !== 'refused') await store.setState(id, 'processing');
      if (['routed', 'done', 'dead'].includes(state)) {
        await store.putContent(id, 'transformed', Buffer.from('transformed payload'));
        await store.route(id, ['out']);
      }
      if (state === 'done') await store.setDelivery(id, 'out', 'delivered', null, true);
      if (state === 'dead') await store.setDelivery(id, 'out', 'dead', 'PSL_X: no', true);
      if (state !== 'received' && state !== 'processing' && state !== 'routed' && state !== 'refused') await store.setState(id, state, state === 'dead' ? 'PSL_X: no' : null);
      await h.age('messages', `id = '${id}'`, changedAt);
      return id;
    }

    test('the store refuses any state but done, filtered and discarded, and checks them again when deleting', async () => {
      const ch = `guard-${rnd()}`;
      const old = new Date(Date.now() - 400 * DAY);
      const ids: Record<string, string> = {};
      for (const s of ['received', 'processing', 'routed', 'dead', 'refused', 'done'] as MessageState[]) ids[s] = await message(ch, s, old, old);
      await expect(store.retentionCandidates(ch, ['dead' as 'done'], 0, 10)).rejects.toThrow(TypeError);
      await expect(store.deleteMessages([ids.dead!], ['refused' as 'done'], new Date())).rejects.toThrow(TypeError);
      await expect(store.trimMessages([ids.routed!], { mode: 'metadata', excerptBytes: 10, states: ['routed' as 'done'], olderThan: new Date() })).rejects.toThrow(TypeError);
      // Asked by id, only the done one goes.
      expect(await store.deleteMessages(Object.values(ids), ['done', 'filtered', 'discarded'], new Date())).toBe(1);
      for (const s of ['received', 'processing', 'routed', 'dead', 'refused']) expect((await store.get(ids[s]!))?.state).toBe(s);
      expect(await store.get(ids.done!)).toBeUndefined();
      // Read as done, reprocessed before the delete: it stays.
      const again = await message(ch, 'done', old, old);
      const [candidate] = await store.retentionCandidates(ch, ['done'], 0, 10);
      expect(candidate).toMatchObject({ id: again, state: 'done', rawBytes: RAW.length, hasContents: true });
      await store.setState(again, 'received');
      expect(await store.deleteMessages([again], ['done'], new Date())).toBe(0);
      await store.setState(again, 'done');
      // Young by its last change: stays.
      expect(await store.deleteMessages([again], ['done'], new Date(Date.now() - DAY))).toBe(0);
      expect(await store.get(again)).toBeDefined();
    });

    test('trim: metadata keeps an excerpt, content-after-delivery nothing; a note keeps the original size and hash; done twice does nothing', async () => {
      const ch = `trim-${rnd()}`;
      const old = new Date(Date.now() - 10 * DAY);
      const a = await message(ch, 'done', old, old);
      const b = await message(ch, 'done', old, old);
      const routed = await message(ch, 'routed', old, old);
      const how = { mode: 'metadata' as const, excerptBytes: 100, states: ['done' as const], olderThan: new Date() };
      expect(await store.trimMessages([a, routed], how)).toBe(1);
      expect((await store.raw(a))!.equals(RAW.subarray(0, 100))).toBe(true);
      expect(await store.getContent(a, 'transformed')).toBeUndefined();
      const note = JSON.parse((await store.getContent(a, RETENTION_NOTE))!.toString()) as RetentionNote;
      expect(note).toMatchObject({ mode: 'metadata', rawBytes: RAW.length, sha256: createHash('sha256').update(RAW).digest('hex'), keptBytes: 100, contents: ['transformed'] });
      expect(await store.trimMessages([a], how)).toBe(0);
      expect((await store.raw(routed))!.length).toBe(RAW.length);
      expect(await store.getContent(routed, 'transformed')).toBeDefined();
      // Then nothing at all: the note still tells the original.
      expect(await store.trimMessages([a, b], { ...how, mode: 'content-after-delivery' })).toBe(2);
      expect((await store.raw(a))!.length).toBe(0);
      const after = JSON.parse((await store.getContent(a, RETENTION_NOTE))!.toString()) as RetentionNote;
      expect(after).toMatchObject({ mode: 'content-after-delivery', rawBytes: RAW.length, sha256: note.sha256, keptBytes: 0, contents: ['transformed'] });
      // Metadata, state, keys and deliveries stay.
      expect(await store.get(a)).toMatchObject({ state: 'done' });
      expect(await store.messageKeys(a)).toHaveLength(1);
      expect(await store.deliveries(a)).toMatchObject([{ destination: 'out', state: 'delivered' }]);
      const [c] = await store.retentionCandidates(ch, ['done'], 0, 1);
      expect(c).toMatchObject({ rawBytes: 0, hasContents: false });
    });

    test('a pass deletes old finished messages in batches, trims young ones, never touches the others', async () => {
      const ch = `pass-${rnd()}`;
      const old = new Date(Date.now() - 40 * DAY);
      const recent = new Date(Date.now() - 2 * DAY);
      const kept: Record<string, string> = {};
      const gone: string[] = [];
      for (let i = 0; i < 7; i++) gone.push(await message(ch, (['done', 'filtered', 'discarded'] as const)[i % 3], old, old));
      for (const s of ['received', 'processing', 'routed', 'dead', 'refused'] as MessageState[]) kept[s] = await message(ch, s, old, old);
      kept.reprocessed = await message(ch, 'done', old, recent); // old, but changed lately
      const young = [await message(ch, 'done', recent, recent), await message(ch, 'filtered', recent, recent)];
      const fresh = await message(ch, 'done', new Date(), new Date()); // finished now: contentDays keeps it whole
      const before = await store.counts(ch);
      const runner = new RetentionRunner({
        store, logger, batchSize: 3, pauseMs: 1,
        channels: [channel(ch, { storage: 'metadata', excerptBytes: 64, messagesDays: 30, contentDays: 1 })],
      });
      const report = await runner.runOnce();
      // Deleted: the 7 old finished ones. Trimmed: the reprocessed one and the 2 young ones (finished 2 days ago, contentDays 1).
      expect(report.messages).toEqual([{ channel: ch, deleted: 7, trimmed: 3 }]);
      for (const id of gone) expect(await store.get(id)).toBeUndefined();
      for (const [s, id] of Object.entries(kept)) expect((await store.get(id))?.state).toBe(s === 'reprocessed' ? 'done' : s);
      for (const s of ['received', 'processing', 'routed', 'dead']) expect((await store.raw(kept[s]!))!.length).toBe(RAW.length);
      for (const id of [kept.reprocessed!, ...young]) expect((await store.raw(id))!.length).toBe(64);
      expect((await store.raw(fresh))!.length).toBe(RAW.length);
      const after = await store.counts(ch);
      expect([before.done - after.done, before.filtered - after.filtered, before.discarded - after.discarded]).toEqual([3, 2, 2]);
      expect(report.documents).toBeUndefined();
    });

    test('content-after-delivery trims only what every destination took; start() runs passes until stop()', async () => {
      const ch = `cad-${rnd()}`;
      const old = new Date(Date.now() - 3 * DAY);
      const done = await message(ch, 'done', old, old);
      const filtered = await message(ch, 'filtered', old, old);
      const dead = await message(ch, 'dead', old, old);
      const runner = new RetentionRunner({ store, logger, pauseMs: 1, intervalMs: 50, channels: [channel(ch, { storage: 'content-after-delivery' })] });
      runner.start(0);
      const until = Date.now() + 10_000;
      while ((await store.raw(done))!.length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      await runner.stop();
      expect((await store.raw(done))!.length).toBe(0);
      expect(await store.getContent(done, 'transformed')).toBeUndefined();
      expect((await store.raw(filtered))!.length).toBe(RAW.length);
      expect((await store.raw(dead))!.length).toBe(RAW.length);
      expect(await store.getContent(dead, 'transformed')).toBeDefined();
      // Stopped: a later message is left alone.
      const later = await message(ch, 'done', old, old);
      await new Promise((r) => setTimeout(r, 150));
      expect((await store.raw(later))!.length).toBe(RAW.length);
    });

    test('report documents: a dry run lists, then the pass archives after 5 years of patient inactivity and purges after 20', async () => {
      const live = path.join(tmpRoot, `reports-${rnd()}`);
      const lab = `L${rnd()}`;
      const report = async (filler: string, ins: string, changed: Date): Promise<void> => {
        const state = JSON.stringify({ lab, fillerOrder: filler, patient: { ins: `1.2.250.1.213.1.4.10:${ins}`, local: [`HOSP:${ins}-ipp`] }, revision: 1 });
        expect(await store.putReport(lab, filler, state, null)).toBe(true);
        await store.reserveReportVersion({ lab, fillerOrder: filler, version: 1, status: 'completed', contentHash: 'h', revision: 1 }, 1000);
        await store.markReportVersionWritten(lab, filler, 1);
        await store.putVersionDelivery({ lab, fillerOrder: filler, version: 1, target: 'dmp', state: 'sent', detail: null });
        await h.age('reports', `lab = '${lab}' AND filler_order = '${filler}'`, changed);
        fs.mkdirSync(path.join(live, filler, 'v1'), { recursive: true });
        fs.writeFileSync(path.join(live, filler, 'v1', 'pro.n3.xml'), '<ClinicalDocument/>');
      };
      const now = Date.now();
      await report('OLD-1', 'P1', new Date(now - 6 * YEAR)); // patient P1 inactive for 6 years: archived
      await report('OLD-2', 'P2', new Date(now - 7 * YEAR)); // P2 has a recent report: kept
      await report('NEW-2', 'P2', new Date(now - 30 * DAY));
      await report('ANCIENT', 'P3', new Date(now - 21 * YEAR)); // purged
      await report('RECENT', 'P4', new Date(now - YEAR));
      const ch = channel(`docs-${rnd()}`, { documents: {} }, live);
      const runner = new RetentionRunner({ store, logger, batchSize: 2, pauseMs: 1, channels: [ch] });
      const mine = (items: { lab: string; fillerOrder: string }[]): string[] => items.filter((r) => r.lab === lab).map((r) => r.fillerOrder).sort();

      const dry = await runner.documentsDryRun();
      expect(mine(dry.archive.reports)).toEqual(['OLD-1']);
      expect(mine(dry.purge.reports)).toEqual(['ANCIENT']);
      expect(dry.purge.reports.find((r) => r.lab === lab)).toMatchObject({ versions: 1 });
      expect(fs.existsSync(path.join(live, 'OLD-1'))).toBe(true);
      expect(await store.getReport(lab, 'ANCIENT')).toBeDefined();

      const done = (await runner.runOnce()).documents!;
      expect(done.dryRun).toBe(false);
      expect(mine(done.archive.reports)).toEqual(['OLD-1']);
      expect(mine(done.purge.reports)).toEqual(['ANCIENT']);
      expect(fs.existsSync(path.join(live, 'OLD-1'))).toBe(false);
      expect(fs.readFileSync(path.join(live, 'archive', 'OLD-1', 'v1', 'pro.n3.xml'), 'utf8')).toBe('<ClinicalDocument/>');
      expect(fs.existsSync(path.join(live, 'ANCIENT'))).toBe(false);
      expect(await store.getReport(lab, 'ANCIENT')).toBeUndefined();
      expect(await store.reportVersions(lab, 'ANCIENT')).toEqual([]);
      expect(await store.versionDeliveries(lab, 'ANCIENT')).toEqual([]);
      for (const f of ['OLD-1', 'OLD-2', 'NEW-2', 'RECENT']) expect(await store.getReport(lab, f)).toBeDefined();
      expect(fs.existsSync(path.join(live, 'OLD-2', 'v1'))).toBe(true);
      // Archived once: the next pass leaves it.
      const next = (await runner.runOnce()).documents!;
      expect(mine(next.archive.reports)).toEqual([]);
      const inactive = await store.inactiveReports(new Date(now - 5 * YEAR), 'any', undefined, 100);
      expect(inactive.reports.filter((r) => r.lab === lab).map((r) => [r.fillerOrder, r.archivedAt !== null])).toEqual([['OLD-1', true]]);
    });
  });
}

suite('SqliteStore', () => sqlite({}));
suite('SqliteStore, NORMAL: intake journal', () => sqlite({ synchronous: 'NORMAL' }));
suite('PgStore', () => {
  const schema = `psl_test_${rnd()}`;
  const run = async (sql: string, args: unknown[] = []): Promise<void> => {
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(sql, args);
    } finally {
      await c.end();
    }
  };
  return {
    async open() {
      const s = new PgStore({ connectionString: PG_URL, schema, poolSize: 3 });
      await s.init();
      return s;
    },
    age: (table, where, at) => run(`UPDATE "${schema}".${table} SET updated_at = $1 WHERE ${where}`, [at]),
    destroy: () => run(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
  };
});

function sqlite(opts: { synchronous?: 'NORMAL' }): Harness {
  const file = path.join(tmpRoot, `s-${rnd()}.db`);
  return {
    async open() {
      const s = new SqliteStore({ path: file, ...opts, onIntakeEvent: () => undefined });
      await s.init();
      return s;
    },
    async age(table, where, at) {
      const db = new Database(file);
      try {
        db.prepare(`UPDATE ${table} SET updated_at = ? WHERE ${where}`).run(at.getTime());
      } finally {
        db.close();
      }
    },
    async destroy() {
      /* tmpRoot goes at the end */
    },
  };
}

describe('channel files', () => {
  test('retention defaults to keeping everything; a bad value is named with its file and line', () => {
    expect(channel('d', {}).retention).toEqual({ storage: 'everything', contentDays: 0, excerptBytes: 1024 });
    const file = path.join(tmpRoot, 'bad-retention.yaml');
    fs.writeFileSync(
      file,
      ['name: bad', 'source: { type: mllp, port: 0 }', 'acceptance: { messageTypes: [ORU^R01] }', 'retention:', '  storage: compressed', '  documents:', '    archiveAfterYears: 5', '    purgeAfterYears: 3', ''].join('\n'),
    );
    let err: unknown;
    try {
      loadChannelFile(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChannelConfigError);
    const text = (err as Error).message;
    expect(text).toMatch(/bad-retention\.yaml:5\b.*storage/);
    expect(text).toMatch(/bad-retention\.yaml:8\b.*purgeAfterYears must be more than archiveAfterYears/);
  });
});

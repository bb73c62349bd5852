/**
 * Reports across messages, and the orders they answer, in both stores: a report row is written only by compare-and-set, so
 * two writers of one report (our results, a subcontractor's) never lose a change; its state,
 * binary results included, comes back as it went in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Message } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { ReportBook, splitByReport, type ReportUpdate } from '../../engine/reports';
import { SqliteStore } from '../../engine/store/sqlite';
import { PgStore } from '../../engine/store/postgres';
import type { MessageStore } from '../../engine/store/types';
import { dropTestSchema, testPgUrl, testSchemaName } from '../support/pg';

// Test identity only (INS test OID 1.2.250.1.213.1.4.10).
const PID = 'PID|1||123456^^^CHU-DEMO&1.2.250.1.999.1.2&ISO^PI~248092A20345642^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||TEST-DEMO^PATIENTE^^^^^L||19480920|F';
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from([0, 1, 2, 250, 255]), Buffer.from('\n%%EOF')]);

function update(id: string, filler: string, obx: string[]): ReportUpdate {
  const text = [
    `MSH|^~\\&|SIL-LABO|LABO-DEMO|DPI|CHU-DEMO|20261125101500||ORU^R01^ORU_R01|${id}|P|2.5|||||FRA|UNICODE UTF-8`,
    PID,
    `OBR|1|CMD-1^DPI|${filler}^SIL-LABO|24321-2^Bilan^LN|||20261125073000||||||||||||||||||F`,
    ...obx,
  ].join('\r');
  return splitByReport(reportFromMessage(Message.parse(text)), id, 'LABO-DEMO').updates[0]!;
}
const GLU = (v: string): string => `OBX|1|NM|2345-7^Glucose^LN||${v}|g/L|||||F`;
const CREA = (v: string): string => `OBX|2|NM|2160-0^Créatinine^LN||${v}|mg/L|||||F`;
const PDF_OBX = `OBX|3|ED|PDF^Compte rendu du sous-traitant^L||^AP^PDF^Base64^${PDF.toString('base64')}||||||F`;

function suite(name: string, open: () => Promise<{ a: MessageStore; b: MessageStore; destroy(): Promise<void> }>): void {
  describe(name, () => {
    let a: MessageStore;
    let b: MessageStore;
    let destroy: () => Promise<void>;
    beforeAll(async () => {
      ({ a, b, destroy } = await open());
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await destroy();
    });

    test('a report row is created once and then changed only from the version read', async () => {
      expect(await a.getReport('L', 'F1')).toBeUndefined();
      expect(await a.putReport('L', 'F1', '{"n":1}', null)).toBe(true);
      expect(await b.putReport('L', 'F1', '{"n":"other"}', null)).toBe(false);
      expect(await b.getReport('L', 'F1')).toMatchObject({ state: '{"n":1}', rowVersion: 1 });
      expect(await a.putReport('L', 'F1', '{"n":2}', 1)).toBe(true);
      expect(await b.putReport('L', 'F1', '{"n":"stale"}', 1)).toBe(false);
      const row = await a.getReport('L', 'F1');
      expect(row).toMatchObject({ lab: 'L', fillerOrder: 'F1', state: '{"n":2}', rowVersion: 2 });
      expect(row!.updatedAt).toBeInstanceOf(Date);
      expect(await a.getReport('other-lab', 'F1')).toBeUndefined();
      expect(await b.putReport('K', 'F1', '{"n":"k"}', null)).toBe(true);
      expect((await a.reportsByFillerOrder('F1')).map((r) => [r.lab, r.state])).toEqual([
        ['K', '{"n":"k"}'],
        ['L', '{"n":2}'],
      ]);
    });

    test('two writers of one report: the one that read an older version applies its message again, and both changes stay', async () => {
      const filler = `LAB-${randomUUID().slice(0, 8)}`;
      await new ReportBook(a).apply(update('M1', filler, [GLU('0.95')]));
      let interfered = false;
      // Writer A reads the report, then writer B commits before A writes.
      const slowA: Pick<MessageStore, 'getReport' | 'putReport'> = {
        getReport: async (lab, f) => {
          const row = await a.getReport(lab, f);
          if (!interfered) {
            interfered = true;
            await new ReportBook(b).apply(update('M-sub', filler, [CREA('9.8')]));
          }
          return row;
        },
        putReport: (...args) => a.putReport(...args),
      };
      const out = await new ReportBook(slowA).apply(update('M2', filler, [GLU('1.02'), `OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|||||F`]));
      expect(out.kind).toBe('applied');
      const state = (await new ReportBook(b).get('SIL-LABO', filler))!;
      expect(state.messages).toEqual(['M1', 'M-sub', 'M2']);
      expect(state.observations.map((e) => e.key).sort()).toEqual(['2160-0||', '2345-7||', '2951-2||']);
      expect((await b.getReport('SIL-LABO', filler))!.rowVersion).toBe(3);
    });

    test('report versions: one writer per number, listed in order, written once their documents are', async () => {
      const filler = `LAB-${randomUUID().slice(0, 8)}`;
      const v = (version: number, status: 'active' | 'completed' | 'deleted') => ({ lab: 'SIL-LABO', fillerOrder: filler, version, status, contentHash: `h${version}`, revision: version });
      const LEASE = 60_000;
      expect(await a.reserveReportVersion(v(1, 'active'), LEASE)).toBe(true);
      expect(await b.reserveReportVersion({ ...v(1, 'completed'), contentHash: 'other' }, LEASE)).toBe(false);
      expect(await b.reserveReportVersion(v(2, 'active'), LEASE)).toBe(true);
      await a.markReportVersionWritten('SIL-LABO', filler, 1);
      await new Promise((r) => setTimeout(r, 20));
      // Version 2's writer died before writing: past the lease, another takes it over with its content.
      expect(await a.reserveReportVersion({ ...v(2, 'completed') }, 10)).toBe(true);
      // A written version is never taken over.
      expect(await b.reserveReportVersion({ ...v(1, 'completed'), contentHash: 'late' }, 0)).toBe(false);
      const list = await b.reportVersions('SIL-LABO', filler);
      expect(list.map((x) => [x.version, x.status, x.contentHash, x.revision, x.written])).toEqual([
        [1, 'active', 'h1', 1, true],
        [2, 'completed', 'h2', 2, false],
      ]);
      expect(list[0]!.createdAt).toBeInstanceOf(Date);
      expect(await a.reportVersions('SIL-LABO', 'none')).toEqual([]);
    });

    test('a binary result (a subcontractor PDF) comes back as the same bytes; a message applied again writes nothing', async () => {
      const filler = `LAB-${randomUUID().slice(0, 8)}`;
      const book = new ReportBook(a);
      await book.apply(update('P1', filler, [PDF_OBX]));
      const state = (await new ReportBook(b).get('SIL-LABO', filler))!;
      const value = state.observations[0]!.current!.value;
      expect(value.type).toBe('ED');
      if (value.type !== 'ED') return;
      expect(Buffer.isBuffer(value.data)).toBe(true);
      expect(value.data.equals(PDF)).toBe(true);
      const again = await book.apply(update('P1', filler, [PDF_OBX]));
      expect(again).toMatchObject({ kind: 'applied', changes: [] });
      expect((await a.getReport('SIL-LABO', filler))!.rowVersion).toBe(1);
    });

    test('version deliveries: one row per version and target; the queued ones come back oldest first, a page at a time', async () => {
      const lab = `L${randomUUID().slice(0, 8)}`;
      for (let v = 1; v <= 3; v++) {
        await a.putVersionDelivery({ lab, fillerOrder: 'F-1', version: v, target: 'dmp', state: 'queued', detail: null });
        await new Promise((r) => setTimeout(r, 5));
      }
      await a.putVersionDelivery({ lab, fillerOrder: 'F-1', version: 1, target: 'dmp', state: 'sent', detail: 'entryUUID urn:uuid:x' });
      expect((await b.versionDeliveries(lab, 'F-1')).map((d) => `${d.version} ${d.state}`)).toEqual(['1 sent', '2 queued', '3 queued']);
      const mine = async (limit: number, since?: number) => (await b.queuedVersionDeliveries(limit, since)).filter((d) => d.lab === lab);
      const all = await mine(10_000);
      expect(all.map((d) => d.version)).toEqual([2, 3]);
      // From the second row's time on: the first is left out.
      expect((await mine(10_000, all[1]!.updatedAt.getTime())).map((d) => d.version)).toEqual([3]);
    });

    test('orders: compare-and-set rows, numbers linked to one order (first link wins), sequences that never hand a number out twice', async () => {
      const key = `DPI|GRP-${randomUUID().slice(0, 8)}`;
      expect(await a.getOrder(key)).toBeUndefined();
      expect(await a.putOrder(key, '{"n":1}', null)).toBe(true);
      expect(await b.putOrder(key, '{"n":"other"}', null)).toBe(false);
      expect(await b.putOrder(key, '{"n":2}', 1)).toBe(true);
      expect(await a.putOrder(key, '{"n":"stale"}', 1)).toBe(false);
      expect(await a.getOrder(key)).toMatchObject({ key, state: '{"n":2}', rowVersion: 2 });
      const ref = `sub:SIL-LABO|${randomUUID()}`;
      expect(await a.orderKeyOf(ref)).toBeUndefined();
      expect(await a.linkOrder(ref, key)).toBe(key);
      expect(await b.linkOrder(ref, 'DPI|another')).toBe(key);
      expect(await b.orderKeyOf(ref)).toBe(key);
      const seq = `test:${randomUUID()}`;
      const got = await Promise.all([a, b, a, b, a, b].map((s) => s.nextSequence(seq)));
      expect([...got].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });
}

suite('SQLite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-reports-'));
  const file = path.join(dir, 's.db');
  const a = new SqliteStore({ path: file });
  await a.init();
  const b = new SqliteStore({ path: file });
  await b.init();
  return { a, b, destroy: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

suite('PostgreSQL', async () => {
  const url = await testPgUrl();
  const schema = testSchemaName();
  const a = new PgStore({ connectionString: url, schema, poolSize: 3 });
  await a.init();
  const b = new PgStore({ connectionString: url, schema, poolSize: 3 });
  await b.init();
  return {
    a,
    b,
    destroy: async () => {
      await dropTestSchema(url, schema);
    },
  };
});

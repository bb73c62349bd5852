/**
 * Operators' decisions on what a report keeps parked, and a version published on request
 * (engine/reports/parked-actions.ts, engine/documents/publish-now.ts), on real stores (SQLite in
 * a temp dir, PostgreSQL) with the real publisher and the official ANS rules: an accepted
 * result becomes the current value (the old one in the history, saying who decided) and the
 * report publishes per its policy; a dropped one changes nothing shown; a subcontractor's
 * results parked for an identity to verify are fused once an operator says so, or dropped for
 * good. Every decision is written into the report with who and when.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Message, decode } from '../../engine/hl7';
import { ReportPublisher } from '../../engine/documents';
import { publishReportNow } from '../../engine/documents/publish-now';
import { parkedItemId, releaseParkedResult, releaseParkedSubOrder } from '../../engine/reports/parked-actions';
import { reportFromJson, type ReportState } from '../../engine/reports';
import type { OrderState } from '../../engine/orders';
import { AnsKit } from '../../engine/validation';
import { silentLogger } from '../../engine/runtime/logger';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { CREA, GLU, ltwResults } from '../support/sample-channels';
import type { SqliteStore } from '../../engine/store/sqlite';
import type { PgStore } from '../../engine/store/postgres';
import { openPgTestStore, openSqliteTestStore } from '../support/test-stores';

jest.setTimeout(300_000);

type Store = SqliteStore | PgStore;
const LAB = 'SIL-LABO';
const AT = '20261125100500';
const WHO = /^accepted by console:alice at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SUB_SAMPLE = decode(readFileSync(path.resolve(__dirname, '../../samples/oru-r01_ilw_subcontracted.hl7'))).text;
// Another test identity (INS test OID), for a subcontractor whose patient disagrees with ours.
const OTHER_INS = '182127512345691';

/** Our results for report `filler` of placer order `placer`. */
function ours(controlId: string, filler: string, placer: string, obr25: string, obx: string[]): Message {
  return Message.parse(ltwResults(controlId, obr25, obx).replace(/CMD-0001\^DPI\|LAB-0001\^SIL-LABO/g, `${placer}^DPI|${filler}^SIL-LABO`));
}

/** The subcontractor's vitamin D for our sub-order `sub`, in their file `theirs`, about the patient of `ins`. */
function subcontracted(controlId: string, sub: string, theirs: string, ins: string): Message {
  return Message.parse(SUB_SAMPLE.replace('SMP-ILW-0001', controlId).replace(/SUB-0001/g, sub).replace(/ST-5501/g, theirs).replace('248092A20345642', ins));
}

function suite(name: string, open: () => Promise<{ store: Store; destroy(): Promise<void> }>): void {
  describe(name, () => {
    let store: Store;
    let destroy: () => Promise<void>;
    let dir: string;
    let kit: AnsKit;
    const publisher = (policy: 'every-change' | 'on-request' = 'every-change'): ReportPublisher =>
      new ReportPublisher({ store, directory: path.join(dir, 'out'), version: '2024.01', profiles: ['pro'], lab: TEST_LAB_PROFILE, defaultLab: 'LABO-DEMO', ownFillers: [LAB], policy, kit, versionLeaseMs: 0, logger: silentLogger() });

    beforeAll(async () => {
      ({ store, destroy } = await open());
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-parked-'));
      kit = AnsKit.open(ANS_KIT_DIR);
    });
    afterAll(async () => {
      await store?.close();
      await destroy?.();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const ids = (): { filler: string; placer: string } => {
      const n = randomUUID().slice(0, 8);
      return { filler: `LAB-${n}`, placer: `CMD-${n}` };
    };
    const report = async (filler: string, lab = LAB): Promise<ReportState> => reportFromJson((await store.getReport(lab, filler))!.state);
    const versions = async (filler: string): Promise<string[]> => (await store.reportVersions(LAB, filler)).map((v) => `v${v.version} ${v.status}${v.written ? '' : ' unwritten'}`);
    const glucose = (s: ReportState): ReportState['observations'][number] => s.observations.find((e) => e.key === '2345-7||')!;
    const n3 = (filler: string, v: number): string => readFileSync(path.join(dir, 'out', filler, `v${v}`, 'pro.n3.xml'), 'utf8');

    test('a final value changed without a correction, accepted: current value, old one in the history saying who, next version published', async () => {
      const { filler, placer } = ids();
      const p = publisher();
      expect(await p.handle(ours('M1', filler, placer, 'F', [GLU('0.95', 'F', AT), CREA('9.8', 'F', AT)]), 'm1')).toBe(`report ${filler}: v1 (completed)`);
      expect(await p.handle(ours('M2', filler, placer, 'F', [GLU('1.02', 'F', AT), CREA('9.8', 'F', AT)]), 'm2')).toBe(`report ${filler}: no new version (same-content)`);
      const parked = (await report(filler)).parked;
      expect(parked).toMatchObject([{ messageId: 'm2', observationKey: '2345-7||', reason: 'final-changed-without-correction' }]);
      const revision = (await report(filler)).revision;

      const out = await releaseParkedResult({ store, publisher: p }, { fillerOrder: filler, item: parkedItemId(parked[0]!) }, 'accept', 'console:alice', 'lab system confirmed 1.02');
      expect(out).toEqual({ outcome: 'accepted', detail: `report ${filler}: parked m2/2345-7|| accepted; report ${filler}: v2 (completed)` });
      const s = await report(filler);
      expect(s.parked).toEqual([]);
      expect(s.revision).toBe(revision + 1);
      const e = glucose(s);
      expect(e.current).toMatchObject({ status: 'final', value: { type: 'NM', value: '1.02' } });
      expect(e.messageId).toBe('m2');
      expect(e.history).toHaveLength(1);
      expect(e.history[0]).toMatchObject({ messageId: 'm1', endedBy: 'update', result: { value: { value: '0.95' } } });
      expect(e.history[0]!.by).toMatch(WHO);
      expect(s.actions).toMatchObject([{ action: 'accept-parked', by: 'console:alice', note: 'lab system confirmed 1.02', item: { messageId: 'm2', reason: 'final-changed-without-correction' } }]);
      expect(await versions(filler)).toEqual(['v1 completed', 'v2 completed']);
      expect(n3(filler, 2)).toContain('value="1.02"');
      await expect(releaseParkedResult({ store, publisher: p }, { fillerOrder: filler, item: parkedItemId(parked[0]!) }, 'accept', 'console:alice')).rejects.toMatchObject({ code: 'PSL_PARKED_NOT_FOUND' });
    });

    test('a late preliminary dropped, an older withdrawal accepted without a publisher: recorded, published later on request', async () => {
      const { filler, placer } = ids();
      const p = publisher('on-request');
      expect(await p.handle(ours('M1', filler, placer, 'F', [GLU('0.95', 'F', AT), CREA('9.8', 'F', AT)]), 'm1')).toBe(`report ${filler}: no new version (waiting-for-request)`);
      await p.handle(ours('M2', filler, placer, 'P', [GLU('0.90', 'P', '20261125090000'), CREA('9.8', 'F', AT)]), 'm2');
      await p.handle(ours('M3', filler, placer, 'F', [GLU('', 'D', '20261125080000'), CREA('9.8', 'F', AT)]), 'm3');
      const parked = (await report(filler)).parked;
      expect(parked.map((x) => [parkedItemId(x), x.reason])).toEqual([
        ['m2/2345-7||', 'late-lower-status'],
        ['m3/2345-7||/withdrawal', 'older'],
      ]);

      const dropped = await releaseParkedResult({ store }, { lab: LAB, fillerOrder: filler, item: 'm2/2345-7||' }, 'drop', 'cli:bob');
      expect(dropped).toEqual({ outcome: 'dropped', detail: `report ${filler}: parked m2/2345-7|| dropped` });
      expect(glucose(await report(filler)).current).toMatchObject({ value: { value: '0.95' } });

      const withdrawn = await releaseParkedResult({ store }, { fillerOrder: filler, item: 'm3/2345-7||/withdrawal' }, 'accept', 'console:alice');
      expect(withdrawn.outcome).toBe('accepted');
      expect(withdrawn.detail).toMatch(/not published here: the next message or `publish` does$/);
      const s = await report(filler);
      expect(s.parked).toEqual([]);
      const e = glucose(s);
      expect(e.current).toBeUndefined();
      expect(e.withdrawn).toMatchObject({ reason: 'deleted', messageId: 'm3' });
      expect(e.history.at(-1)).toMatchObject({ endedBy: 'withdrawal', messageId: 'm1' });
      expect(s.actions!.map((a) => [a.action, a.by])).toEqual([
        ['drop-parked', 'cli:bob'],
        ['accept-parked', 'console:alice'],
      ]);
      expect(await versions(filler)).toEqual([]);

      // On request: the version shows what was decided (creatinine only); asking again makes none.
      const now = await publishReportNow({ store, publisher: p }, { fillerOrder: filler }, 'console:alice', 'prescriber asked by phone');
      expect(now).toEqual({ outcome: 'published', detail: `report ${filler}: v1 (completed)`, version: 1 });
      expect(n3(filler, 1)).not.toContain('2345-7');
      expect(n3(filler, 1)).toContain('2160-0');
      expect(await publishReportNow({ store, publisher: p }, { lab: LAB, fillerOrder: filler }, 'cli:bob')).toEqual({ outcome: 'unchanged', detail: `report ${filler}: no new version (same-content)` });
      expect((await report(filler)).actions!.slice(-2)).toMatchObject([
        { action: 'publish', by: 'console:alice', note: 'prescriber asked by phone', outcome: `report ${filler}: v1 (completed)` },
        { action: 'publish', by: 'cli:bob', outcome: `report ${filler}: no new version (same-content)` },
      ]);
      expect(await versions(filler)).toEqual(['v1 completed']);
    });

    test('unknown reports, items, sub-orders and decisions are refused with their code; two labs with one number need the lab', async () => {
      const { filler, placer } = ids();
      const p = publisher();
      await p.handle(ours('M1', filler, placer, 'F', [GLU('0.95', 'F', AT)]), 'm1');
      await expect(releaseParkedResult({ store }, { fillerOrder: 'NO-SUCH', item: 'x' }, 'drop', 'cli')).rejects.toMatchObject({ code: 'PSL_REPORT_NOT_FOUND' });
      await expect(releaseParkedResult({ store }, { fillerOrder: filler, item: 'm1/2345-7||' }, 'drop', 'cli')).rejects.toMatchObject({ code: 'PSL_PARKED_NOT_FOUND' });
      await expect(releaseParkedResult({ store }, { fillerOrder: filler, item: 'm1/2345-7||' }, 'keep' as 'drop', 'cli')).rejects.toMatchObject({ code: 'PSL_ACTION_INVALID' });
      await expect(releaseParkedSubOrder({ store }, { fillerOrder: filler, subOrder: 'SUB-9999' }, 'accept', 'cli')).rejects.toMatchObject({ code: 'PSL_SUBORDER_NOT_PARKED' });
      await expect(publishReportNow({ store, publisher: p }, { fillerOrder: filler }, '')).rejects.toMatchObject({ code: 'PSL_ACTION_INVALID' });
      // Another lab's report of the same number.
      const other = await p.handle(Message.parse(ltwResults('X1', 'F', [GLU('0.9', 'F', AT)]).replace(/LAB-0001\^SIL-LABO/g, `${filler}^OTHER-LAB`)), 'x1');
      expect(other).toMatch(/never published on their own/);
      await expect(publishReportNow({ store, publisher: p }, { fillerOrder: filler }, 'cli')).rejects.toMatchObject({ code: 'PSL_REPORT_AMBIGUOUS', message: expect.stringContaining('OTHER-LAB') });
      expect(await versions(filler)).toEqual(['v1 completed']);
    });

    /** Our order (two tests, the vitamin D subcontracted on `sub`), our results, then the subcontractor's about another patient. */
    async function parkedSubcontracted(p: ReportPublisher): Promise<{ filler: string; sub: string; theirs: string; key: string }> {
      const { filler, placer } = ids();
      const sub = `SUB-${randomUUID().slice(0, 6)}`;
      const theirs = `ST-${randomUUID().slice(0, 6)}`;
      const key = `DPI|${placer}`;
      const first = await p.handle(ours('M1', filler, placer, 'F', [GLU('0.95', 'F', AT), CREA('9.8', 'F', AT)]), `o-${filler}`);
      // No order yet: complete from its own results. The order arrives before the subcontractor's results.
      expect(first).toBe(`report ${filler}: v1 (completed)`);
      const order: OrderState = {
        key,
        placer: { number: placer, authority: 'DPI' },
        placers: [placer],
        filler: { number: filler, authority: LAB },
        patient: (await report(filler)).patient,
        pid: 'PID|1',
        encoding: '|^~\\&',
        specimens: [],
        tests: [
          { key: '24321-2^LN', placer, code: { code: '24321-2', systemName: 'LN' } },
          { key: '1989-3^LN', placer, code: { code: '1989-3', systemName: 'LN' }, subOrder: sub },
        ],
        status: 'A',
        history: [],
        subOrders: [{ number: sub, authority: LAB, subcontractor: 'labo-specialise', finess: '750000009', tests: ['1989-3^LN'], state: 'accepted' }],
        messages: [],
        revision: 1,
      };
      expect(await store.putOrder(key, JSON.stringify(order), null)).toBe(true);
      for (const ref of [`placer:DPI|${placer}`, `filler:${LAB}|${filler}`, `sub:${LAB}|${sub}`]) await store.linkOrder(ref, key);
      expect(await p.handle(subcontracted(`S-${sub}`, sub, theirs, OTHER_INS), `s-${sub}`)).toMatch(/subcontracted results parked, the patient identity disagrees with our report/);
      const parked = (JSON.parse((await store.getOrder(key))!.state) as OrderState).subOrders[0]!;
      expect(parked).toMatchObject({ keptIn: { lab: 'SIL-SOUSTRAITANT', fillerOrder: theirs }, parked: expect.stringMatching(/^identity to verify: INS differs/) });
      return { filler, sub, theirs, key };
    }
    const subOrder = async (key: string): Promise<OrderState['subOrders'][number]> => (JSON.parse((await store.getOrder(key))!.state) as OrderState).subOrders[0]!;

    test("a subcontractor's results parked for an identity to verify, fused by an operator: our report gets them and publishes", async () => {
      const p = publisher();
      const { filler, sub, theirs, key } = await parkedSubcontracted(p);
      expect(await versions(filler)).toEqual(['v1 completed']);
      const out = await releaseParkedSubOrder({ store, publisher: p }, { fillerOrder: filler, subOrder: sub }, 'accept', 'console:alice', 'same patient: the subcontractor mistyped the INS');
      expect(out).toEqual({ outcome: 'accepted', detail: `report ${filler}: results of sub-order ${sub} fused; report ${filler}: v2 (completed)` });
      expect(n3(filler, 2)).toContain('1989-3');
      expect(n3(filler, 2)).toContain('750000009');
      const s = await report(filler);
      expect(s.observations.map((e) => e.key)).toContain('1989-3||');
      // Our patient and header stay ours.
      expect(s.patient.ins).not.toContain(OTHER_INS);
      expect(s.actions).toMatchObject([{ action: 'accept-subcontracted', by: 'console:alice', subOrder: sub, note: 'same patient: the subcontractor mistyped the INS' }]);
      const after = await subOrder(key);
      expect(after.parked).toBeUndefined();
      expect(after.keptIn).toEqual({ lab: 'SIL-SOUSTRAITANT', fillerOrder: theirs });
      expect(after.released).toEqual([expect.stringMatching(new RegExp(`^fused by console:alice at \\S+: same patient: the subcontractor mistyped the INS \\(was: identity to verify: INS differs.*; results in SIL-SOUSTRAITANT/${theirs}\\)$`))]);
      // Decided once: asking again is refused; our next message does not fuse them a second time.
      await expect(releaseParkedSubOrder({ store, publisher: p }, { fillerOrder: filler, subOrder: sub }, 'accept', 'console:alice')).rejects.toMatchObject({ code: 'PSL_SUBORDER_NOT_PARKED' });
      const revision = s.revision;
      await p.handle(ours('M9', filler, filler.replace('LAB-', 'CMD-'), 'F', [GLU('0.95', 'F', AT), CREA('9.8', 'F', AT)]), `o2-${filler}`);
      expect((await report(filler)).revision).toBe(revision);
      expect(await versions(filler)).toEqual(['v1 completed', 'v2 completed']);
    });

    test("a subcontractor's results dropped: nothing published, never fused, the order no longer points at them", async () => {
      const p = publisher();
      const { filler, sub, theirs, key } = await parkedSubcontracted(p);
      const out = await releaseParkedSubOrder({ store, publisher: p }, { lab: LAB, fillerOrder: filler, subOrder: sub }, 'drop', 'cli:bob');
      expect(out).toEqual({ outcome: 'dropped', detail: `report ${filler}: results of sub-order ${sub} dropped` });
      expect(await versions(filler)).toEqual(['v1 completed']);
      const after = await subOrder(key);
      expect(after.parked).toBeUndefined();
      expect(after.keptIn).toBeUndefined();
      expect(after.released).toEqual([expect.stringMatching(new RegExp(`^dropped by cli:bob at \\S+ \\(was: identity to verify: .*; results in SIL-SOUSTRAITANT/${theirs}\\)$`))]);
      // Kept where they were, never published; our next message does not bring them in.
      expect((await report(theirs, 'SIL-SOUSTRAITANT')).observations.map((e) => e.key)).toEqual(['1989-3||']);
      await p.handle(ours('M9', filler, filler.replace('LAB-', 'CMD-'), 'F', [GLU('0.95', 'F', AT), CREA('9.8', 'F', AT)]), `o2-${filler}`);
      expect((await report(filler)).observations.map((e) => e.key)).not.toContain('1989-3||');
      expect((await report(filler)).actions).toMatchObject([{ action: 'drop-subcontracted', by: 'cli:bob', subOrder: sub }]);
      // The vitamin D the order asks for is still awaited: that next version is partial, without their results.
      expect(await versions(filler)).toEqual(['v1 completed', 'v2 active']);
      expect(n3(filler, 2)).not.toContain('750000009');
    });
  });
}

suite('SQLite', () => openSqliteTestStore('psl-parked-store-'));
suite('PostgreSQL', openPgTestStore);

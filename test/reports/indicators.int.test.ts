/**
 * Ségur scenario TBB/va1.03.01 / TBB/va1.05.01 in small: a scripted month of CR-BIO for one
 * geographic FINESS and two biologists, ten documents per channel (DMP, MSSanté professional,
 * MSSanté patient) and one failure each, some with a qualified INS and some without, written
 * through the store API the publisher and the delivery lines use, read back with
 * indicatorRows and counted. Expected figures are worked out by hand below, on SQLite and on
 * PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import type { MessageStore, StoredVersionDelivery } from '../../engine/store/types';
import { indicatorsCsv, loadIndicators, type IndicatorCounts, type IndicatorGroup } from '../../engine/reports/indicators';
import { openPgTestStore, openSqliteTestStore } from '../support/test-stores';

const FINESS = '1120459876';
const A = '10000000001'; // first biologist's RPPS
const B = '10000000002'; // the second
const PRO = 'mss:dr.house@hopital.mssante.fr';
const PRO2 = 'mss:dr.wilson@hopital.mssante.fr';
const PATIENT = 'mss:248092A20345642@patient.mssante.fr';

type State = StoredVersionDelivery['state'];
/** Document: [filler, version, rpps, INS qualified, status, deliveries [target, state][]]. */
type Doc = [string, number, string, boolean, 'active' | 'completed' | 'deleted', [string, State][]];

// F1..F10 v1: A for F1–F7, B for F8–F10; INS qualified except F7 and F10.
const base = (i: number): [string, number, string, boolean] => [`F${i}`, 1, i <= 7 ? A : B, i !== 7 && i !== 10];
const DOCS: Doc[] = [
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i): Doc => {
    const d: [string, State][] = [];
    // DMP: our line for F1–F9; F10 through the PFI; F3 both (one document).
    if (i <= 9) d.push(['dmp', 'sent']);
    if (i === 10 || i === 3) d.push(['pfi', 'sent'], ['pfi>dmp', 'acknowledged']);
    d.push([PRO, 'sent']);
    if (i === 2) d.push([PRO2, 'sent']); // two mails, one document
    if (i === 5) d.push(['mss:(prescriber 10003456789)', 'held']); // not sent, not a failure
    if (base(i)[3]) d.push([PATIENT, 'sent']); // F1–F6, F8, F9
    return [...base(i), 'completed', d];
  }),
  ['F11', 1, A, true, 'completed', [['dmp', 'dead']]], // the DMP failure
  ['F12', 1, B, false, 'completed', [[PRO, 'dead']]], // the MSSanté professional failure
  ['F13', 1, A, false, 'active', [['dmp', 'held']]], // held: neither sent nor failed
  ['F1', 2, A, true, 'completed', [[PATIENT, 'sent']]], // a correction sent to the patient
  ['F4', 2, A, true, 'completed', [['pfi', 'sent'], [`pfi>${PATIENT}`, 'acknowledged']]], // through the PFI
  ['F9', 2, B, true, 'completed', [[PATIENT, 'dead']]], // the MSSanté patient failure
  ['F2', 2, A, true, 'deleted', [['dmp', 'sent'], [PRO, 'sent']]], // a withdrawal: not a CR-BIO sent
  ['F5', 2, A, true, 'completed', [['dmp', 'queued']]], // still queued
];

const counts = (
  dmp: [number, number, number], pro: [number, number, number], patient: [number, number, number],
  files: [number, number, number, number], failures: [number, number, number],
): IndicatorCounts => ({
  dmp: { total: dmp[0], insQualified: dmp[1], insNotQualified: dmp[2] },
  mssPro: { total: pro[0], insQualified: pro[1], insNotQualified: pro[2] },
  mssPatient: { total: patient[0], insQualified: patient[1], insNotQualified: patient[2] },
  files: { dmp: files[0], mssPro: files[1], mssPatient: files[2], allThree: files[3] },
  failures: { dmp: failures[0], mssPro: failures[1], mssPatient: failures[2] },
});

// Worked out by hand from DOCS:
// every biologist — DMP F1–F10 v1 = 10 (8 qualified: not F7, F10); pro F1–F10 v1 = 10 (8/2);
// patient F1–F6, F8, F9 v1 + F1 v2 + F4 v2 = 10 (all qualified); files: DMP 10, pro 10,
// patient 8 (F1–F6, F8, F9), all three 8; failures F11 (DMP), F12 (pro), F9 v2 (patient).
const ALL = counts([10, 8, 2], [10, 8, 2], [10, 10, 0], [10, 10, 8, 8], [1, 1, 1]);
// A: DMP F1–F7 = 7 (6/1); pro 7 (6/1); patient F1–F6 v1 + F1 v2 + F4 v2 = 8; files 7, 7, 6, 6; failure F11.
const BY_A = counts([7, 6, 1], [7, 6, 1], [8, 8, 0], [7, 7, 6, 6], [1, 0, 0]);
// B: DMP F8–F10 = 3 (2/1); pro 3 (2/1); patient F8, F9 = 2; files 3, 3, 2, 2; failures F12, F9 v2.
const BY_B = counts([3, 2, 1], [3, 2, 1], [2, 2, 0], [3, 3, 2, 2], [0, 1, 1]);
const NONE = counts([0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0, 0], [0, 0, 0]);

function suite(name: string, open: () => Promise<{ store: MessageStore; destroy(): Promise<void> }>): void {
  describe(name, () => {
    let store: MessageStore;
    let destroy: () => Promise<void>;
    const lab = `LAB-${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      ({ store, destroy } = await open());
      for (const [filler, version, rpps, insQualified, status, deliveries] of DOCS) {
        const ok = await store.reserveReportVersion({ lab, fillerOrder: filler, version, status, contentHash: `${filler}.${version}`, revision: version, facts: { finess: FINESS, rpps, insQualified } }, 30_000);
        if (!ok) throw new Error(`${filler} v${version} not reserved`);
        for (const [target, state] of deliveries) {
          // Created queued, then moved on, as the publisher and the lines do.
          await store.putVersionDelivery({ lab, fillerOrder: filler, version, target, state: 'queued', detail: null });
          if (state !== 'queued') await store.putVersionDelivery({ lab, fillerOrder: filler, version, target, state, detail: state === 'dead' ? 'PSL_X: refused' : null });
        }
        await store.markReportVersionWritten(lab, filler, version);
      }
    });
    afterAll(async () => {
      await store.close();
      await destroy();
    });

    test('this month, this year and the previous year, per FINESS and per RPPS', async () => {
      const now = new Date();
      const groups = (await loadIndicators(store, now)).filter((g) => g.finess === FINESS);
      const shape = (g: IndicatorGroup): [string, string | null, IndicatorCounts] => [g.period.kind, g.rpps, g.counts];
      expect(groups.map(shape)).toEqual([
        ['month', null, ALL],
        ['month', A, BY_A],
        ['month', B, BY_B],
        ['year', null, ALL],
        ['year', A, BY_A],
        ['year', B, BY_B],
        ['previous-year', null, NONE],
        ['previous-year', A, NONE],
        ['previous-year', B, NONE],
      ]);
      expect(groups[0]!.period.label).toBe(`${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`);

      const csv = indicatorsCsv(groups).split('\r\n');
      expect(csv[0]).toBe('period;period_label;period_start;period_end;finess;rpps;indicator;value');
      expect(csv).toHaveLength(1 + 9 * 16 + 1); // the header, 9 groups × 16 indicators, the last CRLF
      const y = now.getFullYear();
      const m = String(now.getMonth() + 1).padStart(2, '0');
      const start = `${y}-${m}-01`;
      expect(csv).toContain(`month;${y}-${m};${start};${csv[1]!.split(';')[3]};${FINESS};*;dmp.total;10`);
      expect(csv).toContain(`year;${y};${y}-01-01;${y + 1}-01-01;${FINESS};${A};mss_patient.total;8`);
      expect(csv).toContain(`year;${y};${y}-01-01;${y + 1}-01-01;${FINESS};${B};failures.mss_patient;1`);
      expect(csv).toContain(`previous-year;${y - 1};${y - 1}-01-01;${y}-01-01;${FINESS};*;files.all_three;0`);
    });
  });
}

suite('SqliteStore', () => openSqliteTestStore('psl-indicators-'));
suite('PgStore', openPgTestStore);

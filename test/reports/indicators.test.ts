/** The indicators' rules on rows made by hand: periods and their edges, channels, what counts as sent or failed, facts. */
import { classify, computeIndicators, indicatorPeriods, indicatorsCsv, versionFacts } from '../../engine/reports/indicators';
import type { IndicatorRow } from '../../engine/store/types';
import type { LabProfile } from '../../engine/lab/profile';

const REF = new Date(2026, 2, 15, 12); // 15 March 2026, local time
const row = (over: Partial<IndicatorRow> & Pick<IndicatorRow, 'fillerOrder' | 'target' | 'state' | 'updatedAt'>): IndicatorRow => ({
  lab: 'L', version: 1, insQualified: true, finess: 'F-A', rpps: 'R1', status: 'completed', ...over,
});

describe('indicatorPeriods', () => {
  test('the month, the year and the year before the reference date, local time, end excluded', () => {
    expect(indicatorPeriods(REF).map((p) => [p.kind, p.label, p.from, p.to])).toEqual([
      ['month', '2026-03', new Date(2026, 2, 1), new Date(2026, 3, 1)],
      ['year', '2026', new Date(2026, 0, 1), new Date(2027, 0, 1)],
      ['previous-year', '2025', new Date(2025, 0, 1), new Date(2026, 0, 1)],
    ]);
    expect(indicatorPeriods(new Date(2026, 11, 31, 23, 59))[0]!.to).toEqual(new Date(2027, 0, 1));
  });
});

describe('classify', () => {
  test.each([
    ['dmp', 'sent', { channel: 'dmp', outcome: 'sent' }],
    ['dmp', 'dead', { channel: 'dmp', outcome: 'failed' }],
    ['dmp', 'held', undefined],
    ['dmp', 'queued', undefined],
    ['dmp', 'acknowledged', undefined],
    ['mss:dr@x.mssante.fr', 'sent', { channel: 'mssPro', outcome: 'sent' }],
    ['mss:248092A20345642@PATIENT.MSSANTE.FR', 'sent', { channel: 'mssPatient', outcome: 'sent' }],
    ['mss:(prescriber 1)', 'held', undefined],
    ['pfi', 'sent', undefined],
    ['pfi', 'dead', undefined],
    ['pfi>dmp', 'acknowledged', { channel: 'dmp', outcome: 'sent' }],
    ['pfi>dmp', 'failed', { channel: 'dmp', outcome: 'failed' }],
    ['pfi>dmp', 'sent', undefined],
    ['pfi>mss:1@patient.mssante.fr', 'acknowledged', { channel: 'mssPatient', outcome: 'sent' }],
    ['pfi>mss:dr@x.mssante.fr', 'failed', { channel: 'mssPro', outcome: 'failed' }],
    ['pfi>read:dr@x.mssante.fr', 'acknowledged', undefined],
    ['mss>dsn:dr@x.mssante.fr', 'acknowledged', undefined],
  ] as const)('%s %s', (target, state, expected) => {
    expect(classify({ target, state })).toEqual(expected);
  });
});

describe('computeIndicators', () => {
  test('periods by delivery time, edges included / excluded; FINESS and RPPS apart; versions without facts under an unknown FINESS', () => {
    const rows: IndicatorRow[] = [
      row({ fillerOrder: 'A1', target: 'dmp', state: 'sent', updatedAt: new Date(2026, 2, 1) }), // first instant of March
      row({ fillerOrder: 'A2', target: 'dmp', state: 'sent', updatedAt: new Date(new Date(2026, 2, 1).getTime() - 1) }), // last ms of February
      row({ fillerOrder: 'A3', target: 'dmp', state: 'sent', updatedAt: new Date(2025, 6, 1), insQualified: false }), // last year
      row({ fillerOrder: 'A4', target: 'dmp', state: 'sent', updatedAt: new Date(2024, 11, 31) }), // two years ago: nowhere
      row({ fillerOrder: 'B1', target: 'dmp', state: 'sent', updatedAt: new Date(2026, 2, 10), finess: 'F-B', rpps: 'R1' }),
      { lab: 'L', fillerOrder: 'C1', version: 1, target: 'mss:x@y.mssante.fr', state: 'sent', updatedAt: new Date(2026, 2, 2), insQualified: false },
    ];
    const groups = computeIndicators(rows, indicatorPeriods(REF));
    const dmp = (kind: string, finess: string, rpps: string | null): number =>
      groups.find((g) => g.period.kind === kind && g.finess === finess && g.rpps === rpps)!.counts.dmp.total;
    expect(groups.map((g) => [g.period.kind, g.finess, g.rpps])).toEqual(
      ['month', 'year', 'previous-year'].flatMap((k) => [[k, '', null], [k, 'F-A', null], [k, 'F-A', 'R1'], [k, 'F-B', null], [k, 'F-B', 'R1']]),
    );
    expect([dmp('month', 'F-A', null), dmp('year', 'F-A', null), dmp('previous-year', 'F-A', null)]).toEqual([1, 2, 1]);
    expect([dmp('month', 'F-A', 'R1'), dmp('month', 'F-B', null), dmp('month', 'F-B', 'R1')]).toEqual([1, 1, 1]);
    expect(groups.find((g) => g.period.kind === 'previous-year' && g.finess === 'F-A' && g.rpps === null)!.counts.dmp).toEqual({ total: 1, insQualified: 0, insNotQualified: 1 });
    expect(groups.find((g) => g.period.kind === 'month' && g.finess === '' && g.rpps === null)!.counts.mssPro).toEqual({ total: 1, insQualified: 0, insNotQualified: 1 });
  });

  test('documents, not mails or routes; a withdrawal and a hold count nowhere; a document both sent and failed counts in both', () => {
    const at = new Date(2026, 2, 5);
    const rows: IndicatorRow[] = [
      row({ fillerOrder: 'F1', target: 'mss:a@x.mssante.fr', state: 'sent', updatedAt: at }),
      row({ fillerOrder: 'F1', target: 'mss:b@x.mssante.fr', state: 'sent', updatedAt: at }),
      row({ fillerOrder: 'F1', target: 'mss:c@x.mssante.fr', state: 'dead', updatedAt: at }),
      row({ fillerOrder: 'F1', target: 'pfi>mss:d@x.mssante.fr', state: 'acknowledged', updatedAt: at }),
      row({ fillerOrder: 'F1', version: 2, target: 'mss:a@x.mssante.fr', state: 'sent', updatedAt: at }),
      row({ fillerOrder: 'F1', version: 3, target: 'mss:a@x.mssante.fr', state: 'sent', updatedAt: at, status: 'deleted' }),
      row({ fillerOrder: 'F2', target: 'mss:(prescriber 9)', state: 'held', updatedAt: at }),
      row({ fillerOrder: 'F2', target: 'dmp', state: 'held', updatedAt: at }),
      row({ fillerOrder: 'F3', target: 'dmp', state: 'sent', updatedAt: at }),
      row({ fillerOrder: 'F3', target: 'mss:1@patient.mssante.fr', state: 'sent', updatedAt: at }),
      row({ fillerOrder: 'F3', version: 2, target: 'mss:a@x.mssante.fr', state: 'sent', updatedAt: at }),
    ];
    const month = computeIndicators(rows, indicatorPeriods(REF)).find((g) => g.period.kind === 'month' && g.rpps === null)!.counts;
    expect(month.mssPro).toEqual({ total: 3, insQualified: 3, insNotQualified: 0 }); // F1 v1, F1 v2, F3 v2
    expect(month.failures).toEqual({ dmp: 0, mssPro: 1, mssPatient: 0 });
    expect(month.files).toEqual({ dmp: 1, mssPro: 2, mssPatient: 1, allThree: 1 }); // F3 in all three, over its versions
    expect(month.dmp.total).toBe(1);
  });

  test('the CSV: a header, one line per group and indicator, fields quoted when they must be', () => {
    const groups = computeIndicators([row({ fillerOrder: 'F', target: 'dmp', state: 'sent', updatedAt: new Date(2026, 2, 5), finess: 'A;B' })], indicatorPeriods(REF));
    const lines = indicatorsCsv(groups).split('\r\n');
    expect(lines[0]).toBe('period;period_label;period_start;period_end;finess;rpps;indicator;value');
    expect(lines[1]).toBe('month;2026-03;2026-03-01;2026-04-01;"A;B";*;dmp.total;1');
    expect(lines[17]).toBe('month;2026-03;2026-03-01;2026-04-01;"A;B";R1;dmp.total;1');
    expect(lines[33]).toBe('year;2026;2026-01-01;2027-01-01;"A;B";*;dmp.total;1');
    expect(lines.filter((l) => l.startsWith('previous-year;2025;2025-01-01;2026-01-01;')).every((l) => l.endsWith(';0'))).toBe(true);
    expect(lines).toHaveLength(1 + 3 * 2 * 16 + 1);
  });
});

describe('versionFacts', () => {
  const lab = { lab: { name: 'Labo', id: '1120459876' } } as LabProfile;
  test('the lab FINESS, the validator when named by RPPS, a qualified INS', () => {
    expect(versionFacts(lab, { patient: { ins: { matricule: '248092A20345642', oid: '1.2.250.1.213.1.4.10', nature: 'NIR' } } as never, validator: { id: '801234534765', idAuthorityOid: '1.2.250.1.71.4.2.1' } })).toEqual({
      finess: '1120459876', rpps: '801234534765', insQualified: true,
    });
    expect(versionFacts({ lab: { name: 'Labo', id: 'x', finess: '750000001' } } as LabProfile, { patient: {} as never, validator: { id: 'LOCAL-7', idAuthorityOid: '1.2.3' } })).toEqual({ finess: '750000001', insQualified: false });
    expect(versionFacts(lab, { patient: {} as never })).toEqual({ finess: '1120459876', insQualified: false });
  });
});

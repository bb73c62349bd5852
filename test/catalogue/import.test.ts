/**
 * DSR LOINC imports (SGL.LOI.04–07, 09): LOINC_4/5/6 merged into the transcoding; several codes
 * for one local code or a bad check digit refuse the whole import (naming the lines); a code
 * outside the "circuit de la biologie" value set is imported with a warning naming its line.
 */
import { join } from 'node:path';
import { loadCatalogue } from '../../engine/catalogue/catalogue-file';
import { formatCsv } from '../../engine/catalogue/csv';
import { LOINC_4_COLUMNS, LOINC_5_COLUMNS, LOINC_6_COLUMNS, analysisRows, chapterRows, examRows } from '../../engine/catalogue/csv-export';
import { formatImportReport, importLoincFiles, kindOfFile, type ImportInput } from '../../engine/catalogue/csv-import';
import { emptyLoincMap } from '../../engine/catalogue/loinc-file';
import { loadValueSet } from '../../engine/catalogue/value-set';
import type { LoincAssignment, LoincMap } from '../../engine/catalogue/types';

const FIXTURES = join(__dirname, 'fixtures');
const catalogue = loadCatalogue(join(FIXTURES, 'catalogue.yaml'));
const valueSet = loadValueSet(join(FIXTURES, 'circuit-biologie.json'));
const DAY = '2026-12-07';

/** A provider's file: our export, header renamed to the import's, LOINC columns filled per local code. */
function provider(name: string, header: readonly string[], rows: string[][], loinc: Record<string, string[]>): ImportInput {
  const body = rows.slice(1).map((r) => [...r, ...(loinc[r[0] + (r[2] && header === LOINC_4_COLUMNS ? '/' + r[2] : '')] ?? loinc[r[0]] ?? [])]);
  return { file: name, bytes: Buffer.from(formatCsv([[...header], ...body]), 'utf8') };
}
const analyses6 = (loinc: Record<string, string[]>): ImportInput => provider('LOINC_6_transcodage_resultats_20261207.csv', LOINC_6_COLUMNS, analysisRows(catalogue), loinc);

test('file kinds from their names, the DSR spelling of LOINC_6 included', () => {
  expect(kindOfFile('/x/LOINC_4_transcodage_chapitres_20261207.csv')).toBe('LOINC_4');
  expect(kindOfFile('LOINC_5_transcodage_demandes_20261207.csv')).toBe('LOINC_5');
  expect(kindOfFile('LOINC_6_transcodage_demandes_20261207.csv')).toBe('LOINC_6');
  expect(kindOfFile('loinc_6_transcodage_resultats_20261207.csv')).toBe('LOINC_6');
  expect(kindOfFile('LOINC_3_export_resultats_20261207.csv')).toBeUndefined();
  expect(kindOfFile('LOINC_60.csv')).toBeUndefined();
});

test('LOINC_6: imported with dates; a code outside the value set is a warning naming its line; untranscoded lines change nothing', () => {
  const r = importLoincFiles([analyses6({ NA: ['2951-2', 'Sodium [Moles/Volume] Sérum/Plasma ; Numérique'], VS: ['30341-2', 'VS'] })], { catalogue, current: emptyLoincMap(), valueSet, day: DAY });
  expect(r.accepted).toBe(true);
  expect(r.problems).toEqual([
    { severity: 'warning', file: 'LOINC_6_transcodage_resultats_20261207.csv', line: 4, message: 'analysis VS: LOINC 30341-2 is not in the "circuit de la biologie" value set (imported)' },
  ]);
  expect(r.map.analyses.get('NA')).toEqual({ loinc: '2951-2', label: 'Sodium [Moles/Volume] Sérum/Plasma ; Numérique', created: DAY, modified: DAY });
  expect(r.map.analyses.get('VS')?.loinc).toBe('30341-2');
  expect(r.map.analyses.has('K')).toBe(false);
  const text = formatImportReport(r);
  expect(text).toContain('LOINC import 2026-12-07: imported (2 added, 0 changed, 0 unchanged; 1 warning(s))');
  expect(text).toContain('  LOINC_6_transcodage_resultats_20261207.csv:4: analysis VS: LOINC 30341-2 is not in the "circuit de la biologie" value set (imported)');
  expect(text).toContain(`checked against the "circuit de la biologie" value set ${valueSet.source}`);
});

test('several LOINC codes in one cell: blocking, the line named, nothing imported', () => {
  for (const cell of ['4537-7,30341-2', '4537-7 | 30341-2']) {
    const r = importLoincFiles([analyses6({ NA: ['2951-2'], VS: [cell] })], { catalogue, current: emptyLoincMap(), valueSet, day: DAY });
    expect(r.accepted).toBe(false);
    expect(r.problems.filter((p) => p.severity === 'blocking')).toEqual([
      { severity: 'blocking', file: 'LOINC_6_transcodage_resultats_20261207.csv', line: 4, message: 'analysis VS: several LOINC codes (4537-7, 30341-2); one local code takes one LOINC code' },
    ]);
    expect(r.changes).toEqual([]);
    expect(r.map.analyses.size).toBe(0);
    expect(formatImportReport(r)).toMatch(/REFUSED, 1 blocking error\(s\): nothing was written[\s\S]*:4: analysis VS: several LOINC codes/);
  }
});

test('two lines (in two files) giving one analysis different codes: blocking, both lines named', () => {
  const one = analyses6({ VS: ['4537-7'] });
  const two = { file: 'LOINC_6_bis.csv', bytes: Buffer.from(formatCsv([[...LOINC_6_COLUMNS], ['VS', 'VS', '', '', '', '', '', '', '', '', '', '', '30341-2', '']]), 'utf8') };
  const r = importLoincFiles([one, two], { catalogue, current: emptyLoincMap(), day: DAY });
  expect(r.accepted).toBe(false);
  const msg = 'analyses VS: several LOINC codes on different lines: LOINC_6_transcodage_resultats_20261207.csv:4 (4537-7), LOINC_6_bis.csv:2 (30341-2)';
  expect(r.problems).toEqual([
    { severity: 'blocking', file: one.file, line: 4, message: msg },
    { severity: 'blocking', file: 'LOINC_6_bis.csv', line: 2, message: msg },
  ]);
});

test('a wrong check digit or a malformed code is blocking; an unknown local code is skipped with a warning', () => {
  const bytes = Buffer.from(
    formatCsv([
      [...LOINC_6_COLUMNS],
      ['NA', 'Sodium', '', '', '', '', '', '', '', '', '', '', '2951-3', ''],
      ['K', 'Potassium', '', '', '', '', '', '', '', '', '', '', 'LP123', ''],
      ['ZZ', 'Inconnu', '', '', '', '', '', '', '', '', '', '', '1988-5', ''],
      ['VS', 'trop court'],
      ['K', 'Potassium', '', '', '', '', '', '', '', '', '', ''],
    ]),
    'latin1',
  );
  const r = importLoincFiles([{ file: 'resultats.csv', kind: 'LOINC_6', bytes }], { catalogue, current: emptyLoincMap(), day: DAY });
  expect(r.accepted).toBe(false);
  expect(r.problems.map((p) => [p.severity, p.line, p.message])).toEqual([
    ['blocking', 2, 'analysis NA: "2951-3" has a wrong LOINC check digit (2951-2 would be valid)'],
    ['blocking', 3, 'analysis K: "LP123" is not a LOINC code (digits, a dash, one check digit: 1988-5)'],
    ['warning', 4, 'analysis ZZ is not in the catalogue: line skipped'],
    ['blocking', 5, '2 column(s), a LOINC_6 line has 14 (separator ";")'],
  ]);
  expect(formatImportReport(r)).toContain('NOT checked against the "circuit de la biologie" value set');
  expect(importLoincFiles([{ file: 'x.csv', bytes }], { catalogue, current: emptyLoincMap(), day: DAY }).problems[0].message).toMatch(/does not start with LOINC_4/);
});

test('dates (LOI.09): unchanged code keeps its dates, a changed code keeps created and gets modified = import day', () => {
  const current: LoincMap = {
    ...emptyLoincMap(),
    analyses: new Map<string, LoincAssignment>([
      ['NA', { loinc: '2951-2', created: '2025-01-01', modified: '2025-06-01' }],
      ['VS', { loinc: '30341-2', created: '2025-01-01', modified: '2025-01-01' }],
    ]),
  };
  const r = importLoincFiles([analyses6({ NA: ['2951-2'], VS: ['4537-7'] })], { catalogue, current, valueSet, day: DAY });
  expect(r.accepted).toBe(true);
  expect(r.map.analyses.get('NA')).toEqual({ loinc: '2951-2', created: '2025-01-01', modified: '2025-06-01' });
  expect(r.map.analyses.get('VS')).toEqual({ loinc: '4537-7', created: '2025-01-01', modified: DAY });
  expect(r.changes).toEqual([
    { kind: 'analyses', local: 'NA', loinc: '2951-2', action: 'unchanged' },
    { kind: 'analyses', local: 'VS', loinc: '4537-7', action: 'changed', previous: '30341-2' },
  ]);
  expect(formatImportReport(r)).toContain('  changed analyses VS → 4537-7 (was 30341-2)');
  // the current map is never modified in place
  expect(current.analyses.get('VS')?.loinc).toBe('30341-2');
});

test('LOINC_5: an exam repeated on its analyses lines takes one code; different codes on its lines are blocking', () => {
  const ok = provider('LOINC_5_transcodage_demandes_20261207.csv', LOINC_5_COLUMNS, examRows(catalogue), { IONO: ['24326-1', 'Ionogramme'] });
  const r = importLoincFiles([ok], { catalogue, current: emptyLoincMap(), day: DAY });
  expect(r.accepted).toBe(true);
  expect(r.map.exams.get('IONO')).toEqual({ loinc: '24326-1', label: 'Ionogramme', created: DAY, modified: DAY });
  const rows = examRows(catalogue);
  const bad = formatCsv([[...LOINC_5_COLUMNS], [...rows[1], '24326-1', ''], [...rows[2], '24321-2', '']]);
  const refused = importLoincFiles([{ file: 'LOINC_5_x.csv', bytes: Buffer.from(bad) }], { catalogue, current: emptyLoincMap(), day: DAY });
  expect(refused.accepted).toBe(false);
  expect(refused.problems.map((p) => p.line)).toEqual([2, 3]);
});

test('LOINC_4: chapter and sub-chapter codes (sub-chapters keyed chapter/sub-chapter), Windows-1252 bytes with a header', () => {
  const body = chapterRows(catalogue)
    .slice(1)
    .map((r) => [...r, r[0] === 'BIO' ? '18719-5' : '18723-7', r[0] === 'BIO' ? 'Biochimie' : 'Hématologie', r[2] === 'ELEC' ? '18719-5' : '', '']);
  const bytes = Buffer.from(formatCsv([[...LOINC_4_COLUMNS], ...body]), 'latin1');
  const r = importLoincFiles([{ file: 'LOINC_4_transcodage_chapitres_20261207.csv', bytes }], { catalogue, current: emptyLoincMap(), day: DAY });
  expect(r.accepted).toBe(true);
  expect(r.files).toEqual([{ file: 'LOINC_4_transcodage_chapitres_20261207.csv', kind: 'LOINC_4', encoding: 'windows-1252', lines: 3 }]);
  expect(r.map.chapters.get('HEM')).toMatchObject({ loinc: '18723-7', label: 'Hématologie' });
  expect(r.map.chapters.get('BIO')?.loinc).toBe('18719-5');
  expect([...r.map.subChapters.keys()]).toEqual(['BIO/ELEC']);
});

test('a file with no LOINC column at all (our own export sent back) imports nothing and says so', () => {
  const r = importLoincFiles([{ file: 'LOINC_6_vide.csv', bytes: Buffer.from(formatCsv(analysisRows(catalogue))) }], { catalogue, current: emptyLoincMap(), day: DAY });
  expect(r.accepted).toBe(true);
  expect(r.changes).toEqual([]);
  expect(r.problems).toEqual([{ severity: 'warning', file: 'LOINC_6_vide.csv', line: undefined, message: 'no line has the LOINC columns of a LOINC_6 file: nothing to import from it' }]);
});

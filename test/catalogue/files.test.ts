/**
 * mappings/catalogue.yaml and mappings/loinc.yaml: loading, the file:line problems, the check
 * digit, and the deterministic, atomic writing of the transcoding (SGL.LOI.08/09).
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadCatalogue } from '../../engine/catalogue/catalogue-file';
import { assign, emptyLoincMap, formatLoincMap, loadLoincMap, writeLoincMap } from '../../engine/catalogue/loinc-file';
import { isLoincCode, loincCheckDigit, loincCodeProblem } from '../../engine/catalogue/loinc-code';
import { defaultMappingFile } from '../../engine/lab/mappings';
import type { LoincAssignment } from '../../engine/catalogue/types';
import { configErrorMessage, fileWriter } from '../support/config-files';

const file = fileWriter('psl-catalogue-');
const messageOf = configErrorMessage;

test('LOINC check digit (mod 10): known codes pass, a wrong digit is named with the right one', () => {
  for (const c of ['1988-5', '4537-7', '18719-5', '2951-2', '718-7', '57021-8', '14682-9', '20-8', '28-1', '630-4', '101792-0']) expect(isLoincCode(c)).toBe(true);
  expect(loincCheckDigit('1988')).toBe(5);
  expect(loincCodeProblem('1988-4')).toBe('"1988-4" has a wrong LOINC check digit (1988-5 would be valid)');
  expect(loincCodeProblem('1988')).toMatch(/is not a LOINC code/);
  expect(loincCodeProblem('LP1234-5')).toMatch(/is not a LOINC code/);
});

test('the sample catalogue and transcoding load, and the transcoding file is in its written form', () => {
  const c = loadCatalogue(defaultMappingFile('catalogue.yaml'));
  expect(c.chapters.map((x) => x.code)).toEqual(['BIOCH', 'HEMAT', 'MICRO', 'SERO', 'TOXIC', 'GENET']);
  const codes = new Set([...c.exams.map((e) => e.code), ...c.analyses.map((a) => a.code)]);
  for (const local of ['INFLAM', 'SEROHEP', 'ECBU', 'B12FOL', 'GENET', 'NFS', 'TOXOG', 'TPHA', 'VS', 'GLY', 'NA', 'K', 'CREA']) expect(codes).toContain(local);
  const m = loadLoincMap(defaultMappingFile('loinc.yaml'));
  expect(m.analyses.get('VS')).toEqual({ loinc: '4537-7', created: '2026-12-07', modified: '2026-12-07' });
  expect(m.chapters.get('BIOCH')?.loinc).toBe('18719-5');
  for (const local of m.analyses.keys()) expect(codes).toContain(local);
  expect(formatLoincMap(m)).toBe(readFileSync(defaultMappingFile('loinc.yaml'), 'utf8'));
});

test('catalogue problems are reported with file:line: unknown chapter, sub-chapter, analysis, duplicate codes', () => {
  const f = file(
    'bad-catalogue.yaml',
    [
      'chapters:',
      '  - { code: BIO, label: Biochimie, subChapters: [{ code: E, label: Électrolytes }] }',
      '  - { code: BIO, label: Encore }',
      'exams:',
      '  - { code: X1, label: Examen, chapter: HEM, analyses: [A1] }',
      '  - { code: X2, label: Examen, chapter: BIO, subChapter: Z, analyses: [A9] }',
      'analyses:',
      '  - { code: A1, label: Analyse }',
      '  - { code: A1, label: Doublon }',
      '',
    ].join('\n'),
  );
  const msg = messageOf(() => loadCatalogue(f));
  expect(msg).toContain(`${f}:3:13: chapters.1.code: chapter code BIO is already used by chapters.0`);
  expect(msg).toContain(`${f}:5:41: exams.0.chapter: chapter HEM is not a chapter of the catalogue`);
  expect(msg).toContain(`${f}:6:58: exams.1.subChapter: sub-chapter Z is not a sub-chapter of BIO`);
  expect(msg).toContain(`${f}:6:72: exams.1.analyses.0: analysis A9 is not an analysis of the catalogue`);
  expect(msg).toContain(`${f}:9:13: analyses.1.code: analysis code A1 is already used by analyses.0`);
});

test('catalogue schema problems (missing label, unknown key) and an unreadable file', () => {
  const f = file('schema.yaml', 'exams:\n  - code: X1\n    analyses: []\n    colour: red\n');
  const msg = messageOf(() => loadCatalogue(f));
  expect(msg).toMatch(new RegExp(`${f}:2:\\d+: exams.0.label: `));
  expect(msg).toContain(`${f}:4:13: exams.0: Unrecognized key: "colour"`);
  expect(messageOf(() => loadCatalogue(join(dirname(file('present.yaml', '')), 'missing.yaml')))).toMatch(/missing\.yaml:1:1: cannot read/);
});

test('transcoding problems: bad check digit, dates out of order or malformed', () => {
  const f = file(
    'bad-loinc.yaml',
    ['analyses:', '  VS: { loinc: "4537-6", created: "2026-01-02", modified: "2026-01-02" }', '  CRP: { loinc: "1988-5", created: "2026-03-01", modified: "2026-01-01" }', ''].join('\n'),
  );
  const msg = messageOf(() => loadLoincMap(f));
  expect(msg).toContain(`${f}:2:16: analyses.VS.loinc: "4537-6" has a wrong LOINC check digit (4537-7 would be valid)`);
  const f1 = file('bad-date.yaml', 'analyses:\n  K: { loinc: "2823-3", created: "1/1/2026", modified: "2026-01-01" }\n');
  expect(messageOf(() => loadLoincMap(f1))).toContain(`${f1}:2:34: analyses.K.created: must be a date YYYY-MM-DD`);
  const f2 = file('dates.yaml', 'analyses:\n  CRP: { loinc: "1988-5", created: "2026-03-01", modified: "2026-01-01" }\n');
  expect(messageOf(() => loadLoincMap(f2))).toContain(`${f2}:2:60: analyses.CRP.modified: modified 2026-01-01 is before created 2026-03-01`);
});

test('dates (LOI.09): a first code gets created = modified = day; another code keeps created; the same code keeps both', () => {
  const t = new Map<string, LoincAssignment>();
  expect(assign(t, 'VS', '4537-7', 'VS Westergren', '2026-01-10').action).toBe('added');
  expect(t.get('VS')).toEqual({ loinc: '4537-7', label: 'VS Westergren', created: '2026-01-10', modified: '2026-01-10' });
  expect(assign(t, 'VS', '4537-7', undefined, '2026-02-01').action).toBe('unchanged');
  expect(t.get('VS')).toEqual({ loinc: '4537-7', label: 'VS Westergren', created: '2026-01-10', modified: '2026-01-10' });
  const r = assign(t, 'VS', '30341-2', undefined, '2026-03-15');
  expect(r).toMatchObject({ action: 'changed', previous: { loinc: '4537-7' } });
  expect(t.get('VS')).toEqual({ loinc: '30341-2', created: '2026-01-10', modified: '2026-03-15' });
});

test('the transcoding is written atomically, sorted, with its header, and reads back the same', () => {
  const m = emptyLoincMap();
  (m.analyses as Map<string, LoincAssignment>).set('VS', { loinc: '4537-7', label: 'Vitesse "VS"', created: '2026-01-01', modified: '2026-02-01' });
  (m.analyses as Map<string, LoincAssignment>).set('CRP', { loinc: '1988-5', created: '2026-01-01', modified: '2026-01-01' });
  (m.subChapters as Map<string, LoincAssignment>).set('BIO/E', { loinc: '18719-5', created: '2026-01-01', modified: '2026-01-01' });
  const out = join(mkdtempSync(join(tmpdir(), 'psl-loinc-w-')), 'loinc.yaml');
  writeLoincMap(out, m);
  const text = readFileSync(out, 'utf8');
  expect(text).toMatch(/^# LOINC transcoding[^\n]*\n# Written by `passerelle loinc import`[\s\S]*edited by hand/);
  expect(text.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
    '',
    'chapters: {}',
    'subChapters:',
    '  "BIO/E": { loinc: "18719-5", created: "2026-01-01", modified: "2026-01-01" }',
    'exams: {}',
    'analyses:',
    '  "CRP": { loinc: "1988-5", created: "2026-01-01", modified: "2026-01-01" }',
    '  "VS": { loinc: "4537-7", label: "Vitesse \\"VS\\"", created: "2026-01-01", modified: "2026-02-01" }',
    '',
  ]);
  expect(readdirSync(join(out, '..'))).toEqual(['loinc.yaml']);
  const back = loadLoincMap(out);
  expect(back.analyses.get('VS')).toEqual(m.analyses.get('VS'));
  expect(formatLoincMap(back)).toBe(text);
});

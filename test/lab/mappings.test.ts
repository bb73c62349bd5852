import { dirname, join } from 'node:path';
import { chapterFor, defaultMappingFile, loadChapterMap, loadUnitMap, ucumFor } from '../../engine/lab/mappings';
import { configErrorMessage, fileWriter } from '../support/config-files';

const file = fileWriter('psl-lab-maps-');
const messageOf = configErrorMessage;

test('the default chapter map lists the seven LOINC specialty chapters in French', () => {
  const m = loadChapterMap();
  expect(Object.fromEntries(m.chapters)).toEqual({
    '18719-5': 'Biochimie',
    '18723-7': 'Hématologie',
    '18725-2': 'Microbiologie',
    '18727-8': 'Sérologie',
    '18717-9': 'Banque du sang',
    '18728-6': 'Toxicologie',
    '26436-6': 'Examens de laboratoire',
  });
  expect(m.defaultChapter).toBe('26436-6');
  expect(defaultMappingFile('lab-chapters.yaml')).toMatch(/mappings[/\\]lab-chapters\.yaml$/);
});

test('chapter rules: request code, then OBR-24, then a result code, then the default', () => {
  const m = loadChapterMap();
  expect(chapterFor(m, ['24321-2'], 'HM', []).code).toBe('18719-5'); // the lab's code list wins
  expect(chapterFor(m, ['LOCAL-X'], 'mb', []).code).toBe('18725-2'); // OBR-24, case-blind
  expect(chapterFor(m, ['LOCAL-X'], '', ['ZZZ', '718-7']).code).toBe('18723-7');
  expect(chapterFor(m, ['LOCAL-X'], 'QQ', ['ZZZ'])).toEqual({ code: '26436-6', display: 'Examens de laboratoire', system: '2.16.840.1.113883.6.1', systemName: 'LN' });
});

test('units: UCUM kept, French spellings mapped, case matters only where it must', () => {
  const u = loadUnitMap();
  expect(ucumFor(u, 'mg/L', 'UCUM')).toBe('mg/L');
  expect(ucumFor(u, 'mmol/l', '')).toBe('mmol/L');
  expect(ucumFor(u, 'g/l', '')).toBe('g/L');
  expect(ucumFor(u, 'G/L', '')).toBe('10*9/L');
  expect(ucumFor(u, 'UI/L', '')).toBe('[IU]/L');
  expect(ucumFor(u, 'mUI/L', '')).toBe('m[IU]/L');
  expect(ucumFor(u, 'µmol/l', '')).toBe('umol/L');
  expect(ucumFor(u, 'μmol/l', '')).toBe('umol/L'); // Greek mu
  expect(ucumFor(u, '10^9/l', '')).toBe('10*9/L');
  expect(ucumFor(u, 'T/L', '')).toBe('10*12/L');
  expect(ucumFor(u, 'fl', '')).toBe('fL');
  expect(ucumFor(u, 'sec', '')).toBe('s');
  expect(ucumFor(u, '%', '')).toBe('%');
  expect(ucumFor(u, 'MMOL/L', '')).toBe('mmol/L'); // case-blind, one candidate
  expect(ucumFor(u, 'furlongs', '')).toBeUndefined();
  expect(ucumFor(u, '', '')).toBeUndefined();
});

test('custom maps load', () => {
  const c = loadChapterMap(file('c.yaml', 'default: "26436-6"\nchapters:\n  "26436-6": Examens\n  "18719-5": Biochimie\nsections:\n  ch: "18719-5"\ncodes:\n  GLU: "18719-5"\n'));
  expect(c.sections.get('CH')).toBe('18719-5');
  expect(c.codes.get('GLU')).toBe('18719-5');
  const u = loadUnitMap(file('u.yaml', 'units:\n  "mg/dl": mg/dL\n'));
  expect(u.get('mg/dl')).toBe('mg/dL');
});

test('bad files are reported with file and line', () => {
  const syntax = file('syntax.yaml', 'default: "26436-6"\nchapters:\n  "26436-6": [unclosed\n');
  expect(messageOf(() => loadChapterMap(syntax))).toMatch(new RegExp(`${syntax.replace(/[.\\]/g, '\\$&')}:\\d+:\\d+: `));
  const unknown = file('unknown.yaml', 'default: "26436-6"\nchapters:\n  "26436-6": Examens\ncodes:\n  GLU: "18719-5"\n');
  expect(messageOf(() => loadChapterMap(unknown))).toBe(`${unknown}:5:8: codes.GLU: chapter 18719-5 is not listed under "chapters"`);
  const badDefault = file('default.yaml', 'default: "99999-9"\nchapters:\n  "26436-6": Examens\n');
  expect(messageOf(() => loadChapterMap(badDefault))).toMatch(/default\.yaml:1:10: default: chapter 99999-9/);
  const extra = file('extra.yaml', 'units:\n  "g/l": g/L\ncolours: red\n');
  expect(messageOf(() => loadUnitMap(extra))).toMatch(/extra\.yaml:3:\d+: .*colours/);
  const emptyValue = file('empty.yaml', 'units:\n  "g/l": ""\n');
  expect(messageOf(() => loadUnitMap(emptyValue))).toMatch(/empty\.yaml:2:\d+: units\.g\/l: /);
  expect(messageOf(() => loadUnitMap(join(dirname(file('present.yaml', '')), 'missing.yaml')))).toMatch(/missing\.yaml:1:1: cannot read/);
});

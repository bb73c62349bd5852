/**
 * The CR-BIO builder with the lab's transcoding: local codes without a LOINC get the lab's LOINC
 * (local code kept as the translation), the message's own LOINC wins, OBR-4 local codes get the
 * exam's LOINC, and the exam's chapter comes before the chapter map's rules.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { loadChapterMap, loadTranscoding, type Transcoding } from '../../engine/lab/mappings';
import { buildN3 } from '../../engine/cda/n3';
import type { LoincAssignment, LoincMap } from '../../engine/catalogue/types';
import type { Report, Result } from '../../engine/lab/report';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { FAKE_PDF } from '../cda/fixtures';

const SAMPLES = resolve(__dirname, '../../samples');
const parse = (name: string): Message => Message.parse(decode(readFileSync(join(SAMPLES, name))).text);
const byLocal = (r: Report, code: string): Result => {
  const found = r.requests.flatMap((q) => q.results).find((x) => x.code.local?.code === code);
  if (!found) throw new Error(`no result ${code}`);
  return found;
};
const defaults = loadTranscoding();
const a = (loinc: string, label?: string): LoincAssignment => ({ loinc, ...(label ? { label } : {}), created: '2026-01-01', modified: '2026-01-01' });
const withLoinc = (part: Partial<{ [K in keyof LoincMap]: Record<string, LoincAssignment> }>, catalogue = defaults.catalogue): Transcoding => ({
  catalogue,
  loinc: {
    chapters: new Map(Object.entries(part.chapters ?? {})),
    subChapters: new Map(Object.entries(part.subChapters ?? {})),
    exams: new Map(Object.entries(part.exams ?? {})),
    analyses: new Map(Object.entries(part.analyses ?? {})),
  },
});

test('default transcoding: VS gets 4537-7 with its local code kept; TPHA (not transcoded) stays local', () => {
  const r = reportFromMessage(parse('oru-r01_sn-values.hl7'));
  expect(byLocal(r, 'VS').code).toEqual({
    loinc: { code: '4537-7', display: 'Vitesse de sédimentation', system: '2.16.840.1.113883.6.1', systemName: 'LN' },
    local: { code: 'VS', display: 'Vitesse de sédimentation', systemName: 'L' },
    text: 'Vitesse de sédimentation',
    transcoded: true,
  });
  expect(byLocal(r, 'TPHA').code.loinc).toBeUndefined();
  expect(r.requests[0].chapter).toMatchObject({ code: '18719-5', display: 'Biochimie' });
});

test('without a transcoding entry nothing changes', () => {
  const r = reportFromMessage(parse('oru-r01_sn-values.hl7'), { transcoding: withLoinc({}) });
  expect(byLocal(r, 'VS').code.loinc).toBeUndefined();
});

test("the label of the transcoding is the LOINC display; the message's LOINC wins over the lab's", () => {
  const t = withLoinc({ analyses: { VS: a('4537-7', 'Vitesse de sédimentation [Vitesse] Sang ; Numérique ; Westergren'), GLY: a('14749-6') } });
  expect(byLocal(reportFromMessage(parse('oru-r01_sn-values.hl7'), { transcoding: t }), 'VS').code.loinc?.display).toBe('Vitesse de sédimentation [Vitesse] Sang ; Numérique ; Westergren');
  // GLY arrives as 2345-7 (LN) + GLY (L): the sender's LOINC stays.
  expect(byLocal(reportFromMessage(parse('oru-r01_biochemistry.hl7'), { transcoding: t }), 'GLY').code.loinc?.code).toBe('2345-7');
});

test('OBR-4 local code → exam LOINC; the exam chapter comes before OBR-24', () => {
  // A test mapping (INFLAM put in SERO) to see the order of the rules, not a claim about LOINC.
  const t = withLoinc({ exams: { INFLAM: a('24356-8', 'Examen de test') }, chapters: { SERO: a('18727-8') } }, {
    ...defaults.catalogue,
    exams: defaults.catalogue.exams.map((e) => (e.code === 'INFLAM' ? { ...e, chapter: 'SERO', subChapter: undefined } : e)),
  });
  const r = reportFromMessage(parse('oru-r01_sn-values.hl7'), { transcoding: t });
  expect(r.requests[0].code.loinc).toMatchObject({ code: '24356-8', display: 'Examen de test' });
  expect(r.requests[0].code.local?.code).toBe('INFLAM');
  expect(r.requests[0].chapter).toMatchObject({ code: '18727-8', display: 'Sérologie' }); // OBR-24 says CH
});

test('a chapter LOINC the chapter map does not list is not used (the schematron takes specialty codes only)', () => {
  const t = withLoinc({ chapters: { BIOCH: a('18720-3') } });
  expect(loadChapterMap().chapters.has('18720-3')).toBe(false);
  const r = reportFromMessage(parse('oru-r01_identity-prov.hl7'), { transcoding: t });
  expect(r.requests[0].chapter.code).toBe('26436-6'); // B12FOL, no OBR-24, no mapped code: the default
});

test('the N3 carries the LOINC code with the local code as translation', () => {
  const r = reportFromMessage(parse('oru-r01_sn-values.hl7'));
  const xml = buildN3(r, TEST_LAB_PROFILE, { version: '2024.01', profile: 'pro', effectiveTime: '20261126120000+0100', pdf: FAKE_PDF }).xml;
  expect(xml).toMatch(/<code code="4537-7" displayName="Vitesse de sédimentation" codeSystem="2\.16\.840\.1\.113883\.6\.1" codeSystemName="LOINC">[\s\S]*?<translation code="VS"/);
});

/**
 * The two lab mapping files: chapters (mappings/lab-chapters.yaml) and units
 * (mappings/units.yaml). They are configuration, so a bad file is reported the way channel
 * files are: ChannelConfigError with `file:line:column` for every problem.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ChannelConfigError, type ConfigProblem, loadYamlFile } from '../config/yaml-file';
import type { Coded, ResultCode } from './report';
import { LOINC_OID } from './hl7-fields';
import { loadCatalogue } from '../catalogue/catalogue-file';
import { loadLoincMap } from '../catalogue/loinc-file';
import type { Catalogue, LoincAssignment, LoincMap } from '../catalogue/types';

/** Chapter choice for a request (see chapterFor for the order of the rules). */
export interface ChapterMap {
  /** LOINC specialty code → French display. */
  readonly chapters: ReadonlyMap<string, string>;
  /** Chapter used when nothing else decides (26436-6 Examens de laboratoire). */
  readonly defaultChapter: string;
  /** OBR-24 diagnostic service section id (CH, HM, MB…), upper-case → chapter code. */
  readonly sections: ReadonlyMap<string, string>;
  /** Battery or test code (LOINC or local) → chapter code. */
  readonly codes: ReadonlyMap<string, string>;
}

/** The lab's catalogue and its LOINC transcoding (engine/catalogue), as the report builder uses them. */
export interface Transcoding {
  readonly catalogue: Catalogue;
  readonly loinc: LoincMap;
}

/** Unit as sent (OBX-6) → UCUM. */
export type UnitMap = ReadonlyMap<string, string>;

/** The default files: mappings/ at the repository root, from engine/lab or dist/engine/lab. */
export function defaultMappingFile(name: 'lab-chapters.yaml' | 'units.yaml' | 'catalogue.yaml' | 'loinc.yaml'): string {
  const candidates = [resolve(__dirname, '../../mappings', name), resolve(__dirname, '../../../mappings', name)];
  return candidates.find((f) => existsSync(f)) ?? candidates[0];
}

// YAML reads `18719-5` as a string but a bare number as a number: accept both, keep text.
const text = z.union([z.string(), z.number()]).transform((v) => String(v).trim()).pipe(z.string().min(1, 'must not be empty'));
const table = z.record(z.string(), text);

const chapterSchema = z.strictObject({
  default: text,
  chapters: table,
  sections: table.default({}),
  codes: table.default({}),
});

const unitSchema = z.strictObject({ units: table });

/** readFileSync errors (missing file) reported like every other problem of the file. */
function load<S extends z.ZodType>(file: string, schema: S): ReturnType<typeof loadYamlFile<S>> {
  try {
    return loadYamlFile(file, schema, {});
  } catch (e) {
    if (e instanceof ChannelConfigError) throw e;
    throw new ChannelConfigError([{ file, line: 1, column: 1, path: '', message: `cannot read: ${(e as Error).message}` }]);
  }
}

/**
 * Loads a chapter map (file:line errors, like channel files):
 * ```yaml
 * default: "26436-6"
 * chapters: { "18719-5": Biochimie, … }   # code → display
 * sections: { CH: "18719-5", … }          # OBR-24 → chapter
 * codes: { "24321-2": "18719-5", … }      # battery / test code → chapter
 * ```
 * Every chapter named by `default`, `sections` or `codes` must be listed under `chapters`.
 */
export function loadChapterMap(file: string = defaultMappingFile('lab-chapters.yaml')): ChapterMap {
  const loaded = load(file, chapterSchema);
  const v = loaded.value;
  const problems: ConfigProblem[] = [];
  const check = (path: (string | number)[], chapter: string): void => {
    if (!(chapter in v.chapters)) problems.push({ file, ...loaded.locate(path), path: path.join('.'), message: `chapter ${chapter} is not listed under "chapters"` });
  };
  check(['default'], v.default);
  for (const [k, c] of Object.entries(v.sections)) check(['sections', k], c);
  for (const [k, c] of Object.entries(v.codes)) check(['codes', k], c);
  if (problems.length > 0) throw new ChannelConfigError(problems);
  return Object.freeze({
    chapters: new Map(Object.entries(v.chapters)),
    defaultChapter: v.default,
    sections: new Map(Object.entries(v.sections).map(([k, c]) => [k.toUpperCase(), c])),
    codes: new Map(Object.entries(v.codes)),
  });
}

/** Loads a unit map: `units: { "mmol/l": mmol/L, … }` (see ucumFor for how keys are matched). */
export function loadUnitMap(file: string = defaultMappingFile('units.yaml')): UnitMap {
  return new Map(Object.entries(load(file, unitSchema).value.units));
}

/**
 * The chapter of a request. Rules, first that answers wins: the OBR-4 codes (LOINC, then
 * local) in `codes`; OBR-24 in `sections`; the first OBX code found in `codes`; `default`.
 * The lab's own code list wins over the sender's OBR-24 because it is the lab's decision.
 */
export function chapterFor(map: ChapterMap, requestCodes: string[], section: string, resultCodes: string[]): Coded {
  const pick = (code: string): Coded => ({ code, display: map.chapters.get(code), system: LOINC_OID, systemName: 'LN' });
  for (const c of requestCodes) {
    const hit = map.codes.get(c);
    if (hit) return pick(hit);
  }
  const bySection = section !== '' ? map.sections.get(section.toUpperCase()) : undefined;
  if (bySection) return pick(bySection);
  for (const c of resultCodes) {
    const hit = map.codes.get(c);
    if (hit) return pick(hit);
  }
  return pick(map.defaultChapter);
}

/**
 * UCUM for a unit as sent. A unit declared UCUM by the sender (OBX-6.3 `UCUM`) is kept as is;
 * otherwise the map decides: exact key, then after normalising micro signs (µ/μ → µ) and
 * spaces, then case-blind when every key that matches gives the same UCUM (`G/L` and `g/L`
 * are different units, so a case-blind `G/l`… hit is used only when it is unambiguous).
 */
export function ucumFor(units: UnitMap, unitText: string, declaredSystem: string): string | undefined {
  const text = unitText.trim();
  if (text === '') return undefined;
  if (declaredSystem.toUpperCase() === 'UCUM') return text;
  const exact = units.get(text);
  if (exact !== undefined) return exact;
  const norm = (s: string): string => s.replace(/μ/g, 'µ').replace(/\s+/g, '');
  const n = norm(text);
  const caseBlind = new Set<string>();
  for (const [k, v] of units) {
    if (norm(k) === n) return v;
    if (norm(k).toLowerCase() === n.toLowerCase()) caseBlind.add(v);
  }
  // `mmol/l` and `mmol/L` agree, so `MMOL/L` is safe; `g/L` and `G/L` do not, so `g/L` spelled otherwise is not.
  return caseBlind.size === 1 ? [...caseBlind][0] : undefined;
}

/** Loads a catalogue and its transcoding; default mappings/catalogue.yaml and mappings/loinc.yaml. */
export function loadTranscoding(catalogueFile: string = defaultMappingFile('catalogue.yaml'), loincFile: string = defaultMappingFile('loinc.yaml')): Transcoding {
  return { catalogue: loadCatalogue(catalogueFile), loinc: loadLoincMap(loincFile) };
}

/**
 * A result or request code with the lab's LOINC filled in: when the sender gave no LOINC and the
 * local code is in `table`, its LOINC (with the transcoding's label as display, else the text as
 * sent) joins the local code, which stays (the CDA carries it as the translation). A LOINC sent
 * in the message is kept even when the lab's table says otherwise: the sender knows which method
 * and unit produced that value, one local code may stand for several (GLY in g/L or mmol/L), and
 * changing the code of a validated result is not ours to do.
 */
export function transcodeCode(code: ResultCode, table: ReadonlyMap<string, LoincAssignment>): ResultCode {
  if (code.loinc || !code.local?.code) return code;
  const hit = table.get(code.local.code);
  if (!hit) return code;
  const loinc: Coded = { code: hit.loinc, system: LOINC_OID, systemName: 'LN' };
  const display = hit.label || code.local.display || code.text;
  if (display) loinc.display = display;
  return { ...code, loinc, transcoded: true };
}

/**
 * The chapter the catalogue gives a request: its OBR-4 local code is an exam of the catalogue
 * whose chapter has a LOINC in the transcoding. Only a chapter the chapter map lists is used (they
 * are the specialty codes the CR-BIO schematron accepts); otherwise undefined and chapterFor's rules decide.
 */
export function examChapter(t: Transcoding, map: ChapterMap, examCode: string | undefined): Coded | undefined {
  if (!examCode) return undefined;
  const exam = t.catalogue.exams.find((e) => e.code === examCode);
  const hit = exam?.chapter !== undefined ? t.loinc.chapters.get(exam.chapter) : undefined;
  if (!hit || !map.chapters.has(hit.loinc)) return undefined;
  return { code: hit.loinc, display: map.chapters.get(hit.loinc), system: LOINC_OID, systemName: 'LN' };
}

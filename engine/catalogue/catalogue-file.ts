/**
 * mappings/catalogue.yaml: the lab's chapters, orderable exams and result analyses (types.ts).
 * Configuration, so every problem is a ChannelConfigError line with `file:line:column`, like the
 * other mapping files (engine/lab/mappings.ts).
 *
 * ```yaml
 * chapters:
 *   - { code: BIOCH, label: Biochimie, subChapters: [{ code: PROT, label: Protéines }] }
 * exams:
 *   - { code: INFLAM, label: Bilan inflammatoire, chapter: BIOCH, specimen: Sérum, nabm: ["1804"], analyses: [CRP, VS] }
 * analyses:
 *   - { code: VS, label: Vitesse de sédimentation, unit: { code: mm/h, label: millimètres par heure }, time: Pt,
 *       system: { code: Bld, label: Sang }, scale: Qn, method: Westergren, nabm: [] }
 * ```
 */
import { z } from 'zod';
import { ChannelConfigError, type ConfigProblem, loadYamlFile } from '../config/yaml-file';
import type { Analysis, Catalogue, Chapter, Exam } from './types';

// YAML reads a bare number (a NABM code, a numeric local code) as a number: keep it as text.
const text = z.union([z.string(), z.number()]).transform((v) => String(v).trim()).pipe(z.string().min(1, 'must not be empty'));
const optText = z.union([z.string(), z.number(), z.null()]).optional().transform((v) => (v === null || v === undefined || String(v).trim() === '' ? undefined : String(v).trim()));
const codeLabel = z.strictObject({ code: text, label: text });
const nabm = z.array(text).default([]);

const subChapterSchema = z.strictObject({ code: text, label: text });
const chapterSchema = z.strictObject({ code: text, label: text, subChapters: z.array(subChapterSchema).default([]) });
const examSchema = z.strictObject({
  code: text,
  label: text,
  synonym: optText,
  chapter: optText,
  subChapter: optText,
  specimen: optText,
  nabm,
  analyses: z.array(text).default([]),
});
const analysisSchema = z.strictObject({
  code: text,
  label: text,
  synonym: optText,
  property: optText,
  unit: codeLabel.optional(),
  time: optText,
  system: codeLabel.optional(),
  scale: optText,
  method: optText,
  nabm,
});
const catalogueSchema = z.strictObject({
  chapters: z.array(chapterSchema).default([]),
  exams: z.array(examSchema).default([]),
  analyses: z.array(analysisSchema).default([]),
});

/** Drops the keys whose value is undefined (the model has optional fields, not undefined ones). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Loads and checks a catalogue: codes unique per kind, exams name chapters, sub-chapters and analyses that exist. */
export function loadCatalogue(file: string): Catalogue {
  let loaded: ReturnType<typeof loadYamlFile<typeof catalogueSchema>>;
  try {
    loaded = loadYamlFile(file, catalogueSchema, {});
  } catch (e) {
    if (e instanceof ChannelConfigError) throw e;
    throw new ChannelConfigError([{ file, line: 1, column: 1, path: '', message: `cannot read: ${(e as Error).message}` }]);
  }
  const v = loaded.value;
  const problems: ConfigProblem[] = [];
  const problem = (path: (string | number)[], message: string): void => void problems.push({ file, ...loaded.locate(path), path: path.join('.'), message });
  const unique = (list: readonly { code: string }[], key: string, what: string): void => {
    const seen = new Map<string, number>();
    list.forEach((item, i) => {
      const first = seen.get(item.code);
      if (first !== undefined) problem([key, i, 'code'], `${what} code ${item.code} is already used by ${key}.${first}`);
      else seen.set(item.code, i);
    });
  };
  unique(v.chapters, 'chapters', 'chapter');
  v.chapters.forEach((c, i) => unique(c.subChapters, `chapters.${i}.subChapters`, 'sub-chapter'));
  unique(v.exams, 'exams', 'exam');
  unique(v.analyses, 'analyses', 'analysis');

  const chapters = new Map(v.chapters.map((c) => [c.code, c]));
  const analyses = new Set(v.analyses.map((a) => a.code));
  v.exams.forEach((e, i) => {
    const chapter = e.chapter !== undefined ? chapters.get(e.chapter) : undefined;
    if (e.chapter !== undefined && !chapter) problem(['exams', i, 'chapter'], `chapter ${e.chapter} is not a chapter of the catalogue`);
    if (e.subChapter !== undefined) {
      if (e.chapter === undefined) problem(['exams', i, 'subChapter'], 'a sub-chapter needs its chapter');
      else if (chapter && !chapter.subChapters.some((s) => s.code === e.subChapter)) problem(['exams', i, 'subChapter'], `sub-chapter ${e.subChapter} is not a sub-chapter of ${e.chapter}`);
    }
    e.analyses.forEach((a, j) => {
      if (!analyses.has(a)) problem(['exams', i, 'analyses', j], `analysis ${a} is not an analysis of the catalogue`);
    });
    if (e.nabm.includes('HN') && e.nabm.length > 1) problem(['exams', i, 'nabm'], 'HN (hors nomenclature) cannot be given with NABM codes');
  });
  if (problems.length > 0) throw new ChannelConfigError(problems);

  return {
    chapters: v.chapters.map((c): Chapter => ({ code: c.code, label: c.label, subChapters: c.subChapters.map((s) => ({ ...s })) })),
    exams: v.exams.map((e): Exam => compact({ ...e, nabm: [...e.nabm], analyses: [...e.analyses] })),
    analyses: v.analyses.map((a): Analysis => compact({ ...a, nabm: [...a.nabm], unit: a.unit && { ...a.unit }, system: a.system && { ...a.system } })),
  };
}

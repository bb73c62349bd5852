/**
 * The catalogue read back from the four CodeSystems fhir-export.ts writes (chapters,
 * sub-chapters, exams, analyses). The resources are already valid FHIR R4 when they get here;
 * this checks what FHIR cannot: labels present and the references between kinds.
 */
import { type CodeSystem, type CodeSystemConcept, KIND_SLUG, KINDS, SYNONYM_USE } from './fhir-model';
import type { Analysis, Catalogue, Chapter, CodeLabel, Exam, LoincKind } from './types';

export interface CatalogueProblem {
  severity: 'blocking' | 'warning';
  /** Where in the input: `CodeSystem exams concept[3] (GLY)`. */
  where: string;
  message: string;
}

/** The kind of a catalogue CodeSystem (or ConceptMap group source) from its URL's last segment. */
export function kindOfSystemUrl(url: string | undefined): LoincKind | undefined {
  const m = /\/CodeSystem\/([^/|]+)(?:\|.*)?$/.exec(url ?? '');
  return m ? KINDS.find((k) => KIND_SLUG[k] === m[1]) : undefined;
}

const values = (c: CodeSystemConcept, code: string) => (c.property ?? []).filter((p) => p.code === code);
const str = (c: CodeSystemConcept, code: string): string | undefined => values(c, code).find((p) => p.valueString !== undefined)?.valueString;
const strs = (c: CodeSystemConcept, code: string): string[] => values(c, code).flatMap((p) => (p.valueString !== undefined ? [p.valueString] : []));
const codingOf = (c: CodeSystemConcept, code: string): CodeLabel | undefined => {
  const v = values(c, code).find((p) => p.valueCoding?.code !== undefined)?.valueCoding;
  return v?.code !== undefined ? { code: v.code, label: v.display ?? v.code } : undefined;
};
const synonymOf = (c: CodeSystemConcept): string | undefined =>
  (c.designation ?? []).find((d) => d.use?.system === SYNONYM_USE.system && d.use.code === SYNONYM_USE.code)?.value;

/** Drops the keys whose value is undefined (the model has optional fields, not undefined ones). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The catalogue, when the input has all four CodeSystems with content `complete`; undefined
 * (and a warning) when it has only some, since half a catalogue would drop the rest.
 */
export function catalogueFromCodeSystems(systems: readonly CodeSystem[], problems: CatalogueProblem[]): Catalogue | undefined {
  const byKind = new Map<LoincKind, CodeSystem>();
  for (const cs of systems) {
    const kind = kindOfSystemUrl(cs.url);
    if (!kind) continue;
    if (byKind.has(kind)) {
      problems.push({ severity: 'blocking', where: `CodeSystem ${cs.url}`, message: `a second CodeSystem for the ${KIND_SLUG[kind]}` });
      return undefined;
    }
    byKind.set(kind, cs);
  }
  if (byKind.size === 0) return undefined;
  const missing = KINDS.filter((k) => !byKind.has(k) || byKind.get(k)?.content !== 'complete');
  if (missing.length) {
    problems.push({
      severity: 'warning',
      where: 'Bundle',
      message: `catalogue not read: no complete CodeSystem for ${missing.map((k) => KIND_SLUG[k]).join(', ')} (the transcoding is still imported)`,
    });
    return undefined;
  }
  const before = problems.filter((p) => p.severity === 'blocking').length;
  const concepts = (kind: LoincKind): { c: CodeSystemConcept; where: string; label: string }[] =>
    (byKind.get(kind)?.concept ?? []).map((c, i) => {
      const where = `CodeSystem ${KIND_SLUG[kind]} concept[${i}] (${c.code})`;
      if (c.concept?.length) problems.push({ severity: 'warning', where, message: 'nested concepts are not part of the catalogue: ignored' });
      if (!c.display?.trim()) problems.push({ severity: 'blocking', where, message: 'no display: the label is required' });
      return { c, where, label: c.display?.trim() ?? '' };
    });

  const chapters = new Map<string, Chapter>();
  for (const { c, label } of concepts('chapters')) chapters.set(c.code, { code: c.code, label, subChapters: [] });
  for (const { c, where, label } of concepts('subChapters')) {
    const chapter = codingOf(c, 'chapter')?.code ?? c.code.split('/')[0];
    const local = str(c, 'localCode') ?? c.code.slice(chapter.length + 1);
    const parent = chapters.get(chapter);
    if (!parent || c.code !== `${chapter}/${local}`) {
      problems.push({ severity: 'blocking', where, message: `not "<chapter>/<sub-chapter>" of a chapter of the catalogue` });
      continue;
    }
    parent.subChapters.push({ code: local, label });
  }

  const analysisCodes = new Set((byKind.get('analyses')?.concept ?? []).map((c) => c.code));
  const exams = concepts('exams').map(({ c, where, label }): Exam => {
    const chapter = codingOf(c, 'chapter')?.code;
    const sub = codingOf(c, 'subChapter')?.code;
    let subChapter: string | undefined;
    if (chapter !== undefined && !chapters.has(chapter)) problems.push({ severity: 'blocking', where, message: `chapter ${chapter} is not a chapter of the catalogue` });
    if (sub !== undefined) {
      subChapter = chapter !== undefined && sub.startsWith(`${chapter}/`) ? sub.slice(chapter.length + 1) : undefined;
      if (subChapter === undefined || !chapters.get(chapter ?? '')?.subChapters.some((s) => s.code === subChapter)) {
        problems.push({ severity: 'blocking', where, message: `sub-chapter ${sub} is not a sub-chapter of the exam's chapter` });
      }
    }
    const analyses = values(c, 'analysis').flatMap((p) => (p.valueCoding?.code !== undefined ? [p.valueCoding.code] : []));
    for (const a of analyses) if (!analysisCodes.has(a)) problems.push({ severity: 'blocking', where, message: `analysis ${a} is not an analysis of the catalogue` });
    return compact({ code: c.code, label, synonym: synonymOf(c), chapter, subChapter, specimen: str(c, 'specimen'), nabm: strs(c, 'nabm'), analyses });
  });
  const analyses = concepts('analyses').map(
    ({ c, label }): Analysis =>
      compact({
        code: c.code,
        label,
        synonym: synonymOf(c),
        property: str(c, 'loincProperty'),
        unit: codingOf(c, 'unit'),
        time: str(c, 'timeAspect'),
        system: codingOf(c, 'loincSystem'),
        scale: str(c, 'scale'),
        method: str(c, 'method'),
        nabm: strs(c, 'nabm'),
      }),
  );
  if (problems.filter((p) => p.severity === 'blocking').length > before) return undefined;
  return { chapters: [...chapters.values()], exams, analyses };
}

/**
 * The FHIR import (SGL.LOI.10): a Bundle written by fhir-export.ts (or any Bundle holding such a
 * ConceptMap), or a ConceptMap alone, read back into the transcoding, and into the catalogue when
 * its four CodeSystems are there. Same report and same rules as the CSV import (csv-import.ts):
 *  - blocking: the input is not valid FHIR R4 (the validator's path and message for each issue);
 *    several LOINC codes for one local code (SGL.LOI.07), in one element or over several; a
 *    malformed LOINC code; a group whose source is not one of the catalogue's CodeSystems;
 *    assignment dates that are not YYYY-MM-DD or out of order;
 *  - warning (imported): a LOINC code absent from the "circuit de la biologie" value set;
 *    a target whose equivalence is not `equivalent` / `equal` (the code is taken all the same);
 *  - warning (skipped): a local code the catalogue does not have; a group to another code system;
 *    a `disjoint` target (it says what the code is not).
 * Dates (SGL.LOI.09): a target carrying our dates extension keeps them (a round trip loses
 * nothing); one without gets the CSV import's rules (loinc-file.ts assign) with the import day.
 */
import type { ImportChange, ImportProblem, ImportReport } from './csv-import';
import { catalogueFromCodeSystems, kindOfSystemUrl } from './fhir-catalogue';
import { ASSIGNMENT_DATES_URL, type CodeSystem, type ConceptMap, type ConceptMapTarget, KIND_SLUG, LOINC_SYSTEM } from './fhir-model';
import { validateFhir } from './fhir-validate';
import { assign, copyLoincMap, emptyLoincMap } from './loinc-file';
import { loincCodeProblem } from './loinc-code';
import type { Catalogue, LoincAssignment, LoincKind, LoincMap } from './types';
import type { LoincValueSet } from './value-set';

export interface FhirImportOptions {
  /** Name shown in the report. */
  file: string;
  /** The catalogue local codes are checked against; without it, the Bundle's own (if any). */
  catalogue?: Catalogue;
  /** The transcoding before the import (empty when not given). */
  current?: LoincMap;
  valueSet?: LoincValueSet;
  /** Import date YYYY-MM-DD, for assignments that come without dates. */
  day: string;
}

export interface FhirImportReport extends ImportReport {
  /** The catalogue the Bundle's CodeSystems describe, when all four are there and the import is accepted. */
  catalogue?: Catalogue;
}

interface Proposal {
  loinc: string;
  label?: string;
  dates?: { created: string; modified: string };
  where: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The dates extension of a target: undefined when absent, a string when it is there but wrong. */
function datesOf(t: ConceptMapTarget): { created: string; modified: string } | string | undefined {
  const ext = t.extension?.find((e) => e.url === ASSIGNMENT_DATES_URL);
  if (!ext) return undefined;
  const created = ext.extension?.find((e) => e.url === 'created')?.valueDate;
  const modified = ext.extension?.find((e) => e.url === 'modified')?.valueDate;
  if (!created || !modified || !DAY.test(created) || !DAY.test(modified)) return 'the created / modified dates must both be full dates YYYY-MM-DD';
  if (modified < created) return `modified ${modified} is before created ${created}`;
  return { created, modified };
}

function parse(input: string | Buffer | object): { json?: Record<string, unknown>; error?: string } {
  if (typeof input === 'object' && !Buffer.isBuffer(input)) return { json: input as Record<string, unknown> };
  const text = (Buffer.isBuffer(input) ? input.toString('utf8') : input).replace(/^\uFEFF/, '');
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object' && !Array.isArray(json)) return { json: json as Record<string, unknown> };
    return { error: 'the JSON is not an object' };
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
}

/** Reads a FHIR Bundle or ConceptMap (JSON text, bytes or parsed) into the transcoding; refuses the whole of it on any blocking problem. */
export function importCatalogueFhir(input: string | Buffer | object, opts: FhirImportOptions): FhirImportReport {
  const current = opts.current ?? emptyLoincMap();
  const problems: ImportProblem[] = [];
  const report: FhirImportReport = { accepted: false, day: opts.day, files: [{ file: opts.file, lines: 0 }], problems, changes: [], map: current };
  if (opts.valueSet) report.valueSet = opts.valueSet.source;
  const at = (severity: ImportProblem['severity'], where: string, message: string): void => void problems.push({ severity, file: opts.file, message: `${where}: ${message}` });

  const { json, error } = parse(input);
  if (!json) {
    at('blocking', '(file)', error ?? 'unreadable');
    return report;
  }
  if (json.resourceType !== 'Bundle' && json.resourceType !== 'ConceptMap') {
    at('blocking', String(json.resourceType ?? '(root)'), 'a FHIR Bundle or ConceptMap is expected');
    return report;
  }
  const issues = validateFhir(json);
  for (const i of issues) at(i.severity === 'error' ? 'blocking' : 'warning', i.path, `${i.severity === 'error' ? 'not valid' : 'warning from'} FHIR R4: ${i.message}`);
  if (problems.some((p) => p.severity === 'blocking')) return report;

  const resources: { resourceType: string }[] =
    json.resourceType === 'Bundle' ? ((json.entry as { resource?: { resourceType: string } }[] | undefined) ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) : [json as never];
  const maps = resources.filter((r): r is ConceptMap => r.resourceType === 'ConceptMap');
  if (maps.length === 0) at('blocking', 'Bundle', 'no ConceptMap: there is no transcoding to import');

  const catalogueProblems: { severity: 'blocking' | 'warning'; where: string; message: string }[] = [];
  const systems = resources.filter((r): r is CodeSystem => r.resourceType === 'CodeSystem');
  const bundleCatalogue = catalogueFromCodeSystems(systems, catalogueProblems);
  for (const p of catalogueProblems) at(p.severity, p.where, p.message);

  const catalogue = opts.catalogue ?? bundleCatalogue;
  const known: Record<LoincKind, ReadonlySet<string>> | undefined = catalogue && {
    chapters: new Set(catalogue.chapters.map((c) => c.code)),
    subChapters: new Set(catalogue.chapters.flatMap((c) => c.subChapters.map((s) => `${c.code}/${s.code}`))),
    exams: new Set(catalogue.exams.map((e) => e.code)),
    analyses: new Set(catalogue.analyses.map((a) => a.code)),
  };
  if (!known) at('warning', '(catalogue)', 'none given and the input has no complete CodeSystems: local codes taken unchecked');

  const proposals: Record<LoincKind, Map<string, Proposal[]>> = { chapters: new Map(), subChapters: new Map(), exams: new Map(), analyses: new Map() };
  let elements = 0;
  maps.forEach((cm, m) => {
    const cmWhere = json.resourceType === 'Bundle' ? `ConceptMap ${cm.url ?? `#${m}`}` : 'ConceptMap';
    (cm.group ?? []).forEach((g, gi) => {
      const gWhere = `${cmWhere} group[${gi}]`;
      if (g.target !== LOINC_SYSTEM) return at('warning', gWhere, `target ${g.target ?? '(none)'} is not LOINC (${LOINC_SYSTEM}): group skipped`);
      const kind = kindOfSystemUrl(g.source);
      if (!kind) {
        return at('blocking', gWhere, `source ${g.source ?? '(none)'} is not a catalogue CodeSystem (its URL ends in /CodeSystem/${Object.values(KIND_SLUG).join('|')})`);
      }
      g.element.forEach((el, ei) => {
        elements++;
        const where = `${gWhere}.element[${ei}] (${el.code ?? ''})`;
        const local = el.code?.trim();
        if (!local) return at('blocking', where, 'no local code');
        const targets = (el.target ?? []).filter((t) => {
          if (t.equivalence === 'unmatched') return false;
          if (t.equivalence === 'disjoint') return void at('warning', where, `LOINC ${t.code ?? ''} is disjoint (not a match): skipped`);
          return t.code !== undefined && t.code.trim() !== '';
        });
        if (targets.length === 0) return;
        if (known && !known[kind].has(local)) return at('warning', where, `${KIND_SLUG[kind]} ${local} is not in the catalogue: skipped`);
        const codes = [...new Set(targets.map((t) => t.code!.trim()))];
        if (codes.length > 1) return at('blocking', where, `${local}: several LOINC codes (${codes.join(', ')}); one local code takes one LOINC code`);
        const bad = loincCodeProblem(codes[0]);
        if (bad) return at('blocking', where, `${local}: ${bad}`);
        for (const t of targets) {
          if (t.equivalence !== 'equivalent' && t.equivalence !== 'equal') at('warning', where, `${local} → ${codes[0]} is mapped as "${t.equivalence}", imported as its LOINC code`);
        }
        if (opts.valueSet && (kind === 'exams' || kind === 'analyses') && !opts.valueSet.codes.has(codes[0])) {
          at('warning', where, `${local}: LOINC ${codes[0]} is not in the "circuit de la biologie" value set (imported)`);
        }
        const dates = datesOf(targets[0]);
        if (typeof dates === 'string') return at('blocking', where, dates);
        const list = proposals[kind].get(local) ?? [];
        list.push({ loinc: codes[0], label: targets.find((t) => t.display?.trim())?.display?.trim(), dates, where });
        proposals[kind].set(local, list);
      });
    });
  });
  report.files[0].lines = elements;

  // The same local code in several elements (or groups, or ConceptMaps) with different codes.
  for (const [kind, table] of Object.entries(proposals) as [LoincKind, Map<string, Proposal[]>][]) {
    for (const [local, list] of table) {
      const codes = [...new Set(list.map((p) => p.loinc))];
      if (codes.length < 2) continue;
      const where = list.map((p) => `${p.where} → ${p.loinc}`).join(', ');
      at('blocking', list[0].where, `${KIND_SLUG[kind]} ${local}: several LOINC codes in different elements: ${where}`);
    }
  }

  if (problems.some((p) => p.severity === 'blocking')) return report;
  const next = copyLoincMap(current);
  for (const [kind, table] of Object.entries(proposals) as [LoincKind, Map<string, Proposal[]>][]) {
    for (const [local, list] of table) {
      const p = list.find((x) => x.dates) ?? list[0];
      const label = list.find((x) => x.label)?.label;
      const previous = next[kind].get(local);
      let change: ImportChange;
      if (p.dates) {
        const a: LoincAssignment = { loinc: p.loinc, created: p.dates.created, modified: p.dates.modified, ...(label ? { label } : {}) };
        next[kind].set(local, a);
        change = { kind, local, loinc: p.loinc, action: !previous ? 'added' : previous.loinc === p.loinc ? 'unchanged' : 'changed' };
      } else {
        change = { kind, local, loinc: p.loinc, action: assign(next[kind], local, p.loinc, label, opts.day).action };
      }
      if (change.action === 'changed' && previous) change.previous = previous.loinc;
      report.changes.push(change);
    }
  }
  report.accepted = true;
  report.map = next;
  if (bundleCatalogue) report.catalogue = bundleCatalogue;
  return report;
}

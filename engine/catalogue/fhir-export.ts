/**
 * The catalogue and its LOINC transcoding as FHIR R4 resources (SGL.LOI.10), in one Bundle of
 * type collection: a CodeSystem per kind of local code (fhir-model.ts says why not one), a
 * ValueSet of the orderable exams and one of the result analyses, and a ConceptMap local → LOINC.
 * Every resource is validated (fhir-validate.ts) before the Bundle is handed back.
 */
import { PasserelleError } from '../errors';
import {
  ASSIGNMENT_DATES_URL,
  type Bundle,
  catalogueUrls,
  type CatalogueUrls,
  type CodeSystem,
  type CodeSystemConcept,
  type ConceptMap,
  type ConceptMapGroup,
  type ConceptMapTarget,
  type ConceptProperty,
  KIND_SLUG,
  KINDS,
  LOINC_COPYRIGHT,
  LOINC_SYSTEM,
  SYNONYM_USE,
  type ValueSet,
} from './fhir-model';
import { errorsOf, formatIssues, validateFhir } from './fhir-validate';
import type { Catalogue, LoincAssignment, LoincKind, LoincMap } from './types';

export interface FhirExportOptions {
  /** Absolute http(s) URL the canonical URLs are built under (https://labo.example.fr/fhir). */
  base?: string;
  /** Lab name, for `publisher` and the titles. */
  publisher?: string;
  /** Business version of the resources (e.g. the export date), when the lab keeps one. */
  version?: string;
  /** Clock, for tests: gives `date` (YYYY-MM-DD) and the Bundle timestamp. */
  now?: Date;
}

const TITLES: Record<LoincKind, string> = {
  chapters: 'Chapitres',
  subChapters: 'Sous-chapitres',
  exams: 'Examens (demandes)',
  analyses: 'Analyses (résultats)',
};

const NAMES: Record<LoincKind, string> = {
  chapters: 'CatalogueChapters',
  subChapters: 'CatalogueSubChapters',
  exams: 'CatalogueExams',
  analyses: 'CatalogueAnalyses',
};

/** The properties each kind's CodeSystem declares; their values are set in conceptsOf. */
function propertiesOf(kind: LoincKind, urls: CatalogueUrls): NonNullable<CodeSystem['property']> {
  const chapter = { code: 'chapter', type: 'Coding', description: `Chapter of the catalogue (${urls.codeSystem.chapters})` };
  switch (kind) {
    case 'chapters':
      return [];
    case 'subChapters':
      return [chapter, { code: 'localCode', type: 'string', description: 'Sub-chapter code as the lab writes it (the concept code is <chapter>/<sub-chapter>)' }];
    case 'exams':
      return [
        chapter,
        { code: 'subChapter', type: 'Coding', description: `Sub-chapter (${urls.codeSystem.subChapters})` },
        { code: 'specimen', type: 'string', description: 'Specimen / milieu as the lab names it' },
        { code: 'nabm', type: 'string', description: 'NABM act code, or HN outside the nomenclature; repeats' },
        { code: 'analysis', type: 'Coding', description: `Result analysis the exam gives (${urls.codeSystem.analyses}); repeats, in order` },
      ];
    case 'analyses':
      return [
        { code: 'loincProperty', type: 'string', description: 'LOINC property axis (MCnc, SCnc, ACnc, Titr, Prid…)' },
        { code: 'unit', type: 'Coding', description: 'Main unit: code as OBX-6 carries it, label' },
        { code: 'timeAspect', type: 'string', description: 'LOINC time axis (Pt, 24H…)' },
        { code: 'loincSystem', type: 'Coding', description: 'LOINC system axis (Ser/Plas, Bld, Urine…) with its label' },
        { code: 'scale', type: 'string', description: 'LOINC scale (Qn, Ord, Nom, Nar…)' },
        { code: 'method', type: 'string', description: 'LOINC method axis' },
        { code: 'nabm', type: 'string', description: 'NABM act code, or HN outside the nomenclature; repeats' },
      ];
  }
}

function concept(code: string, label: string, synonym: string | undefined, property: ConceptProperty[]): CodeSystemConcept {
  const c: CodeSystemConcept = { code, display: label };
  if (synonym) c.designation = [{ language: 'fr-FR', use: { ...SYNONYM_USE }, value: synonym }];
  if (property.length) c.property = property;
  return c;
}

const str = (code: string, value: string | undefined): ConceptProperty[] => (value ? [{ code, valueString: value }] : []);
const coding = (code: string, system: string | undefined, value: { code: string; label?: string } | undefined): ConceptProperty[] =>
  value ? [{ code, valueCoding: { ...(system ? { system } : {}), code: value.code, ...(value.label ? { display: value.label } : {}) } }] : [];

function conceptsOf(kind: LoincKind, catalogue: Catalogue, urls: CatalogueUrls): CodeSystemConcept[] {
  const chapterLabel = new Map(catalogue.chapters.map((c) => [c.code, c.label]));
  const analysisLabel = new Map(catalogue.analyses.map((a) => [a.code, a.label]));
  switch (kind) {
    case 'chapters':
      return catalogue.chapters.map((c) => concept(c.code, c.label, undefined, []));
    case 'subChapters':
      return catalogue.chapters.flatMap((c) =>
        c.subChapters.map((s) =>
          concept(`${c.code}/${s.code}`, s.label, undefined, [...coding('chapter', urls.codeSystem.chapters, { code: c.code, label: c.label }), ...str('localCode', s.code)]),
        ),
      );
    case 'exams':
      return catalogue.exams.map((e) =>
        concept(e.code, e.label, e.synonym, [
          ...coding('chapter', urls.codeSystem.chapters, e.chapter ? { code: e.chapter, label: chapterLabel.get(e.chapter) } : undefined),
          ...coding('subChapter', urls.codeSystem.subChapters, e.chapter && e.subChapter ? { code: `${e.chapter}/${e.subChapter}` } : undefined),
          ...str('specimen', e.specimen),
          ...e.nabm.flatMap((n) => str('nabm', n)),
          ...e.analyses.flatMap((a) => coding('analysis', urls.codeSystem.analyses, { code: a, label: analysisLabel.get(a) })),
        ]),
      );
    case 'analyses':
      return catalogue.analyses.map((a) =>
        concept(a.code, a.label, a.synonym, [
          ...str('loincProperty', a.property),
          ...coding('unit', undefined, a.unit),
          ...str('timeAspect', a.time),
          ...coding('loincSystem', undefined, a.system),
          ...str('scale', a.scale),
          ...str('method', a.method),
          ...a.nabm.flatMap((n) => str('nabm', n)),
        ]),
      );
  }
}

/** The label the catalogue gives a local code of a kind, for ConceptMap element.display. */
function labelsOf(kind: LoincKind, catalogue: Catalogue): Map<string, string> {
  switch (kind) {
    case 'chapters':
      return new Map(catalogue.chapters.map((c) => [c.code, c.label]));
    case 'subChapters':
      return new Map(catalogue.chapters.flatMap((c) => c.subChapters.map((s) => [`${c.code}/${s.code}`, s.label] as const)));
    case 'exams':
      return new Map(catalogue.exams.map((e) => [e.code, e.label]));
    case 'analyses':
      return new Map(catalogue.analyses.map((a) => [a.code, a.label]));
  }
}

function targetsOf(a: LoincAssignment): ConceptMapTarget[] {
  return [
    {
      code: a.loinc,
      ...(a.label ? { display: a.label } : {}),
      equivalence: 'equivalent',
      extension: [{ url: ASSIGNMENT_DATES_URL, extension: [{ url: 'created', valueDate: a.created }, { url: 'modified', valueDate: a.modified }] }],
    },
  ];
}

function conceptMapOf(catalogue: Catalogue, map: LoincMap, urls: CatalogueUrls, common: Common): ConceptMap {
  const group: ConceptMapGroup[] = [];
  for (const kind of KINDS) {
    if (map[kind].size === 0) continue;
    const labels = labelsOf(kind, catalogue);
    group.push({
      source: urls.codeSystem[kind],
      target: LOINC_SYSTEM,
      element: [...map[kind]].map(([code, a]) => ({ code, ...(labels.has(code) ? { display: labels.get(code) } : {}), target: targetsOf(a) })),
    });
  }
  return {
    resourceType: 'ConceptMap',
    id: 'loinc',
    url: urls.conceptMap,
    ...common.version,
    name: 'CatalogueToLoinc',
    title: `${common.titlePrefix}Transcodage LOINC`,
    status: 'active',
    date: common.date,
    ...common.publisher,
    copyright: LOINC_COPYRIGHT,
    // All of LOINC, the implicit value set hl7.org/fhir/loinc.html defines.
    targetUri: 'http://loinc.org/vs',
    ...(group.length ? { group } : {}),
  };
}

interface Common {
  date: string;
  titlePrefix: string;
  version: { version?: string };
  publisher: { publisher?: string };
}

/**
 * The Bundle (collection) of the catalogue's CodeSystems, its two ValueSets and the ConceptMap to
 * LOINC. Throws PSL_CONFIG_INVALID with the validator's messages if a resource is not valid FHIR
 * R4 (a duplicated code in the catalogue, say), so nothing invalid is ever written.
 */
export function exportCatalogueFhir(catalogue: Catalogue, map: LoincMap, opts: FhirExportOptions = {}): Bundle {
  const urls = catalogueUrls(opts.base);
  const now = opts.now ?? new Date();
  const common: Common = {
    date: now.toISOString().slice(0, 10),
    titlePrefix: opts.publisher ? `${opts.publisher} — ` : '',
    version: opts.version ? { version: opts.version } : {},
    publisher: opts.publisher ? { publisher: opts.publisher } : {},
  };
  const codeSystems = KINDS.map((kind): CodeSystem => {
    const concepts = conceptsOf(kind, catalogue, urls);
    const properties = propertiesOf(kind, urls);
    const valueSet = kind === 'exams' ? urls.orderableExams : kind === 'analyses' ? urls.resultAnalyses : undefined;
    return {
      resourceType: 'CodeSystem',
      id: KIND_SLUG[kind],
      url: urls.codeSystem[kind],
      ...common.version,
      name: NAMES[kind],
      title: `${common.titlePrefix}${TITLES[kind]}`,
      status: 'active',
      date: common.date,
      ...common.publisher,
      language: 'fr-FR',
      caseSensitive: true,
      ...(valueSet ? { valueSet } : {}),
      content: 'complete',
      count: concepts.length,
      ...(properties.length ? { property: properties } : {}),
      ...(concepts.length ? { concept: concepts } : {}),
    };
  });
  const valueSet = (id: string, url: string, name: string, title: string, system: string): ValueSet => ({
    resourceType: 'ValueSet',
    id,
    url,
    ...common.version,
    name,
    title: `${common.titlePrefix}${title}`,
    status: 'active',
    date: common.date,
    ...common.publisher,
    compose: { include: [{ system }] },
  });
  const resources = [
    ...codeSystems,
    valueSet('orderable-exams', urls.orderableExams, 'OrderableExams', 'Examens demandables', urls.codeSystem.exams),
    valueSet('result-analyses', urls.resultAnalyses, 'ResultAnalyses', 'Analyses de résultat', urls.codeSystem.analyses),
    conceptMapOf(catalogue, map, urls, common),
  ];
  for (const r of resources) {
    const errors = errorsOf(validateFhir(r));
    if (errors.length) {
      throw new PasserelleError('PSL_CONFIG_INVALID', `the FHIR ${r.resourceType} ${r.url} is not valid FHIR R4:\n${formatIssues(errors)}`, {
        details: { resource: r.url, issues: errors },
      });
    }
  }
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: now.toISOString(),
    entry: resources.map((r) => ({ fullUrl: r.url, resource: r })),
  };
}

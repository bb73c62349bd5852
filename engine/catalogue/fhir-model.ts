/**
 * The FHIR R4 form of the catalogue and its LOINC transcoding (SGL.LOI.10): the few resource
 * shapes we write and read, and the names (canonical URLs, property codes) both directions share.
 *
 * One CodeSystem per kind (chapters, sub-chapters, exams, analyses), not one for all: a code
 * system's codes must be unique (invariant csd-1) and labs commonly give an exam and its only
 * analysis the same code (GLY / GLY), while sub-chapter codes repeat across chapters. One system
 * per kind also matches what messages carry: OBR-4 holds exam codes, OBX-3 analysis codes.
 */
import { PasserelleError } from '../errors';
import type { LoincKind } from './types';

export const LOINC_SYSTEM = 'http://loinc.org';

/**
 * Where the created / modified dates of a LOINC assignment (LOI.09) ride on a ConceptMap target.
 * An extension rather than target.comment: typed dates the validator checks, read back without
 * parsing prose, and comment stays free for the provider's words. A fixed URL, not the lab's base,
 * so that any Passerelle reads any other's export.
 */
export const ASSIGNMENT_DATES_URL = 'urn:passerelle:fhir:extension:loinc-assignment-dates';

/** LOINC's terms of use ask for this notice on any resource that carries LOINC codes (hl7.org/fhir/loinc.html). */
export const LOINC_COPYRIGHT =
  'This resource includes LOINC® codes (http://loinc.org), copyright © Regenstrief Institute, Inc. and the LOINC Committee, used under the LOINC license (http://loinc.org/license).';

/** SNOMED CT "Synonym" designation use, the usual way to mark a synonym in CodeSystem.concept.designation. */
export const SYNONYM_USE = { system: 'http://snomed.info/sct', code: '900000000000013009', display: 'Synonym' } as const;

/** Used when the caller gives no base: `.invalid` is reserved (RFC 2606), so it is plainly "not set". */
export const DEFAULT_FHIR_BASE = 'https://passerelle.invalid/fhir';

/** The path segment of each kind's CodeSystem (and of the ValueSets). */
export const KIND_SLUG: Record<LoincKind, string> = {
  chapters: 'chapters',
  subChapters: 'sub-chapters',
  exams: 'exams',
  analyses: 'analyses',
};

export const KINDS: readonly LoincKind[] = ['chapters', 'subChapters', 'exams', 'analyses'];

/** The canonical URLs of one catalogue's resources, under the lab's base. */
export interface CatalogueUrls {
  codeSystem: Record<LoincKind, string>;
  orderableExams: string;
  resultAnalyses: string;
  conceptMap: string;
}

/** Checks the base is an absolute http(s) URL (canonical URLs must be absolute) and builds the URLs. */
export function catalogueUrls(base: string = DEFAULT_FHIR_BASE): CatalogueUrls {
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new PasserelleError('PSL_CONFIG_INVALID', `FHIR base "${base}" is not an absolute URL (https://labo.example.fr/fhir)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new PasserelleError('PSL_CONFIG_INVALID', `FHIR base "${base}" must be an http(s) URL`);
  }
  const b = base.replace(/\/+$/, '');
  const codeSystem = Object.fromEntries(KINDS.map((k) => [k, `${b}/CodeSystem/${KIND_SLUG[k]}`])) as Record<LoincKind, string>;
  return {
    codeSystem,
    orderableExams: `${b}/ValueSet/orderable-exams`,
    resultAnalyses: `${b}/ValueSet/result-analyses`,
    conceptMap: `${b}/ConceptMap/loinc`,
  };
}

// ---- the resource shapes we use (a subset of R4; the validator checks the rest) ----

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export interface Extension {
  url: string;
  valueDate?: string;
  extension?: Extension[];
}

export interface ConceptProperty {
  code: string;
  valueCode?: string;
  valueCoding?: Coding;
  valueString?: string;
}

export interface CodeSystemConcept {
  code: string;
  display?: string;
  designation?: { language?: string; use?: Coding; value: string }[];
  property?: ConceptProperty[];
  concept?: CodeSystemConcept[];
}

/** The metadata every FHIR canonical resource we write carries (R4 "CanonicalResource" pattern). */
export interface CanonicalResource {
  id?: string;
  url?: string;
  version?: string;
  name?: string;
  title?: string;
  status: string;
  date?: string;
  publisher?: string;
}

export interface CodeSystem extends CanonicalResource {
  resourceType: 'CodeSystem';
  language?: string;
  caseSensitive?: boolean;
  valueSet?: string;
  content: string;
  count?: number;
  property?: { code: string; uri?: string; description?: string; type: string }[];
  concept?: CodeSystemConcept[];
}

export interface ValueSet extends CanonicalResource {
  resourceType: 'ValueSet';
  compose?: { include: { system?: string; concept?: { code: string; display?: string }[] }[] };
}

export interface ConceptMapTarget {
  code?: string;
  display?: string;
  equivalence: string;
  comment?: string;
  extension?: Extension[];
}

export interface ConceptMapElement {
  code?: string;
  display?: string;
  target?: ConceptMapTarget[];
}

export interface ConceptMapGroup {
  source?: string;
  target?: string;
  element: ConceptMapElement[];
}

export interface ConceptMap extends CanonicalResource {
  resourceType: 'ConceptMap';
  copyright?: string;
  sourceCanonical?: string;
  targetUri?: string;
  group?: ConceptMapGroup[];
}

export type CatalogueResource = CodeSystem | ValueSet | ConceptMap;

export interface Bundle {
  resourceType: 'Bundle';
  id?: string;
  type: string;
  timestamp?: string;
  entry?: { fullUrl?: string; resource?: { resourceType: string } }[];
}

/**
 * The lab's exam catalogue and its LOINC transcoding (issue 11; ../shared/docs/segur-requirements.md §9,
 * SGL.LOI.01–10). Two files, because they have two owners:
 *
 *  - the catalogue (mappings/catalogue.yaml): what the lab does — chapters, orderable exams and
 *    result analyses with their local codes, units, specimen, NABM. Written by the lab (or its LIS).
 *  - the transcoding (mappings/loinc.yaml): local code → LOINC, with the date each code was set and
 *    last changed (LOI.09). Written by `passerelle loinc import` from the provider's LOINC_4/5/6 files
 *    (or the FHIR ConceptMap), and by hand (LOI.08).
 *
 * The CR-BIO builder reads both (engine/lab): results and requests get their LOINC code and display
 * name from the transcoding, sections their chapter code.
 */

/** A coded value with its label, as the DSR columns pair them (unit, system). */
export interface CodeLabel {
  code: string;
  label: string;
}

/** A sub-chapter of a chapter (LOINC_1: sub-chapter code and label are optional). */
export interface SubChapter {
  code: string;
  label: string;
}

/** A chapter of the catalogue (LOINC_1). The code is required here: exams name their chapter by it. */
export interface Chapter {
  code: string;
  label: string;
  subChapters: SubChapter[];
}

/** An orderable exam (LOINC_2): one DSR line per analysis it gives. */
export interface Exam {
  code: string;
  label: string;
  synonym?: string;
  /** Chapter code (must be a chapter of the catalogue). */
  chapter?: string;
  /** Sub-chapter code (must be a sub-chapter of `chapter`). */
  subChapter?: string;
  /** Specimen / milieu as the lab names it (Sérum, Sang total, Urines…). */
  specimen?: string;
  /** NABM act codes, or ['HN'] for an exam outside the nomenclature. */
  nabm: string[];
  /** Codes of the result analyses it gives (each must be an analysis of the catalogue). */
  analyses: string[];
}

/** A result analysis (LOINC_3), described along the LOINC axes the provider transcodes from. */
export interface Analysis {
  code: string;
  label: string;
  synonym?: string;
  /** LOINC property (MCnc, SCnc, ACnc, Titr, Prid…). */
  property?: string;
  /** Main unit (code is what OBX-6 carries). */
  unit?: CodeLabel;
  /** Time aspect (Pt, 24H…). */
  time?: string;
  /** System (Ser/Plas, Bld, Urine…). */
  system?: CodeLabel;
  /** Scale (Qn, Ord, Nom, Nar…). */
  scale?: string;
  method?: string;
  /** NABM act codes, or ['HN']. */
  nabm: string[];
}

export interface Catalogue {
  chapters: Chapter[];
  exams: Exam[];
  analyses: Analysis[];
}

/** A LOINC code given to a local code (LOI.09: when it was first set and last changed, ISO dates YYYY-MM-DD). */
export interface LoincAssignment {
  loinc: string;
  label?: string;
  created: string;
  modified: string;
}

/**
 * The transcoding: local code → LOINC, per kind. Sub-chapters are keyed `<chapter>/<sub-chapter>`
 * (sub-chapter codes need not be unique across chapters).
 */
export interface LoincMap {
  chapters: ReadonlyMap<string, LoincAssignment>;
  subChapters: ReadonlyMap<string, LoincAssignment>;
  exams: ReadonlyMap<string, LoincAssignment>;
  analyses: ReadonlyMap<string, LoincAssignment>;
}

export type LoincKind = keyof LoincMap;

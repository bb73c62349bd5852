/**
 * Code systems and the small code mappings the CR-BIO needs. Values come from the CI-SIS value
 * sets shipped in shared/ans/jeuxDeValeurs (JDV_HL7_ObservationInterpretation_CISIS,
 * JDV_J143_AdministrativeGender_CISIS, JDV_HL7_SpecimenType_CISIS…); anything outside a set is
 * dropped from the structured part (the narrative still shows what was sent).
 */
import type { Coded, ResultStatus } from '../lab/report';

export const OID = {
  LOINC: '2.16.840.1.113883.6.1',
  SNOMED: '2.16.840.1.113883.6.96',
  UCUM: '2.16.840.1.113883.6.8',
  INTERPRETATION: '2.16.840.1.113883.5.83',
  GENDER: '2.16.840.1.113883.5.1',
  CONFIDENTIALITY: '2.16.840.1.113883.5.25',
  ACT_CODE: '2.16.840.1.113883.5.4',
  /** HL7 table 0487 specimen types (JDV_HL7_SpecimenType_CISIS). */
  SPECIMEN_TYPE: '2.16.840.1.113883.18.311',
  /** IHE ActCode, as the SPRECEIVE examples write it (sic, 1.3.5…). */
  IHE_ACT_CODE: '1.3.5.1.4.1.19376.1.5.3.2',
  RPPS: '1.2.250.1.71.4.2.1',
  FINESS_LIKE: '1.2.250.1.71.4.2.2',
  COFRAC: '1.2.250.1.213.6.3.1',
  /** The four INS roots: NIR, NIA, test NIR, test NIA. Never written for a non-qualified identity. */
  INS_ROOTS: ['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11'],
  /** TRE_R85 "rôle fonctionnel" system used by the example device author (JDV_J01 DISPOSITIF). */
  AUTHOR_ROLE: '1.2.250.1.213.1.1.4.6',
} as const;

/** HL7 v2 coding-system names that mean LOINC / SNOMED CT when no OID was resolved. */
const SYSTEM_NAMES: Record<string, string> = { LN: OID.LOINC, LOINC: OID.LOINC, SCT: OID.SNOMED, SNM: OID.SNOMED, SNOMED: OID.SNOMED, UCUM: OID.UCUM };

export function systemOf(c: Coded | undefined): string | undefined {
  if (!c) return undefined;
  if (c.system) return c.system;
  return c.systemName ? SYSTEM_NAMES[c.systemName.toUpperCase()] : undefined;
}

export function isLoinc(c: Coded | undefined): c is Coded {
  return !!c && !!c.code && systemOf(c) === OID.LOINC;
}

/** Displays of JDV_HL7_ObservationInterpretation_CISIS (2.16.840.1.113883.1.11.78). */
export const INTERPRETATION_DISPLAY: Record<string, string> = {
  '<': 'Inférieur à la limite de détection', '>': 'Supérieur à la limite maximale de mesure',
  A: 'Anormal', AA: 'Très anormal, alerte', B: 'Amélioration', CAR: "Porteur d'une forme altérée d'un gène",
  D: 'Diminution significative par rapport au résultat antérieur', DET: 'Détecté', E: 'Équivoque',
  EX: 'Hors seuils', EXP: 'Attendu', H: 'Anormalement haut', HH: 'Très anormalement haut, alerte',
  HU: 'Significativement haut', HX: 'Hors seuil supérieur', I: 'Intermédiaire', IE: 'Preuves insuffisantes',
  IND: 'Indéterminé', L: 'Anormalement bas', LL: 'Très anormalement bas, alerte', LU: 'Significativement bas',
  LX: 'Hors seuil inférieur', N: 'Normal', NCL: 'Pas de standard défini', ND: 'Non détecté', NEG: 'Négatif',
  NR: 'Non réactif', NS: 'Non sensible', POS: 'Positif', R: 'Résistant', RR: 'Réactif', S: 'Sensible',
  SDD: 'Sensible à forte dose', 'SYN-R': 'Synergie - résistant', 'SYN-S': 'Synergie - sensible',
  U: 'Augmentation significative par rapport au résultat antérieur', UNE: 'Inattendu', W: 'Dégradation',
  WR: 'Faiblement réactif',
};

/**
 * HL7 v2 table 0078 flags whose v2 code differs from the v3 code of the JDV. Older v2 codes:
 * MS (moderately susceptible) and VS (very susceptible) have no JDV twin; MS is the old name of
 * "intermediate", VS is still "susceptible".
 */
const FLAG_ALIASES: Record<string, string> = { MS: 'I', VS: 'S', NEG: 'NEG', POS: 'POS' };

/** One HL7 0078 flag → JDV interpretation code, or undefined when the JDV has no equivalent. */
export function interpretationOf(flag: string): { code: string; display: string } | undefined {
  const f = flag.trim().toUpperCase();
  const code = FLAG_ALIASES[f] ?? f;
  const display = INTERPRETATION_DISPLAY[code];
  return display ? { code, display } : undefined;
}

/** Readable flag for the narrative: the JDV display, or the flag as sent. */
export function flagLabel(flag: string): string {
  return interpretationOf(flag)?.display ?? flag;
}

/** Report sex → JDV_J143_AdministrativeGender_CISIS (F, M, UN). */
export function genderOf(sex: 'F' | 'M' | 'U'): { code: string; display: string } {
  if (sex === 'F') return { code: 'F', display: 'Féminin' };
  if (sex === 'M') return { code: 'M', display: 'Masculin' };
  return { code: 'UN', display: 'Inconnu' };
}

/**
 * Result status → observation statusCode. The 2024.01 volet (snapshot) only accepts completed /
 * aborted on a result observation, so a preliminary value is `completed` here and the
 * provisional state is carried by the enclosing act (`active`) and by the narrative.
 * Pending results have no value and are not structured at all (see entries.ts).
 */
export function observationStatus(s: ResultStatus): 'completed' | 'aborted' {
  return s === 'cancelled' ? 'aborted' : 'completed';
}

/** Acts, batteries and isolates accept active: anything not final keeps the group open. */
export function groupStatus(statuses: ResultStatus[]): 'completed' | 'active' | 'aborted' {
  if (statuses.length > 0 && statuses.every((s) => s === 'cancelled')) return 'aborted';
  return statuses.some((s) => s === 'preliminary' || s === 'pending') ? 'active' : 'completed';
}

/** Narrative wording of a non-final status (final/corrected results print nothing extra). */
export function statusLabel(s: ResultStatus): string | undefined {
  switch (s) {
    case 'preliminary': return 'résultat provisoire';
    case 'pending': return 'en cours';
    case 'cancelled': return 'annulé';
    case 'corrected': return 'résultat corrigé';
    default: return undefined;
  }
}

/**
 * HL7 0487 specimen types pass through unchanged (JDV_HL7_SpecimenType_CISIS is table 0487);
 * only the code system OID is added when the sender did not give one.
 */
export function specimenTypeOf(c: Coded | undefined): { code: string; display?: string; system: string } | undefined {
  if (!c?.code) return undefined;
  // HL7 v2 table 0487 (2.16.840.1.113883.12.487, "HL70487") is the same code list the CI-SIS
  // value set publishes under 2.16.840.1.113883.18.311: the CDA must use the latter.
  const v2Table = !c.system || c.system === '2.16.840.1.113883.12.487' || /^HL70487$/i.test(c.systemName ?? '');
  const sys = v2Table ? OID.SPECIMEN_TYPE : c.system!;
  return { code: c.code, display: c.display, system: sys };
}

/** NTE-4 comment types reserved for professionals: left out of the patient profile (DOC.02). */
export const PROFESSIONAL_ONLY_COMMENT_TYPES = new Set(['PRO']);

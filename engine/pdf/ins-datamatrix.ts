/**
 * The text an INS Datamatrix carries ("INS — Format datamatrix" v2.2, see
 * shared/docs/dmp-mss-ins.md §3.3): a 26-char header, then fields S1..S7. Fixed-length
 * fields, and variable fields that reached their maximum length, are followed by nothing;
 * any other variable field is ended by GS (0x1D). S7 is last, so it is never followed by GS.
 *
 * Only a qualified identity may be encoded (RNIV rule 28 / SGL.INS.37): the caller gets a
 * coded error otherwise, so no code path can print an INS it must not print.
 */
import type { Patient } from '../lab/report';
import { PasserelleError } from '../errors';

export const INS_DATAMATRIX_HEADER = 'IS01' + '0'.repeat(22);
export const GS = '\x1D';

/**
 * Birthplace when the COG code is unknown. The spec gives no "unknown" value; INSi returns
 * 99999 ("lieu de naissance inconnu") for such identities, so we write the same.
 */
export const UNKNOWN_BIRTHPLACE = '99999';

const MAX_OID = 20;
const MAX_NAME = 100;

/** Field values, already normalised; `encodeInsDatamatrix` only checks and assembles. */
export interface InsDatamatrixFields {
  matricule: string;
  oid: string;
  birthGivens: string;
  birthFamily: string;
  sex: 'F' | 'M';
  /** JJ-MM-AAAA. */
  birthDate: string;
  /** 5-character COG code: INSEE commune code, 99 + country code for a birth abroad, or 99999 when unknown. */
  birthplace: string;
}

function invalid(field: string, why: string): PasserelleError {
  return new PasserelleError('PSL_INS_DATAMATRIX_INVALID', `INS Datamatrix field ${field}: ${why}`, { details: { field } });
}

/** A variable field: truncated to its maximum, GS-terminated unless it is at that maximum. */
function variable(tag: string, value: string, max: number): string {
  const v = value.slice(0, max);
  return tag + v + (v.length < max ? GS : '');
}

export function encodeInsDatamatrix(f: InsDatamatrixFields): string {
  // 13-char NIR/NIA (department 2A/2B in Corsica) + 2-digit key. The key is not checked here:
  // qualification (engine/lab) did that; this layer must not silently depend on it.
  if (!/^\d{6}[\dAB]\d{8}$/.test(f.matricule)) {
    throw invalid('S1', 'matricule must be 15 characters (NIR with 2A/2B allowed)');
  }
  if (!/^[0-9.]{1,20}$/.test(f.oid)) throw invalid('S2', 'OID must be 1..20 digits and dots');
  if (f.birthGivens.length === 0) throw invalid('S3', 'birth given names are empty');
  if (f.birthFamily.length === 0) throw invalid('S4', 'birth name is empty');
  if (f.sex !== 'F' && f.sex !== 'M') throw invalid('S5', 'sex must be F or M');
  if (!/^\d{2}-\d{2}-\d{4}$/.test(f.birthDate)) throw invalid('S6', 'birth date must be JJ-MM-AAAA');
  if (!/^[0-9AB]{5}$/.test(f.birthplace)) throw invalid('S7', 'birthplace must be a 5-character COG code');
  return (
    INS_DATAMATRIX_HEADER +
    'S1' + f.matricule +
    variable('S2', f.oid, MAX_OID) +
    variable('S3', f.birthGivens, MAX_NAME) +
    variable('S4', f.birthFamily, MAX_NAME) +
    'S5' + f.sex +
    'S6' + f.birthDate +
    'S7' + f.birthplace
  );
}

/**
 * Name as the INS referential writes it: upper case, no diacritics, only letters, space,
 * hyphen and apostrophe (SEL-MP-043). Ligatures are spelled out (Œ → OE); typographic
 * apostrophes become `'`; any other character is dropped and spaces are collapsed.
 */
export function normaliseInsName(name: string): string {
  return name
    .replace(/[\u2018\u2019\u02BC\u0060\u00B4]/g, "'")
    .replace(/œ/g, 'oe').replace(/Œ/g, 'OE').replace(/æ/g, 'ae').replace(/Æ/g, 'AE').replace(/ß/g, 'ss')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^A-Z '-]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** YYYYMMDD → JJ-MM-AAAA; a partial date cannot be encoded (INSi refuses 00 days/months). */
function insBirthDate(hl7: string | undefined): string {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(hl7 ?? '');
  if (!m || m[2] === '00' || m[3] === '00') throw invalid('S6', 'a full birth date (YYYYMMDD) is required');
  return `${m[3]}-${m[2]}-${m[1]}`;
}

/** The Datamatrix text for a qualified identity (`patient.ins` set); throws otherwise. */
export function insDatamatrixPayload(patient: Patient): string {
  const ins = patient.ins;
  if (!ins) {
    throw new PasserelleError('PSL_INS_NOT_QUALIFIED', undefined, {
      details: { reliability: patient.reliability, reason: patient.insRefusedReason },
    });
  }
  if (patient.sex !== 'F' && patient.sex !== 'M') throw invalid('S5', 'sex must be F or M');
  const birthplace = patient.birthplaceCode?.trim().toUpperCase() || UNKNOWN_BIRTHPLACE;
  return encodeInsDatamatrix({
    matricule: ins.matricule,
    oid: ins.oid,
    birthGivens: normaliseInsName(patient.birthGivens || patient.firstBirthGiven),
    birthFamily: normaliseInsName(patient.birthFamily),
    sex: patient.sex,
    birthDate: insBirthDate(patient.birthDate),
    birthplace,
  });
}

/**
 * Readers for the HL7 v2.5 composite types a lab report needs (CWE/CE, XCN, CNN/NDL, XON,
 * XAD, XTN, TS), from one segment. They never throw: a missing component is just absent.
 * Paths are segment-level ('16[2].1') as engine/hl7 Segment.get expects.
 */
import type { Segment } from '../hl7';
import type { Address, Coded, Organization, Professional, ResultCode } from './report';

export const LOINC_OID = '2.16.840.1.113883.6.1';
/** Identifiant national de PS (RPPS with prefix 8, ADELI with prefix 0). */
export const RPPS_OID = '1.2.250.1.71.4.2.1';
/** FINESS (établissements). */
export const FINESS_OID = '1.2.250.1.71.4.2.2';

/** HL7 coding system names → OIDs (only the ones lab messages use). */
const SYSTEMS: Record<string, string> = {
  LN: LOINC_OID,
  LOINC: LOINC_OID,
  SCT: '2.16.840.1.113883.6.96',
  SNOMEDCT: '2.16.840.1.113883.6.96',
  SNM: '2.16.840.1.113883.6.5',
  UCUM: '2.16.840.1.113883.6.8',
  I10: '2.16.840.1.113883.6.3',
  ATC: '2.16.840.1.113883.6.73',
};

/** OID for a coding system name: the table above, HL7nnnn tables, or an OID sent as the name. */
export function systemOid(name: string): string | undefined {
  if (name === '') return undefined;
  const known = SYSTEMS[name.toUpperCase()];
  if (known) return known;
  const table = /^HL7(\d{4})$/i.exec(name);
  if (table) return `2.16.840.1.113883.12.${Number(table[1])}`;
  if (/^[0-2](\.(0|[1-9]\d*))+$/.test(name)) return name;
  return undefined;
}

function coded(code: string, display: string, systemName: string): Coded {
  const c: Coded = { code };
  if (display !== '') c.display = display;
  if (systemName !== '') c.systemName = systemName;
  const oid = systemOid(systemName);
  if (oid) c.system = oid;
  return c;
}

/** CWE/CE at a field path ('5', '3', '6'): the primary triplet, else the alternate one. */
export function readCoded(seg: Segment, at: string): Coded | undefined {
  const primary = seg.get(`${at}.1`);
  if (primary !== '') return coded(primary, seg.get(`${at}.2`), seg.get(`${at}.3`));
  const alt = seg.get(`${at}.4`);
  if (alt !== '') return coded(alt, seg.get(`${at}.5`), seg.get(`${at}.6`));
  const text = seg.get(`${at}.2`) || seg.get(`${at}.9`);
  return text !== '' ? { code: '', display: text } : undefined;
}

function isLoinc(systemName: string): boolean {
  const s = systemName.toUpperCase();
  return s === 'LN' || s === 'LOINC' || s === LOINC_OID;
}

/** OBX-3 / OBR-4: LOINC from whichever triplet says LN, the other triplet as the local code. */
export function readResultCode(seg: Segment, at: string): ResultCode {
  const t1 = { code: seg.get(`${at}.1`), display: seg.get(`${at}.2`), system: seg.get(`${at}.3`) };
  const t2 = { code: seg.get(`${at}.4`), display: seg.get(`${at}.5`), system: seg.get(`${at}.6`) };
  const rc: ResultCode = { text: '' };
  for (const t of [t1, t2]) {
    if (t.code === '') continue;
    if (isLoinc(t.system) && !rc.loinc) rc.loinc = coded(t.code, t.display, t.system);
    else if (!rc.local) rc.local = coded(t.code, t.display, t.system);
  }
  rc.text = t1.display || t2.display || seg.get(`${at}.9`) || t1.code || t2.code;
  return rc;
}

/** The code used to look a test up in maps: LOINC first, then the local code. */
export function codesOf(rc: ResultCode): string[] {
  const out: string[] = [];
  if (rc.loinc) out.push(rc.loinc.code);
  if (rc.local) out.push(rc.local.code);
  return out;
}

/** TS/DTM: the time component (TS-1), as sent. */
export function readTs(seg: Segment, at: string): string | undefined {
  const v = seg.get(`${at}.1`).trim();
  return v === '' ? undefined : v;
}

/** XAD repetition → Address (types are read by the caller: XAD-7). */
export function readAddress(seg: Segment, at: string): Address | undefined {
  const street = [seg.get(`${at}.1.1`), seg.get(`${at}.2`)].filter((s) => s !== '');
  const a: Address = {};
  if (street.length > 0) a.street = street;
  const city = seg.get(`${at}.3`);
  const postalCode = seg.get(`${at}.5`);
  const country = seg.get(`${at}.6`);
  if (city) a.city = city;
  if (postalCode) a.postalCode = postalCode;
  if (country) a.country = country;
  return Object.keys(a).length > 0 ? a : undefined;
}

/**
 * XTN repetition → a URI: `mailto:` for Internet/X.400 addresses (XTN-3, address in XTN-4),
 * `fax:` for FX, else `tel:` from XTN-12 (unformatted), XTN-7 (local number) or XTN-1.
 */
export function readTelecom(seg: Segment, at: string): string | undefined {
  const equipment = seg.get(`${at}.3`).toUpperCase();
  const email = seg.get(`${at}.4`).trim();
  if ((equipment === 'INTERNET' || equipment === 'X.400' || seg.get(`${at}.2`).toUpperCase() === 'NET') && email !== '') return `mailto:${email}`;
  const number = (seg.get(`${at}.12`) || [seg.get(`${at}.5`), seg.get(`${at}.6`), seg.get(`${at}.7`)].join('') || seg.get(`${at}.1`)).replace(/\s+/g, '');
  if (number === '') return email !== '' ? `mailto:${email}` : undefined;
  return `${equipment === 'FX' ? 'fax' : 'tel'}:${number}`;
}

/**
 * MSSanté address in an XTN repetition. Convention (kept simple): XTN-3 `X.400` is how the ANS
 * profiles flag an MSSanté address (PRT-15 `^^X.400^addr`), so it is taken as one; an
 * `Internet` address is taken only when its domain is under mssante.fr (every MSSanté domain
 * is), otherwise it stays an ordinary e-mail in `telecom`.
 */
export function readMssante(seg: Segment, at: string): string | undefined {
  const equipment = seg.get(`${at}.3`).toUpperCase();
  const email = seg.get(`${at}.4`).trim();
  if (email === '' || !email.includes('@')) return undefined;
  if (equipment === 'X.400') return email;
  if ((equipment === 'INTERNET' || equipment === '') && /@([a-z0-9-]+\.)*mssante\.fr$/i.test(email)) return email;
  return undefined;
}

function professional(id: string, family: string, given: string, prefix: string, authorityOid: string, idType: string): Professional | undefined {
  if (id === '' && family === '') return undefined;
  const p: Professional = {};
  if (id !== '') p.id = id;
  // An RPPS/IDNPS id sent without its OID still has one.
  const oid = authorityOid || (id !== '' && /^(RPPS|IDNPS|ADELI)$/i.test(idType) ? RPPS_OID : '');
  if (oid !== '') p.idAuthorityOid = oid;
  if (family !== '') p.family = family;
  if (given !== '') p.given = given;
  if (prefix !== '') p.prefix = prefix;
  return p;
}

/** XCN repetition (ORC-12, OBR-16, OBR-28, OBX-16, OBX-25, PRT-5). */
export function readXcn(seg: Segment, at: string): Professional | undefined {
  return professional(
    seg.get(`${at}.1`),
    seg.get(`${at}.2.1`),
    seg.get(`${at}.3`),
    seg.get(`${at}.6`),
    seg.get(`${at}.9.2`),
    seg.get(`${at}.13`),
  );
}

/** NDL (OBR-32, OBR-33): its first component is a CNN written in subcomponents. */
export function readNdl(seg: Segment, at: string): Professional | undefined {
  return professional(
    seg.get(`${at}.1.1`),
    seg.get(`${at}.1.2`),
    seg.get(`${at}.1.3`),
    seg.get(`${at}.1.6`),
    seg.get(`${at}.1.10`),
    '',
  );
}

/** XON (ORC-21, OBX-23): name, id from XON-10 (else XON-3), root from XON-6.2 or the id type. */
export function readXon(seg: Segment, at: string): Organization | undefined {
  const name = seg.get(`${at}.1`);
  const id = seg.get(`${at}.10`) || seg.get(`${at}.3`);
  if (name === '' && id === '') return undefined;
  const o: Organization = { name: name || id };
  if (id !== '') o.id = id;
  const idType = seg.get(`${at}.7`).toUpperCase();
  const root = seg.get(`${at}.6.2`) || (idType === 'FINEG' || idType === 'FINEJ' ? FINESS_OID : '');
  if (root !== '') o.idRoot = root;
  return o;
}

/** All repetitions of a field, as indexes usable in paths ('3[1]', '3[2]'…). */
export function repetitions(seg: Segment, field: number): string[] {
  const n = seg.count(String(field));
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(`${field}[${i}]`);
  return out;
}

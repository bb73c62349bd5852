/**
 * Small CDA datatype writers on top of xmlbuilder2 (II, CD, TS, AD, TEL, PN). xmlbuilder2
 * escapes text and attributes, so callers pass raw strings. Unknown values become
 * nullFlavor="UNK": the CR-BIO header rules accept only UNK for the patient, and it is the
 * neutral choice elsewhere.
 */
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import type { Address, Organization, Professional } from '../lab/report';

export type El = XMLBuilder;

export const NS = {
  HL7: 'urn:hl7-org:v3',
  XSI: 'http://www.w3.org/2001/XMLSchema-instance',
  LAB: 'urn:oid:1.3.6.1.4.1.19376.1.3.2',
} as const;

/** Sets xsi:type (PQ, IVL_PQ, CD, ST, TS, IVL_TS…). */
export function xsiType(el: El, type: string): El {
  return el.att(NS.XSI, 'xsi:type', type);
}

const TS_RE = /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$/;

export function isTs(v: string | undefined): v is string {
  return !!v && TS_RE.test(v);
}

/** `<name value=…/>`, or nullFlavor UNK when the timestamp is absent or malformed. */
export function ts(parent: El, name: string, value: string | undefined): El {
  return isTs(value) ? parent.ele(name, { value }) : parent.ele(name, { nullFlavor: 'UNK' });
}

/** Current time as a CDA TS with the local offset (document effectiveTime default). */
export function nowTs(d = new Date()): string {
  const p = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  return (
    `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}` +
    `${off >= 0 ? '+' : '-'}${p(Math.trunc(off / 60))}${p(off % 60)}`
  );
}

/** Earliest / latest of CDA timestamps (lexical order works for equal-precision TS). */
export function minTs(values: Array<string | undefined>): string | undefined {
  const v = values.filter(isTs).sort();
  return v[0];
}
export function maxTs(values: Array<string | undefined>): string | undefined {
  const v = values.filter(isTs).sort();
  return v[v.length - 1];
}

export function ii(parent: El, root: string | undefined, extension?: string, name = 'id'): El {
  if (!root) return parent.ele(name, { nullFlavor: 'UNK' });
  return parent.ele(name, extension ? { root, extension } : { root });
}

export interface Code {
  code: string;
  display?: string;
  system: string;
  systemName?: string;
}

export function cd(parent: El, name: string, c: Code): El {
  const a: Record<string, string> = { code: c.code };
  if (c.display) a.displayName = c.display;
  a.codeSystem = c.system;
  if (c.systemName) a.codeSystemName = c.systemName;
  return parent.ele(name, a);
}

/**
 * AD in the structured form StrucMin's closed template expects (no streetAddressLine mixed with
 * postalCode/city): first street line as streetName, the others as additionalLocator.
 */
export function addr(parent: El, a: Address | undefined): El {
  const lines = a?.street?.map((s) => s.trim()).filter(Boolean) ?? [];
  if (!a || (!lines.length && !a.city && !a.postalCode && !a.country)) return parent.ele('addr', { nullFlavor: 'UNK' });
  const e = parent.ele('addr');
  if (lines.length > 1) e.ele('additionalLocator').txt(lines.slice(1).join(', '));
  if (lines.length) e.ele('streetName').txt(lines[0]);
  if (a.postalCode) e.ele('postalCode').txt(a.postalCode);
  if (a.city) e.ele('city').txt(a.city);
  if (a.country) e.ele('country').txt(a.country);
  return e;
}

/** `tel:`/`mailto:`/`fax:` URLs; bare values become tel: (digits) or mailto: (contains @). */
export function telecomUrl(s: string): string {
  const v = s.trim();
  if (/^(tel|mailto|fax|http|https):/i.test(v)) return v;
  if (v.includes('@')) return `mailto:${v}`;
  return `tel:${v.replace(/[\s.]/g, '')}`;
}

export function telecoms(parent: El, list: Array<string | undefined> | undefined): void {
  const vals = [...new Set((list ?? []).filter((s): s is string => !!s && !!s.trim()).map(telecomUrl))];
  if (!vals.length) parent.ele('telecom', { nullFlavor: 'UNK' });
  for (const v of vals) parent.ele('telecom', { value: v });
}

/** JDV_J245 civilities (prefix) and JDV_J246 titles (suffix), as StrucMin checks them. */
const CIVILITY = new Set(['M', 'MME']);
const TITLE = new Set(['DR', 'MC', 'MG', 'PC', 'PG', 'PR']);

/**
 * PN of a professional. HL7 v2 puts "DR" in XPN-5 (prefix) but the CI-SIS writes civility
 * (M, MME) as prefix and title (DR, PR…) as suffix; other values are left out of the PN.
 */
export function personName(parent: El, p: Professional | undefined): El {
  const n = parent.ele('name');
  const pre = p?.prefix?.trim().toUpperCase().replace(/\.$/, '');
  if (pre && CIVILITY.has(pre)) n.ele('prefix').txt(pre);
  if (p?.given) n.ele('given').txt(p.given);
  if (p?.family) n.ele('family').txt(p.family);
  else n.ele('family', { nullFlavor: 'UNK' });
  if (pre && TITLE.has(pre)) n.ele('suffix').txt(pre);
  return n;
}

export function professionalLabel(p: Professional | undefined): string {
  if (!p) return '';
  return [p.prefix, p.given, p.family].filter(Boolean).join(' ');
}

/** Professional id (RPPS by default) or nullFlavor. */
export function professionalId(parent: El, p: Professional | undefined, name = 'id'): El {
  if (!p?.id) return parent.ele(name, { nullFlavor: 'UNK' });
  return parent.ele(name, { root: p.idAuthorityOid ?? '1.2.250.1.71.4.2.1', extension: p.id });
}

export interface OrgOptions {
  /** More ids after the main one (Cofrac accreditation). */
  extraIds?: (org: El) => void;
  /** standardIndustryClassCode (cadre d'exercice), written after addr. */
  sector?: Code;
  /** CustodianOrganization allows a single telecom. */
  singleTelecom?: boolean;
}

/** Organization id / name / telecom / addr / standardIndustryClassCode in CDA order. */
export function organization(parent: El, name: string, o: Organization, opts: OrgOptions = {}): El {
  const e = parent.ele(name);
  ii(e, o.id ? o.idRoot ?? '1.2.250.1.71.4.2.2' : undefined, o.id);
  opts.extraIds?.(e);
  e.ele('name').txt(o.name);
  telecoms(e, opts.singleTelecom ? o.telecom?.slice(0, 1) : o.telecom);
  addr(e, o.address);
  if (opts.sector) cd(e, 'standardIndustryClassCode', opts.sector);
  return e;
}

/** Makes a string usable as an XML ID (NCName). */
export function ncName(s: string): string {
  const v = s.replace(/[^A-Za-z0-9._-]/g, '-');
  return /^[A-Za-z_]/.test(v) ? v : `x${v}`;
}

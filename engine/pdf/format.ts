/**
 * How report facts read on paper: dates, names, addresses, values, flags.
 * Pure functions, French wording; the layout code never formats a fact itself.
 */
import type { Address, Professional, Result, ResultStatus, ResultValue } from '../lab/report';

/**
 * HL7/CDA TS → `JJ/MM/AAAA[ HH:MM]`, as sent: no time-zone conversion, because the sender's
 * wall-clock time is what the patient and the prescriber know.
 */
export function formatTs(ts: string | undefined): string {
  if (!ts) return '';
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?/.exec(ts);
  if (!m) return ts;
  const [, y, mo, d, h, mi] = m;
  if (!mo) return y;
  if (!d) return `${mo}/${y}`;
  const date = `${d}/${mo}/${y}`;
  return h ? `${date} ${h}:${mi ?? '00'}` : date;
}

/**
 * TS → Date for the PDF CreationDate. The offset is honoured when sent; a TS without one is
 * read as UTC so that the same input always gives the same bytes, on any machine.
 */
export function tsToDate(ts: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$/.exec(ts);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', tz] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  if (tz) {
    const sign = tz[0] === '-' ? -1 : 1;
    ms -= sign * (+tz.slice(1, 3) * 60 + +tz.slice(3, 5)) * 60_000;
  }
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function sexLabel(sex: 'F' | 'M' | 'U'): string {
  return sex === 'F' ? 'Féminin' : sex === 'M' ? 'Masculin' : 'Indéterminé';
}

/** `DR NOM Prénom`. */
export function professionalName(p: Professional | undefined): string {
  if (!p) return '';
  return [p.prefix, p.family, p.given].filter((s): s is string => !!s && s.trim() !== '').join(' ');
}

export function addressLines(a: Address | undefined): string[] {
  if (!a) return [];
  const lines = [...(a.street ?? [])];
  const city = [a.postalCode, a.city].filter(Boolean).join(' ');
  if (city) lines.push(city);
  return lines;
}

/** `tel:0102030405` → `Tél. 0102030405`; other URIs printed without their scheme. */
export function telecomLabel(t: string): string {
  if (t.startsWith('tel:')) return `Tél. ${t.slice(4)}`;
  if (t.startsWith('fax:')) return `Fax ${t.slice(4)}`;
  if (t.startsWith('mailto:')) return t.slice(7);
  return t;
}

/** A result value as printed; line breaks of text results are kept. */
export function valueText(v: ResultValue): string {
  switch (v.type) {
    case 'NM':
      return v.value;
    case 'SN':
      if (v.text) return v.text;
      return [v.comparator, v.num1, v.separator, v.num2].filter(Boolean).join('');
    case 'CWE':
      return v.coded.display || v.coded.code;
    case 'ST':
    case 'TX':
    case 'FT':
      return v.text;
    case 'ED':
      // PDF/A-1 cannot embed files; the CDA carries the attachment.
      return `[document joint ${v.mediaType} : voir le compte rendu électronique]`;
    case 'DT':
    case 'TS':
      return formatTs(v.value);
    case 'none':
      return '';
  }
}

/** Values printed in a full-width block rather than the value column. */
export function isLongValue(v: ResultValue, text: string): boolean {
  return (v.type === 'TX' || v.type === 'FT' || v.type === 'ST' || v.type === 'ED') && (text.includes('\n') || text.length > 24);
}

/** Abnormal flags as an arrow and the HL7 letter(s): ↑ H, ↑↑ HH, ↓ L, ↓↓ LL, ! A. */
export function flagMark(flags: string[]): string {
  const marks: string[] = [];
  for (const f of flags) {
    switch (f.toUpperCase()) {
      case 'H':
      case '>':
        marks.push('↑ H');
        break;
      case 'HH':
        marks.push('↑↑ HH');
        break;
      case 'L':
      case '<':
        marks.push('↓ L');
        break;
      case 'LL':
        marks.push('↓↓ LL');
        break;
      case 'A':
        marks.push('! A');
        break;
      case 'AA':
        marks.push('!! AA');
        break;
      default:
        break; // N and the susceptibility letters (S/I/R) are not alerts.
    }
  }
  return marks.join(' ');
}

const STATUS_LABEL: Record<ResultStatus, string> = {
  final: '',
  corrected: 'résultat corrigé',
  preliminary: 'résultat provisoire',
  pending: 'en cours',
  cancelled: 'annulé',
};

export function statusLabel(s: ResultStatus): string {
  return STATUS_LABEL[s];
}

/** S, I or R for an antibiogram line: the interpretation flag, else a coded S/I/R value. */
export function susceptibility(r: Result): string {
  const flag = r.flags.map((f) => f.toUpperCase()).find((f) => f === 'S' || f === 'I' || f === 'R');
  if (flag) return flag;
  if (r.value.type === 'CWE' && /^[SIR]$/i.test(r.value.coded.code)) return r.value.coded.code.toUpperCase();
  return '';
}

/** Text put into PDF metadata: XMP is written unescaped by pdfkit, so no XML markup characters. */
export function metadataSafe(s: string): string {
  return s.replace(/&/g, ' et ').replace(/[<>"\\]/g, ' ').replace(/\s+/g, ' ').trim();
}

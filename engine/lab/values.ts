/**
 * OBX-5 by OBX-2, OBX-7 reference ranges and the status tables (hl7-lab.md §3.6, §5.2).
 * Values stay strings: the sender's precision (`0.90` vs `0.9`) is part of the result.
 */
import type { Delimiters, Segment } from '../hl7';
import { PasserelleError } from '../errors';
import { hl7Lines } from './hl7-text';
import { readCoded } from './hl7-fields';
import type { ReferenceRange, ResultStatus, ResultValue } from './report';

const NUMBER = '[-+]?(?:\\d+(?:[.,]\\d*)?|[.,]\\d+)';

/** Where an OBX sits, for errors (never the value itself: it is patient data). */
export interface ObxLocation {
  segment: 'OBX';
  /** 1-based position of the OBX among the message's OBX segments. */
  sequence: number;
  field: number;
}

/** OBX → typed value. Throws PSL_REPORT_BAD_VALUE when an ED payload cannot be decoded. */
export function readValue(obx: Segment, d: Delimiters, where: ObxLocation): ResultValue {
  const type = obx.get('2').toUpperCase();
  const raw = obx.getRaw('5');
  if (raw === '') return { type: 'none' };
  switch (type) {
    case 'NM':
      return { type: 'NM', value: obx.get('5[1]').trim() };
    case 'SN':
      return readSn(obx);
    case 'CE':
    case 'CWE':
    case 'CNE':
    case 'CF': {
      const coded = readCoded(obx, '5[1]');
      return coded ? { type: 'CWE', coded } : { type: 'none' };
    }
    case 'FT':
    case 'TX':
    case 'ST':
      return { type: type === 'FT' ? 'FT' : type === 'TX' ? 'TX' : 'ST', text: hl7Lines(raw, d) };
    case 'ED':
      return readEd(obx, where);
    case 'DT':
      return { type: 'DT', value: obx.get('5[1].1').trim() };
    case 'TS':
    case 'DTM':
      return { type: 'TS', value: obx.get('5[1].1').trim() };
    default:
      // RP, TM, ID, IS, XTN… or no OBX-2: shown as text, components joined by spaces.
      return { type: 'ST', text: hl7Lines(raw.split(d.component).filter((c) => c !== '').join(' '), d) };
  }
}

/** SN: comparator^num1^separator/suffix^num2 (`<^5`, `>^1500`, `^1^:^128`, `^10^-^20`, `^2^+`). */
function readSn(obx: Segment): ResultValue {
  const comparator = obx.get('5[1].1').trim();
  const num1 = obx.get('5[1].2').trim();
  const separator = obx.get('5[1].3').trim();
  const num2 = obx.get('5[1].4').trim();
  const v: { type: 'SN'; comparator?: string; num1?: string; separator?: string; num2?: string; text: string } = {
    type: 'SN',
    text: snText(comparator, num1, separator, num2),
  };
  if (comparator !== '') v.comparator = comparator;
  if (num1 !== '') v.num1 = num1;
  if (separator !== '') v.separator = separator;
  if (num2 !== '') v.num2 = num2;
  return v;
}

/** How an SN reads in a report: `<5`, `>1500`, `1:128`, `10-20`, `2+`. */
export function snText(comparator: string, num1: string, separator: string, num2: string): string {
  return `${comparator}${num1}${separator}${num2}`;
}

const MEDIA_TYPES: Record<string, string> = { AP: 'application', APPLICATION: 'application', IM: 'image', IMAGE: 'image', TEXT: 'text', AU: 'audio', AUDIO: 'audio', VIDEO: 'video', MULTIPART: 'multipart' };
const SUBTYPES: Record<string, string> = { PDF: 'pdf', JPEG: 'jpeg', JPG: 'jpeg', PNG: 'png', TIFF: 'tiff', GIF: 'gif', XML: 'xml', HTML: 'html', RTF: 'rtf', PLAIN: 'plain', 'OCTET-STREAM': 'octet-stream', DICOM: 'dicom' };

/** ED: sourceApp^typeOfData^dataSubtype^encoding^data; Base64, Hex or A (text). */
function readEd(obx: Segment, where: ObxLocation): ResultValue {
  const typeOfData = obx.get('5[1].2').trim();
  const subtypeSent = obx.get('5[1].3').trim();
  const encoding = obx.get('5[1].4').trim().toUpperCase();
  const payload = obx.getRaw('5[1].5');
  const top = MEDIA_TYPES[typeOfData.toUpperCase()] ?? (typeOfData.toLowerCase() || 'application');
  const sub = subtypeSent.includes('/') ? subtypeSent.toLowerCase() : `${top}/${SUBTYPES[subtypeSent.toUpperCase()] ?? (subtypeSent.toLowerCase() || 'octet-stream')}`;
  let data: Buffer;
  if (encoding === 'BASE64') {
    const b64 = payload.replace(/\s+/g, '');
    if (b64 === '' || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      throw new PasserelleError('PSL_REPORT_BAD_VALUE', `OBX #${where.sequence} (OBX-5): ED payload is not valid base64`, { details: { ...where } });
    }
    data = Buffer.from(b64, 'base64');
  } else if (encoding === 'HEX') {
    if (payload.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(payload)) {
      throw new PasserelleError('PSL_REPORT_BAD_VALUE', `OBX #${where.sequence} (OBX-5): ED payload is not valid hexadecimal`, { details: { ...where } });
    }
    data = Buffer.from(payload, 'hex');
  } else if (encoding === 'A' || encoding === '') {
    data = Buffer.from(payload, 'utf8');
  } else {
    throw new PasserelleError('PSL_REPORT_BAD_VALUE', `OBX #${where.sequence} (OBX-5): unknown ED encoding ${JSON.stringify(encoding)}`, { details: { ...where } });
  }
  return { type: 'ED', mediaType: sub, data };
}

function num(s: string): string {
  return s.replace(',', '.');
}

/**
 * OBX-7 → range. Recognised: `a-b` (spaces, `–`, ` à ` allowed), `<b`, `<=b`, `≤b`, `>a`,
 * `>=a`, `≥a`. Bounds use `.` as decimal separator; anything else stays text only.
 */
export function parseRange(text: string): ReferenceRange | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const r: ReferenceRange = { text: t };
  const between = new RegExp(`^(${NUMBER})\\s*(?:-|–|à)\\s*(${NUMBER})$`).exec(t);
  if (between) {
    r.low = num(between[1]);
    r.high = num(between[2]);
    return r;
  }
  const upper = new RegExp(`^(?:<=?|≤)\\s*(${NUMBER})$`).exec(t);
  if (upper) {
    r.high = num(upper[1]);
    return r;
  }
  const lower = new RegExp(`^(?:>=?|≥)\\s*(${NUMBER})$`).exec(t);
  if (lower) r.low = num(lower[1]);
  return r;
}

/**
 * OBX-11 (table 0085) → status. F/U final, C corrected, P/S/A preliminary, X cancelled,
 * R (not verified)/I/O/N pending. D and W (withdrawn) return null: the caller drops them, a
 * deleted or wrong-patient result must not reach a document. Unknown or empty: undefined.
 */
export function resultStatus(code: string): ResultStatus | undefined | null {
  switch (code.trim().toUpperCase()) {
    case 'F':
    case 'U':
      return 'final';
    case 'C':
      return 'corrected';
    case 'P':
    case 'S':
    case 'A':
      return 'preliminary';
    case 'X':
      return 'cancelled';
    case 'R':
    case 'I':
    case 'O':
    case 'N':
      return 'pending';
    case 'D':
    case 'W':
      return null;
    default:
      return undefined;
  }
}

/** OBR-25 (table 0123) → status; undefined when empty or unknown. */
export function requestStatus(code: string): ResultStatus | undefined {
  switch (code.trim().toUpperCase()) {
    case 'F':
      return 'final';
    case 'C':
      return 'corrected';
    case 'P':
    case 'A':
      return 'preliminary';
    case 'X':
      return 'cancelled';
    case 'R':
    case 'I':
    case 'O':
    case 'S':
      return 'pending';
    default:
      return undefined;
  }
}

/** A plain-text comment (NTE-3) from its wire text. */
export function commentText(rawNte3: string, d: Delimiters): string {
  return hl7Lines(rawNte3, d);
}


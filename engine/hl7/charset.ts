import { isUtf8 } from 'node:buffer';
import * as iconv from 'iconv-lite';
import { Hl7Error } from './errors';

/**
 * Bytes ↔ text (hl7-lab.md §6). MSH up to MSH-18 is ASCII in every supported charset, so
 * MSH-18 is read from the raw bytes first and the whole message decoded after.
 */
export type Charset = 'utf-8' | 'iso-8859-1' | 'iso-8859-15' | 'ascii' | 'windows-1252';

export interface DecodeOptions {
  /** used when MSH-18 is empty (HL7 says ASCII; in practice a per-channel setting) */
  defaultCharset?: Charset;
  /** per-channel override: wins over MSH-18 (senders that lie, e.g. windows-1252) */
  override?: Charset;
  /**
   * undefined: unknown MSH-18 throws, undecodable bytes only warn.
   * true: both throw. false: neither throws (default charset / replacement + warning).
   */
  strict?: boolean;
}

export interface Decoded {
  text: string;
  charset: Charset;
  /** MSH-18 (first repetition) as found, '' when empty or unreadable */
  declared: string;
  warnings: string[];
  /** Bytes invalid in the charset were replaced (U+FFFD for UTF-8): the text is not what was sent. */
  invalidBytes: boolean;
}

/** HL7 table 0211 values (and common spellings) we can decode. */
const TABLE_0211: Record<string, Charset> = {
  'UNICODE UTF-8': 'utf-8',
  'UTF-8': 'utf-8',
  UTF8: 'utf-8',
  '8859/1': 'iso-8859-1',
  '8859/15': 'iso-8859-15',
  ASCII: 'ascii',
};

const LOCATION_MSH18 = { segment: 'MSH', sequence: 1, field: 18 };

/** Maps an MSH-18 value to a charset, undefined when unknown. */
export function charsetForMsh18(value: string): Charset | undefined {
  return TABLE_0211[value.trim().toUpperCase()];
}

/** The MSH-18 value for a charset (for building messages). */
export function msh18For(charset: Charset): string {
  switch (charset) {
    case 'utf-8': return 'UNICODE UTF-8';
    case 'iso-8859-1': return '8859/1';
    case 'iso-8859-15': return '8859/15';
    case 'ascii': return 'ASCII';
    case 'windows-1252': return ''; // not in table 0211: say nothing rather than lie
  }
}

function bomLength(bytes: Buffer): number {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** Reads MSH-18 (first repetition, first component) from raw bytes; '' if absent. */
export function readMsh18(bytes: Buffer): string {
  let p = bomLength(bytes);
  while (p < bytes.length && (bytes[p] === 0x20 || bytes[p] === 0x09 || bytes[p] === 0x0a || bytes[p] === 0x0d)) p++;
  if (bytes.length < p + 8 || bytes[p] !== 0x4d || bytes[p + 1] !== 0x53 || bytes[p + 2] !== 0x48) return '';
  const fs = bytes[p + 3];
  const comp = bytes[p + 4];
  const rep = bytes[p + 5];
  let field = 2; // p+4 is the first character of MSH-2
  let start = p + 4;
  for (let i = p + 4; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0d || b === 0x0a) break;
    if (b === fs) {
      field++;
      if (field === 18) start = i + 1;
      else if (field === 19) return valueOf(bytes, start, i, comp, rep);
    }
  }
  if (field !== 18) return '';
  let end = start;
  while (end < bytes.length && bytes[end] !== 0x0d && bytes[end] !== 0x0a) end++;
  return valueOf(bytes, start, end, comp, rep);
}

function valueOf(bytes: Buffer, start: number, end: number, comp: number, rep: number): string {
  let e = start;
  while (e < end && bytes[e] !== comp && bytes[e] !== rep) e++;
  return bytes.toString('latin1', start, e).trim();
}

function validIn(bytes: Buffer, charset: Charset): boolean {
  switch (charset) {
    case 'utf-8':
      return isUtf8(bytes);
    case 'ascii':
      for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
      return true;
    default:
      return true; // single-byte tables: every byte maps to something
  }
}

function looksUtf8(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return isUtf8(bytes);
  return false;
}

/** Decodes a message's bytes; strips a UTF-8 BOM. Throws Hl7Error HL7_BAD_CHARSET per `strict`. */
export function decode(bytes: Buffer, opts: DecodeOptions = {}): Decoded {
  const warnings: string[] = [];
  const declared = readMsh18(bytes);
  let charset: Charset;
  if (opts.override) {
    charset = opts.override;
  } else if (declared === '') {
    charset = opts.defaultCharset ?? 'utf-8';
  } else {
    const known = charsetForMsh18(declared);
    if (known) {
      charset = known;
    } else if (opts.strict === false) {
      charset = opts.defaultCharset ?? 'utf-8';
      warnings.push(`unknown MSH-18 ${JSON.stringify(declared)}; decoded as ${charset}`);
    } else {
      throw new Hl7Error('HL7_BAD_CHARSET', `unsupported character set in MSH-18: ${JSON.stringify(declared)}`, {
        hl7Code: 103,
        location: LOCATION_MSH18,
      });
    }
  }
  const body = bomLength(bytes) ? bytes.subarray(3) : bytes;
  const invalidBytes = !validIn(body, charset);
  if (invalidBytes) {
    const msg = `bytes are not valid ${charset}${declared ? ` (MSH-18 ${JSON.stringify(declared)})` : ''}`;
    if (opts.strict === true) {
      throw new Hl7Error('HL7_BAD_CHARSET', msg, { hl7Code: 102, location: LOCATION_MSH18 });
    }
    warnings.push(`${msg}; invalid bytes replaced`);
  } else if ((charset === 'iso-8859-1' || charset === 'iso-8859-15' || charset === 'windows-1252') && looksUtf8(body)) {
    // e.g. cdc/…8859-1-declared_utf8-bytes: we follow the declaration but say so
    warnings.push(`MSH-18 says ${charset} but the bytes look like UTF-8 multi-byte sequences`);
  }
  let text: string;
  switch (charset) {
    case 'utf-8': text = body.toString('utf8'); break;
    case 'iso-8859-1': text = body.toString('latin1'); break;
    case 'ascii': text = body.toString('latin1'); break; // bytes > 0x7F already warned about
    default: text = iconv.decode(body, charset);
  }
  return { text, charset, declared, warnings, invalidBytes };
}

export interface EncodeOptions {
  /**
   * The message's escape character (MSH-2, 3rd). Given, a character the charset cannot hold is
   * written as an HL7 hexadecimal escape `\Xhh…\` of its UTF-8 bytes (HL7 v2 §2.7.4 leaves the
   * meaning of \X data to the partners; UTF-8 bytes keep the character exact, and our parser
   * reads them back). Without it such characters become '?' (never raw UTF-8 bytes).
   */
  escape?: string;
}

/** Per single-byte charset: which characters it can hold (built once from its 256 bytes). */
const REPERTOIRE = new Map<Charset, Set<number>>();

function repertoire(charset: Charset): Set<number> {
  let set = REPERTOIRE.get(charset);
  if (!set) {
    const all = Buffer.from(Array.from({ length: charset === 'ascii' ? 128 : 256 }, (_, i) => i));
    const text = charset === 'iso-8859-1' || charset === 'ascii' ? all.toString('latin1') : iconv.decode(all, charset);
    set = new Set<number>();
    for (const ch of text) if (ch !== '\ufffd') set.add(ch.codePointAt(0)!);
    REPERTOIRE.set(charset, set);
  }
  return set;
}

/** Replaces every character `charset` cannot hold by `\Xhh…\` (its UTF-8 bytes). */
function escapeUnencodable(text: string, charset: Charset, esc: string): string {
  const can = repertoire(charset);
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80 || can.has(c)) continue;
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const hex = Buffer.from(String.fromCodePoint(cp), 'utf8').toString('hex').toUpperCase();
    out += text.slice(last, i) + esc + 'X' + hex + esc;
    i += width - 1;
    last = i + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Encodes text for the wire; see EncodeOptions for characters the charset cannot hold. */
export function encode(text: string, charset: Charset, opts: EncodeOptions = {}): Buffer {
  if (charset === 'utf-8') return Buffer.from(text, 'utf8');
  const t = opts.escape ? escapeUnencodable(text, charset, opts.escape) : text;
  return iconv.encode(t, charset);
}

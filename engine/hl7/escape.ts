import { isUtf8 } from 'node:buffer';
import type { Delimiters } from './delimiters';

/**
 * HL7 escape sequences (hl7-lab.md §6). Reads turn \F\ \S\ \T\ \R\ \E\ (and \P\ when a
 * truncation char is declared) back into delimiters and decode \Xhh..\; formatting escapes
 * (\.br\ \H\ \N\ \Zxx\ \Cxxyy\ ...) are presentation, so they are kept verbatim.
 */

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** \Xhh..\ payload → text; UTF-8 when the bytes are valid UTF-8, else latin-1 (one char per byte). */
function decodeHex(hex: string): string | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0) return undefined;
  const bytes = Buffer.allocUnsafe(hex.length / 2);
  let high = 0;
  for (let i = 0; i < hex.length; i += 2) {
    const a = hexValue(hex.charCodeAt(i));
    const b = hexValue(hex.charCodeAt(i + 1));
    if (a < 0 || b < 0) return undefined;
    bytes[i / 2] = (a << 4) | b;
    high |= bytes[i / 2];
  }
  return high >= 0x80 && isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

export function unescape(value: string, d: Delimiters): string {
  const esc = d.escape;
  let i = value.indexOf(esc);
  if (i < 0) return value; // fast path: the vast majority of values
  let out = '';
  let last = 0;
  while (i >= 0) {
    const end = value.indexOf(esc, i + 1);
    if (end < 0) break; // unterminated: keep the rest verbatim
    const body = value.slice(i + 1, end);
    let rep: string | undefined;
    if (body.length === 1) {
      switch (body) {
        case 'F': rep = d.field; break;
        case 'S': rep = d.component; break;
        case 'T': rep = d.subcomponent; break;
        case 'R': rep = d.repetition; break;
        case 'E': rep = esc; break;
        case 'P': rep = d.truncation; break;
      }
    } else if (body.length > 1 && (body[0] === 'X' || body[0] === 'x')) {
      rep = decodeHex(body.slice(1));
    }
    if (rep === undefined) {
      // formatting or unknown escape: keep it, including both escape chars
      out += value.slice(last, end + 1);
    } else {
      out += value.slice(last, i) + rep;
    }
    last = end + 1;
    i = value.indexOf(esc, last);
  }
  return out + value.slice(last);
}

/**
 * Escapes a value for the wire: every delimiter becomes its escape (the escape char itself
 * first, by construction of the single pass), and CR/LF become \X0D\ / \X0A\ so a value can
 * never end a segment.
 */
export function escape(value: string, d: Delimiters): string {
  let out = '';
  let last = 0;
  const e = d.escape;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    let rep: string | undefined;
    if (ch === e) rep = 'E';
    else if (ch === d.field) rep = 'F';
    else if (ch === d.component) rep = 'S';
    else if (ch === d.subcomponent) rep = 'T';
    else if (ch === d.repetition) rep = 'R';
    else if (ch === '\r') rep = 'X0D';
    else if (ch === '\n') rep = 'X0A';
    else if (d.truncation !== undefined && ch === d.truncation) rep = 'P';
    if (rep !== undefined) {
      out += value.slice(last, i) + e + rep + e;
      last = i + 1;
    }
  }
  return last === 0 ? value : out + value.slice(last);
}

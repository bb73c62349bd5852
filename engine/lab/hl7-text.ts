/**
 * HL7 text (ST, TX, FT, NTE-3) → plain text with line breaks.
 *
 * engine/hl7 unescapes delimiters (\F\ \S\ \T\ \R\ \E\ \Xhh\) but keeps formatting escapes
 * verbatim, because they are presentation. Reports want them as layout: \.br\ and \.sp n\
 * become line breaks, the others (\.in\ \.ti\ \.ce\ \.fi\ \.nf\ \.sk\ \H\ \N\ \Zxx\) are
 * dropped. This must run on the wire text: once \E\ is unescaped, a literal backslash could no
 * longer be told from an escape. Senders use \.br\ in ST/TX and NTE too, not only in FT, so
 * every text type gets the same treatment.
 */
import { type Delimiters, unescape } from '../hl7';

/** One repetition (or one component) of wire text → plain text. CRLF/CR become '\n'. */
export function hl7Text(raw: string, d: Delimiters): string {
  const esc = d.escape;
  if (raw.indexOf(esc) < 0) return raw;
  let out = '';
  let last = 0;
  let i = raw.indexOf(esc);
  while (i >= 0) {
    const end = raw.indexOf(esc, i + 1);
    if (end < 0) break;
    const body = raw.slice(i + 1, end);
    const layout = formatting(body);
    if (layout !== undefined) {
      out += unescape(raw.slice(last, i), d) + layout;
    } else {
      // a delimiter or hex escape: leave it to the library's unescape
      out += unescape(raw.slice(last, end + 1), d);
    }
    last = end + 1;
    i = raw.indexOf(esc, last);
  }
  out += unescape(raw.slice(last), d);
  return out.replace(/\r\n|\r/g, '\n');
}

/** Text of a repeating field (TX lines, NTE-3 repetitions): repetitions joined by line breaks. */
export function hl7Lines(rawField: string, d: Delimiters): string {
  if (rawField === '') return '';
  return rawField
    .split(d.repetition)
    .map((r) => hl7Text(r, d))
    .join('\n');
}

/** Replacement for a formatting escape body, undefined when it is not one. */
function formatting(body: string): string | undefined {
  if (body === 'H' || body === 'N') return '';
  if (body.startsWith('.')) {
    const m = /^\.(br|sp|in|ti|ce|fi|nf|sk)\s*([+-]?\d+)?$/.exec(body);
    if (!m) return undefined;
    if (m[1] === 'br') return '\n';
    if (m[1] === 'sp') return '\n'.repeat(Math.max(1, Math.min(10, Number(m[2] ?? '1'))));
    if (m[1] === 'sk') return ' '.repeat(Math.max(0, Math.min(40, Number(m[2] ?? '1'))));
    return '';
  }
  if (body.length > 1 && (body[0] === 'Z' || body[0] === 'z')) return ''; // locally defined: no meaning for us
  return undefined;
}

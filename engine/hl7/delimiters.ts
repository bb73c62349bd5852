import { Hl7Error } from './errors';

/** The separators a message declares in MSH-1 and MSH-2 (v2.7 adds a 5th: truncation). */
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  truncation?: string;
}

export const DEFAULT_DELIMITERS: Readonly<Delimiters> = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
});

/**
 * A delimiter must be printable ASCII and not a letter/digit/space. We refuse non-ASCII on
 * purpose: ANS published messages whose "~" is U+02DC, which would silently turn every
 * repetition into literal text.
 */
function isSaneDelimiter(ch: string): boolean {
  if (ch.length !== 1) return false;
  const c = ch.charCodeAt(0);
  if (c < 0x21 || c > 0x7e) return false;
  return !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
}

/** Builds delimiters from MSH-1 and MSH-2 as found on the wire; throws HL7_BAD_DELIMITERS. */
export function delimitersFrom(fieldSep: string, encodingChars: string): Delimiters {
  const bad = (why: string): never => {
    throw new Hl7Error('HL7_BAD_DELIMITERS', `invalid delimiters in MSH-1/MSH-2: ${why}`, {
      hl7Code: 102,
      location: { segment: 'MSH', sequence: 1, field: 2 },
    });
  };
  if (!isSaneDelimiter(fieldSep)) bad(`field separator ${JSON.stringify(fieldSep)} is not a printable non-alphanumeric ASCII character`);
  if (encodingChars.length < 4 || encodingChars.length > 5) bad(`MSH-2 must have 4 or 5 characters, got ${encodingChars.length}`);
  const all = fieldSep + encodingChars;
  for (let i = 0; i < all.length; i++) {
    if (!isSaneDelimiter(all[i])) bad(`character ${JSON.stringify(all[i])} is not a printable non-alphanumeric ASCII character`);
    if (all.indexOf(all[i]) !== i) bad(`character ${JSON.stringify(all[i])} is used twice`);
  }
  const d: Delimiters = {
    field: fieldSep,
    component: encodingChars[0],
    repetition: encodingChars[1],
    escape: encodingChars[2],
    subcomponent: encodingChars[3],
  };
  if (encodingChars.length === 5) d.truncation = encodingChars[4];
  return d;
}

/** Same check without throwing, for recovery paths (NAK of unparseable text). */
export function tryDelimitersFrom(fieldSep: string, encodingChars: string): Delimiters | undefined {
  try {
    return delimitersFrom(fieldSep, encodingChars);
  } catch {
    return undefined;
  }
}

/** MSH-2 text for a delimiter set. */
export function encodingCharacters(d: Delimiters): string {
  return d.component + d.repetition + d.escape + d.subcomponent + (d.truncation ?? '');
}

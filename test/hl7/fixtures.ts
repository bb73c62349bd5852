/** Test helpers: the benchmark ORU generator (shared with bench/); the sample corpus is in test/support/hl7-corpus. */

export { convert, INS_OID, oru1mb, oru4k, oruSegments, TX_VALUE, TX_VALUE_RAW } from '../../bench/fixtures/oru';

/** Input with terminators normalised to '\r' and trailing blank lines collapsed into one '\r'. */
export function normaliseTerminators(text: string): string {
  const t = text.replace(/\r\n|\n/g, '\r');
  const trimmed = t.replace(/[\r]+$/, '');
  return trimmed.length < t.length ? `${trimmed}\r` : t;
}

/**
 * What both stores' directory parts share: the national ids (Identification nationale PP) a
 * professional's identifier may stand for, as ORC-12 / OBR-16 carry it.
 */

/** RPPS (11 digits) → `8` + RPPS; ADELI (9 digits) → `0` + ADELI; a national id stays as it is. */
export function nationalIdCandidates(id: string): string[] {
  const v = id.trim();
  if (/^\d{11}$/.test(v)) return [`8${v}`];
  if (/^\d{9}$/.test(v)) return [`0${v}`];
  return v === '' ? [] : [v];
}

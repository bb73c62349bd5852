/**
 * Microbiology: isolates and their antibiograms, grouped by OBX-4 sub-id.
 *
 * Convention (the samples follow it; hl7-lab.md §3.6 only says OBX-4 "groups" them):
 *  - an isolate is an OBX with a coded value (CE/CWE: the organism, SNOMED CT or local code)
 *    and a whole-number sub-id `n` (`1`, `2`…), whose OBX-3 is an organism-identification code
 *    (ORGANISM_CODES below) or that has antibiogram lines below it;
 *  - its antibiogram lines carry sub-id `n.x` (`1.1`, `1.2`…): OBX-3 the antibiotic
 *    susceptibility LOINC code, OBX-5 the MIC (NM/SN) or the category (CWE), and the S/I/R
 *    interpretation in OBX-8;
 *  - other OBX of the request (sub-id empty or not matching) are ordinary results.
 * Isolates only regroup: every OBX stays in Request.results, in message order.
 */
import type { Isolate, Result } from './report';

/** LOINC "organism identified" observations commonly used for an isolate's identification. */
export const ORGANISM_CODES: ReadonlySet<string> = new Set([
  '11475-1', // Microorganism identified in Specimen by Culture
  '630-4', // Bacteria identified in Urine by Culture
  '634-6', // Bacteria identified in Specimen by Aerobe culture
  '6463-4', // Bacteria identified in Specimen by Culture
  '580-1', // Fungus identified in Specimen by Culture
]);

function isOrganismCode(r: Result): boolean {
  return (r.code.loinc !== undefined && ORGANISM_CODES.has(r.code.loinc.code)) || (r.code.local !== undefined && ORGANISM_CODES.has(r.code.local.code));
}

/** Isolates of one request, in sub-id order of appearance; undefined when there are none. */
export function groupIsolates(results: readonly Result[]): Isolate[] | undefined {
  const isolates: Isolate[] = [];
  for (const r of results) {
    if (r.value.type !== 'CWE' || r.subId === undefined || !/^\d+$/.test(r.subId)) continue;
    if (isolates.some((i) => i.subId === r.subId)) continue;
    const prefix = `${r.subId}.`;
    const lines = results.filter((s) => s.subId !== undefined && s.subId.startsWith(prefix));
    if (!isOrganismCode(r) && lines.length === 0) continue;
    isolates.push({ subId: r.subId, organism: r.value.coded, susceptibilities: lines });
  }
  return isolates.length > 0 ? isolates : undefined;
}

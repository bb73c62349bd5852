/**
 * The "circuit de la biologie" LOINC value set (published on bioloinc.fr, not shipped): the codes
 * an import checks its LOINC codes against (SGL.LOI.07, a non-blocking error when absent). Read
 * from a configured file, either a FHIR ValueSet in JSON (compose.include[].concept[].code and
 * expansion.contains[].code, nested contains too) or text/CSV whose first column is the code
 * (`;` or `,` separated, a header line allowed: lines whose first cell is not a LOINC code are skipped).
 */
import { readFileSync } from 'node:fs';
import { PasserelleError } from '../errors';
import { decodeCsv } from './csv';
import { isLoincCode } from './loinc-code';

export interface LoincValueSet {
  /** Where it was read from (for the report). */
  readonly source: string;
  readonly codes: ReadonlySet<string>;
}

interface Contains {
  code?: unknown;
  contains?: Contains[];
}

function fromFhir(json: unknown, codes: Set<string>): boolean {
  if (!json || typeof json !== 'object' || (json as { resourceType?: unknown }).resourceType !== 'ValueSet') return false;
  const vs = json as { compose?: { include?: { concept?: { code?: unknown }[] }[] }; expansion?: { contains?: Contains[] } };
  for (const inc of vs.compose?.include ?? []) for (const c of inc.concept ?? []) if (typeof c.code === 'string') codes.add(c.code.trim());
  const walk = (list: Contains[] | undefined): void => {
    for (const c of list ?? []) {
      if (typeof c.code === 'string') codes.add(c.code.trim());
      walk(c.contains);
    }
  };
  walk(vs.expansion?.contains);
  return true;
}

export function loadValueSet(file: string): LoincValueSet {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new PasserelleError('PSL_CONFIG_INVALID', `${file}: cannot read the LOINC value set: ${(e as Error).message}`, { cause: e });
  }
  const { text } = decodeCsv(bytes);
  const codes = new Set<string>();
  if (text.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new PasserelleError('PSL_CONFIG_INVALID', `${file}: not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!fromFhir(json, codes)) throw new PasserelleError('PSL_CONFIG_INVALID', `${file}: JSON that is not a FHIR ValueSet`);
  } else {
    for (const line of text.split(/\r?\n|\r/)) {
      const first = line.split(/[;,\t]/)[0].trim().replace(/^"(.*)"$/, '$1');
      if (isLoincCode(first)) codes.add(first);
    }
  }
  if (codes.size === 0) throw new PasserelleError('PSL_CONFIG_INVALID', `${file}: no LOINC code found in the value set`);
  return { source: file, codes };
}

/**
 * The UCUM codes the ANS terminology check accepts (terminologie.sch `is-code-ucum-exist`): the
 * kit's UCUM table, after the rule's own transform (`{letters}` annotations removed). Renderers
 * ask it before writing a unit into a PQ, so a unit the check would refuse goes out as text
 * instead of failing the document.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const UCUM_TABLE = 'schematrons/profils/terminologies/terminologie/2.16.840.1.113883.6.8.xml';
const cache = new Map<string, (unit: string) => boolean>();

function unescapeXml(s: string): string {
  return s.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A predicate for `kitDir`'s UCUM table; without the table every unit is accepted (the check is skipped too). */
export function ansUcumAccepts(kitDir: string): (unit: string) => boolean {
  const hit = cache.get(kitDir);
  if (hit) return hit;
  const file = path.join(kitDir, UCUM_TABLE);
  let accepts: (unit: string) => boolean = () => true;
  if (existsSync(file)) {
    const codes = new Set([...readFileSync(file, 'utf8').matchAll(/<code>([^<]*)<\/code>/g)].map((m) => unescapeXml(m[1]!)));
    accepts = (unit) => {
      const transformed = unit.replace(/\{.[a-z]*.\}/g, '');
      return transformed === '' || codes.has(transformed);
    };
  }
  cache.set(kitDir, accepts);
  return accepts;
}

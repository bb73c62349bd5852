/**
 * Every UCUM code the unit map produces must pass the ANS terminology check, or each document
 * carrying it would be refused (issue 3). The check reads the kit's UCUM table and strips
 * `{letters}` annotations first, as terminologie.sch does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadUnitMap } from '../../engine/lab';
import { ANS_KIT_DIR } from '../support/ans-kit';

const UCUM_TABLE = join(ANS_KIT_DIR, 'schematrons/profils/terminologies/terminologie/2.16.840.1.113883.6.8.xml');

function ansUcumCodes(): Set<string> {
  const xml = readFileSync(UCUM_TABLE, 'utf8');
  const unescape = (s: string): string => s.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return new Set([...xml.matchAll(/<code>([^<]*)<\/code>/g)].map((m) => unescape(m[1]!)));
}

it('maps units only to UCUM codes the ANS terminology check accepts', () => {
  const codes = ansUcumCodes();
  expect(codes.size).toBeGreaterThan(500);
  const rejected = [...new Set(loadUnitMap().values())].filter((u) => {
    const transformed = u.replace(/\{.[a-z]*.\}/g, '');
    return transformed !== '' && !codes.has(transformed);
  });
  expect(rejected).toEqual([]);
});

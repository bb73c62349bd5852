/** Every PSL_ code the sources name is in the one catalogue (engine/errors.ts), with its retry class. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOGUE } from '../../engine/errors';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push(p);
  }
  return out;
}

test('no source names a PSL_ code that the catalogue lacks', () => {
  const files = ['engine', 'channels', 'bench', 'scripts'].flatMap((d) => {
    try {
      return sources(join(ROOT, d));
    } catch {
      return [];
    }
  });
  expect(files.length).toBeGreaterThan(50);
  const unknown = new Set<string>();
  let seen = 0;
  // Environment variables (process.env.PSL_…) are not error codes.
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/(?<!env\.)\bPSL_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      seen++;
      if (!(m[0] in ERROR_CATALOGUE)) unknown.add(`${m[0]} (${f.slice(ROOT.length + 1)})`);
    }
  }
  expect(seen).toBeGreaterThan(50);
  expect([...unknown]).toEqual([]);
});

test('the fallback code of uncoded errors and the batch refusal are catalogued', () => {
  expect(ERROR_CATALOGUE.PSL_INTERNAL.retry).toBe('permanent');
  expect(ERROR_CATALOGUE.PSL_BATCH_OVER_MLLP.retry).toBe('permanent');
  expect(ERROR_CATALOGUE.PSL_STORE_TRANSIENT.retry).toBe('transient');
});

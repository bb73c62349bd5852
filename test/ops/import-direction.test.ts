/**
 * Which way imports go: the console (engine/ops) imports the engine, never the reverse (only
 * the CLI, the composition root, wires them); the HL7 library imports nothing of the engine.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const ENGINE = join(ROOT, 'engine');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** Every module a source names: import / export … from, import(), require(), `import x = require()`. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The engine-relative folder a relative specifier lands in, or undefined for a package. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return relative(ENGINE, resolve(dirname(file), spec)).split(sep).join('/');
}

function violations(files: string[], forbidden: (landing: string, file: string) => boolean): string[] {
  const found: string[] = [];
  for (const f of files) {
    for (const spec of specifiers(readFileSync(f, 'utf8'))) {
      const t = target(f, spec);
      if (t !== undefined && forbidden(t, f)) found.push(`${relative(ROOT, f)} imports ${spec}`);
    }
  }
  return found;
}

const inside = (t: string, folder: string): boolean => t === folder || t.startsWith(folder + '/');

test('the scanner sees every form of import, and relative paths resolve', () => {
  const text = `import a from '../ops/x';\nexport { b } from "./y";\nimport './side';\nconst c = await import('../ops');\nconst d = require('../../engine/ops/z');\nimport type { E } from '../ops/context';`;
  expect(specifiers(text).sort()).toEqual(['../../engine/ops/z', '../ops', '../ops/context', '../ops/x', './side', './y']);
  expect(target(join(ENGINE, 'channels', 'channel.ts'), '../ops/console')).toBe('ops/console');
  expect(target(join(ENGINE, 'engine.ts'), './opsx')).toBe('opsx');
  expect(inside('opsx', 'ops')).toBe(false);
});

test('nothing of the engine outside engine/ops and engine/cli imports engine/ops', () => {
  const files = tsFiles(ENGINE).filter((f) => {
    const r = relative(ENGINE, f).split(sep).join('/');
    return !inside(r, 'ops') && !inside(r, 'cli');
  });
  expect(files.length).toBeGreaterThan(100);
  expect(violations(files, (t) => inside(t, 'ops'))).toEqual([]);
});

test('engine/hl7 imports nothing of the engine outside itself', () => {
  const files = tsFiles(join(ENGINE, 'hl7'));
  expect(files.length).toBeGreaterThan(3);
  expect(violations(files, (t) => !inside(t, 'hl7'))).toEqual([]);
});

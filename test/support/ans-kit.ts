/**
 * The ANS CR-BIO kit used by the tests (read-only reference data, never bundled): found or fetched
 * by engine/config/reference-data.ts. A test file that imports this and cannot get a kit fails
 * with that module's one-line message.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRootOf, resolveAnsKit } from '../../engine/config/reference-data';

export const ANS_KIT_DIR = resolveAnsKit({ root: repoRootOf(__dirname) });
export const ANS_EXAMPLES_DIR = path.join(ANS_KIT_DIR, 'ExemplesCDA');

/** Cache dir for prepared rule sets in tests: outside the repository, shared between test files. */
export const TEST_CACHE_DIR = path.join(os.tmpdir(), 'passerelle-test-schematron-cache');

/**
 * ASCII name of an example: at the pinned commit some ANS names carry accents, spaces or a double
 * .xml (../shared/ans and later ANS commits use the ASCII form).
 */
function asciiName(f: string): string {
  return f
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ /g, '_')
    .replace(/\.xml\.xml$/, '.xml');
}

/** The kit's CR-BIO examples by ASCII name (other volets' examples of a full ANS checkout left out). */
function exampleIndex(): Map<string, string> {
  const byName = new Map<string, string>();
  for (const f of fs.readdirSync(ANS_EXAMPLES_DIR)) {
    if (f.startsWith('BIO-CR-BIO_') && f.endsWith('.xml')) byName.set(asciiName(f), f);
  }
  return byName;
}

export function ansExampleFiles(): string[] {
  return [...exampleIndex().keys()].sort();
}

export function ansExamplePath(name: string): string {
  const f = exampleIndex().get(name);
  if (!f) throw new Error(`no ANS example ${name} in ${ANS_EXAMPLES_DIR}`);
  return path.join(ANS_EXAMPLES_DIR, f);
}

export function readAnsExample(name: string): string {
  return fs.readFileSync(ansExamplePath(name), 'utf8');
}

/** Location of the ANS CR-BIO kit used by *.int.test.ts (read-only reference data, never bundled). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ANS_KIT_DIR = path.resolve(__dirname, '../../../shared/ans');
export const ANS_EXAMPLES_DIR = path.join(ANS_KIT_DIR, 'ExemplesCDA');

/** Cache dir for prepared rule sets in tests: outside the repository, shared between test files. */
export const TEST_CACHE_DIR = path.join(os.tmpdir(), 'passerelle-test-schematron-cache');

export function ansExampleFiles(): string[] {
  return fs
    .readdirSync(ANS_EXAMPLES_DIR)
    .filter((f) => f.endsWith('.xml'))
    .sort();
}

export function readAnsExample(name: string): string {
  return fs.readFileSync(path.join(ANS_EXAMPLES_DIR, name), 'utf8');
}

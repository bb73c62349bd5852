/** Small settings files written for a test, and the file:line message their loading refuses them with. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PasserelleError } from '../../engine/errors';

/** A function writing `name` with `text` into a fresh temporary directory (`prefix`…), returning its path. */
export function fileWriter(prefix: string): (name: string, text: string) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return (name, text) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
}

/** The message of the configuration error (PSL_CONFIG_INVALID) `load` throws; anything else fails the test. */
export function configErrorMessage(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    if (e instanceof PasserelleError && e.code === 'PSL_CONFIG_INVALID') return e.message;
    throw new Error(`expected a PSL_CONFIG_INVALID error, got: ${(e as Error)?.message ?? String(e)}`);
  }
  throw new Error('expected a PSL_CONFIG_INVALID error, nothing was thrown');
}

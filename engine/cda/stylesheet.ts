import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the presentation stylesheet lives: beside this module in dist (the build copies it)
 * or in the source tree when run through ts-jest.
 */
export function stylesheetPath(): string {
  for (const p of [join(__dirname, 'stylesheet', 'cda-passerelle.xsl'), join(__dirname, '../../../engine/cda/stylesheet/cda-passerelle.xsl')]) {
    if (existsSync(p)) return p;
  }
  throw new Error('cda-passerelle.xsl not found beside engine/cda (was the build step that copies it skipped?)');
}

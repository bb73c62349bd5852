/** The ebRS 3.0 lcm.xsd of ../shared/xds, compiled with libxml2 (main thread), for XDS metadata tests. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lx = require('libxmljs') as typeof import('libxmljs');
export const SHARED = resolve(__dirname, '../../../shared');
export const RIM_NS = { rim: 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0' };

/** lcm.xsd, with rim.xsd's import of http://www.w3.org/2001/xml.xsd pointed at the local copy (what catalog.xml says). */
export function lcmSchema(): ReturnType<typeof lx.parseXml> {
  const dir = mkdtempSync(join(tmpdir(), 'psl-xsd-'));
  cpSync(join(SHARED, 'xds', 'schema'), dir, { recursive: true });
  const rim = join(dir, 'ebRS', 'rim.xsd');
  writeFileSync(rim, readFileSync(rim, 'utf8').replace('http://www.w3.org/2001/xml.xsd', '../w3c/xml.xsd'));
  const lcm = join(dir, 'ebRS', 'lcm.xsd');
  return lx.parseXml(readFileSync(lcm, 'utf8'), { baseUrl: lcm });
}

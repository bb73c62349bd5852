/** The ebRS 3.0 lcm.xsd of ../shared/xds, compiled with libxml2 (main thread), for XDS metadata tests. */
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRootOf } from '../../engine/config/reference-data';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lx = require('libxmljs') as typeof import('libxmljs');
/** ../shared beside the clone (from sources or from dist/), or PASSERELLE_SHARED. */
export const SHARED = process.env.PASSERELLE_SHARED ? resolve(process.env.PASSERELLE_SHARED) : resolve(repoRootOf(__dirname), '..', 'shared');

/** A folder of the shared reference data, or one line saying what is missing and how to provide it. */
export function sharedDir(sub: 'xds' | 'jdv'): string {
  const dir = join(SHARED, sub);
  if (!existsSync(dir)) {
    throw new Error(
      `${dir} not found: the delivery tests read the ${sub === 'xds' ? 'XDS.b / ebRS schemas (IHE/IT-Infrastructure@2f499a7 schema/)' : 'JDV value sets of the DMP (ANS)'} from ../shared beside the clone; set PASSERELLE_SHARED to the folder holding xds/ and jdv/`,
    );
  }
  return dir;
}
export const RIM_NS = { rim: 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0' };

/** A copy of ../shared/xds/schema with rim.xsd's import of http://www.w3.org/2001/xml.xsd pointed at the local copy (what catalog.xml says). */
function schemaCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'psl-xsd-'));
  cpSync(join(sharedDir('xds'), 'schema'), dir, { recursive: true });
  const rim = join(dir, 'ebRS', 'rim.xsd');
  writeFileSync(rim, readFileSync(rim, 'utf8').replace('http://www.w3.org/2001/xml.xsd', '../w3c/xml.xsd'));
  return dir;
}

function compile(file: string): ReturnType<typeof lx.parseXml> {
  return lx.parseXml(readFileSync(file, 'utf8'), { baseUrl: file });
}

/** lcm.xsd (SubmitObjectsRequest: XDM METADATA.XML, ITI-57). */
export function lcmSchema(): ReturnType<typeof lx.parseXml> {
  return compile(join(schemaCopy(), 'ebRS', 'lcm.xsd'));
}

/** XDS.b_DocumentRepository.xsd (ITI-41 ProvideAndRegisterDocumentSetRequest, documents inlined as base64). */
export function repositorySchema(): ReturnType<typeof lx.parseXml> {
  return compile(join(schemaCopy(), 'IHE', 'XDS.b_DocumentRepository.xsd'));
}

/** rs.xsd (RegistryResponse). */
export function rsSchema(): ReturnType<typeof lx.parseXml> {
  return compile(join(schemaCopy(), 'ebRS', 'rs.xsd'));
}

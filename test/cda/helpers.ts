/** XML helpers for the CDA tests: xmllint XSD validation and XPath queries (libxmljs). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseXml, type XMLDocument } from 'libxmljs';
import { repoRootOf, resolveAnsKit } from '../../engine/config/reference-data';

let xsdFile: string | undefined;
/** The kit's CDA XSD, looked for on first use (tests that only query XML need no kit). */
function cdaXsd(): string {
  xsdFile ??= path.join(resolveAnsKit({ root: repoRootOf(__dirname) }), 'infrastructure/cda/CDA_extended.xsd');
  return xsdFile;
}
const NSMAP = { c: 'urn:hl7-org:v3', lab: 'urn:oid:1.3.6.1.4.1.19376.1.3.2', xsi: 'http://www.w3.org/2001/XMLSchema-instance' };

/** Validates against the CDA XSD with xmllint; returns the error lines (empty when valid). */
export function xsdErrors(xml: string): string[] {
  const xsd = cdaXsd();
  const dir = mkdtempSync(path.join(tmpdir(), 'cda-'));
  const file = path.join(dir, 'doc.xml');
  writeFileSync(file, xml);
  try {
    execFileSync('xmllint', ['--noout', '--schema', xsd, file], { stdio: 'pipe' });
    return [];
  } catch (err) {
    const e = err as { stderr?: Buffer };
    return String(e.stderr ?? err)
      .split('\n')
      .filter((l) => l.trim() && !l.includes('Skipping import') && !l.endsWith('fails to validate'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class Doc {
  readonly doc: XMLDocument;
  constructor(readonly xml: string) {
    this.doc = parseXml(xml);
  }
  str(xpath: string): string {
    return String(this.doc.get(`string(${xpath})`, NSMAP));
  }
  count(xpath: string): number {
    return Number(this.doc.get(`count(${xpath})`, NSMAP));
  }
  strings(xpath: string): string[] {
    const n = this.count(xpath);
    const out: string[] = [];
    for (let i = 1; i <= n; i++) out.push(this.str(`(${xpath})[${i}]`));
    return out;
  }
}

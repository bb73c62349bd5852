/**
 * IHE_XDM.ZIP of a report version (issue 9, items 4 and 6): the IHE layout with 8.3 upper-case
 * names, METADATA.XML valid against lcm.xsd with each file's URI, SHA-1 and size, entry ids
 * that let the next version's RPLC name this one, and `passerelle xdm` on a version folder.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { strFromU8, unzipSync } from 'fflate';
import { xdsFactsOfCda } from '../../engine/delivery/xds/metadata';
import { buildXdm, entryUuidOf } from '../../engine/delivery/xds/xdm';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { RIM_NS, lcmSchema, lx } from '../support/xds';

const run = promisify(execFile);
const repo = resolve(__dirname, '../..');
const RENDERED = join(repo, 'samples', 'rendered');
const N3 = readFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n3.xml'), 'utf8');
const N1 = readFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n1.xml'), 'utf8');
const VIS = { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false };
const idOf = (xml: string): string => /<id root="([^"]+)"/.exec(xml)![1]!;

function xdm(n3 = N3, n1: string | undefined = N1, replaces?: { n3: string; n1?: string }): Record<string, Uint8Array> {
  return unzipSync(buildXdm({ facts: xdsFactsOfCda(n3), lab: TEST_LAB_PROFILE, n3, n1, replaces, submissionUniqueId: '1.2.250.1.999.1.3.7', sourceId: '1.2.250.1.999.1', submissionTime: new Date(Date.UTC(2026, 10, 25, 9)), visibility: VIS }));
}

test('layout, 8.3 names, METADATA.XML valid with URI / hash / size of each document, entry ids from the documents\' ids', () => {
  const files = xdm();
  expect(Object.keys(files).sort()).toEqual(['IHE_XDM/SUBSET01/DOC0001.XML', 'IHE_XDM/SUBSET01/DOC0002.XML', 'IHE_XDM/SUBSET01/METADATA.XML', 'INDEX.HTM', 'README.TXT']);
  for (const name of Object.keys(files)) for (const part of name.split('/')) expect(part).toMatch(/^[A-Z0-9_]{1,8}(\.[A-Z0-9]{1,3})?$/);
  expect(strFromU8(files['IHE_XDM/SUBSET01/DOC0001.XML']!)).toBe(N3);
  const meta = lx.parseXml(strFromU8(files['IHE_XDM/SUBSET01/METADATA.XML']!));
  if (!meta.validate(lcmSchema())) throw new Error(meta.validationErrors.map((e) => e.message).join('\n'));
  for (const [uri, xml] of [['DOC0001.XML', N3], ['DOC0002.XML', N1]] as const) {
    const eo = meta.get(`//rim:ExtrinsicObject[rim:Slot[@name='URI']/rim:ValueList/rim:Value='${uri}']`, RIM_NS) as unknown as { getAttribute(n: string): { value(): string } };
    expect(eo.getAttribute('id').value()).toBe(entryUuidOf(idOf(xml)));
    const slot = (n: string): string => (meta.get(`//rim:ExtrinsicObject[@id='${entryUuidOf(idOf(xml))}']/rim:Slot[@name='${n}']/rim:ValueList/rim:Value`, RIM_NS) as unknown as { text(): string }).text();
    expect(slot('hash')).toBe(createHash('sha1').update(Buffer.from(files[`IHE_XDM/SUBSET01/${uri}`]!)).digest('hex'));
    expect(slot('size')).toBe(String(files[`IHE_XDM/SUBSET01/${uri}`]!.length));
  }
  expect(strFromU8(files['INDEX.HTM']!)).toContain('href="IHE_XDM/SUBSET01/DOC0001.XML"');
  expect(strFromU8(files['README.TXT']!)).toContain(TEST_LAB_PROFILE.lab.name);
});

test('the next version replaces this one by the entry id this one had: RPLC to entryUuidOf(previous document id)', () => {
  const first = lx.parseXml(strFromU8(xdm()['IHE_XDM/SUBSET01/METADATA.XML']!));
  const firstEntry = (first.get("//rim:ExtrinsicObject[rim:Slot[@name='URI']/rim:ValueList/rim:Value='DOC0001.XML']", RIM_NS) as unknown as { getAttribute(n: string): { value(): string } }).getAttribute('id').value();
  const v2 = N3.replace(idOf(N3), `${idOf(N3)}9`);
  const second = strFromU8(xdm(v2, undefined, { n3: idOf(N3) })['IHE_XDM/SUBSET01/METADATA.XML']!);
  expect(second).toContain(`associationType="urn:ihe:iti:2007:AssociationType:RPLC" sourceObject="${entryUuidOf(`${idOf(N3)}9`)}" targetObject="${firstEntry}"`);
  expect(lx.parseXml(second).validate(lcmSchema())).toBe(true);
});

test('passerelle xdm on a version folder writes the zip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-xdm-'));
  copyFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n3.xml'), join(dir, 'pro.n3.xml'));
  copyFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n1.xml'), join(dir, 'pro.n1.xml'));
  const out = join(dir, 'IHE_XDM.ZIP');
  const r = await run(process.execPath, [join(repo, 'dist/engine/cli/main.js'), 'xdm', dir, '--out', out], { cwd: repo });
  expect(r.stdout).toContain('IHE_XDM.ZIP with the N3 and the N1');
  const files = unzipSync(readFileSync(out));
  expect(strFromU8(files['IHE_XDM/SUBSET01/DOC0002.XML']!)).toBe(N1);
  expect(strFromU8(files['IHE_XDM/SUBSET01/METADATA.XML']!)).toContain('248092A20345642^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH');
});

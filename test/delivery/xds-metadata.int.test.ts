/**
 * The XDS metadata of a report version (issue 9, items 2 and 4): valid against the ebRS 3.0
 * lcm.xsd of ../shared/xds, every code in its value set (../shared/jdv), the INS as patientId
 * only when qualified, XDM's URI / hash / size, and the RPLC association of a replacement.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage, type Report } from '../../engine/lab';
import { buildSubmitObjectsRequest, xdsFactsOfCda, xdsFactsOfReport, type XdsDocument } from '../../engine/delivery/xds/metadata';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { RIM_NS as RIM, lcmSchema, lx, sharedDir } from '../support/xds';

const repo = resolve(__dirname, '../..');
const RENDERED = join(repo, 'samples', 'rendered');

const report = (f: string): Report => reportFromMessage(Message.parse(decode(readFileSync(join(repo, 'samples', f))).text));
const doc = (name: string, kind: 'n3' | 'n1', entryId: string, extra: Partial<XdsDocument> = {}): XdsDocument => ({
  entryId,
  kind,
  xml: readFileSync(join(RENDERED, `${name}.${kind}.xml`), 'utf8'),
  ...extra,
});

function csvCodes(file: string): Set<string> {
  return new Set(readFileSync(join(sharedDir('jdv'), 'dmp', file), 'utf8').split('\n').slice(1).map((l) => l.split(',')[0]!).filter(Boolean));
}

function submission(r: Report, docs: XdsDocument[], visibility = { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false }): string {
  return buildSubmitObjectsRequest({ facts: xdsFactsOfReport(r, TEST_LAB_PROFILE), lab: TEST_LAB_PROFILE, documents: docs, submissionUniqueId: '1.2.250.1.999.1.3.42', sourceId: '1.2.250.1.999.1', submissionTime: new Date(Date.UTC(2026, 10, 25, 9, 0, 0)), visibility });
}

/** nodeRepresentation of the classifications of a scheme, on a document. */
const codes = (x: ReturnType<typeof lx.parseXml>, entry: string, scheme: string): string[] =>
  (x.find(`//rim:ExtrinsicObject[@id='${entry}']/rim:Classification[@classificationScheme='${scheme}']`, RIM) as { getAttribute(n: string): { value(): string } | null }[]).map((c) => c.getAttribute('nodeRepresentation')!.value());

test('N3 and N1 of a version: valid against lcm.xsd, every code in its value set, the INS as patientId', () => {
  const xml = submission(report('oru-r01_ltw_biochemistry.hl7'), [doc('oru-r01_ltw_biochemistry', 'n3', 'Document01'), doc('oru-r01_ltw_biochemistry', 'n1', 'Document02')]);
  const x = lx.parseXml(xml);
  const schema = lcmSchema();
  const ok = x.validate(schema);
  if (!ok) throw new Error(x.validationErrors.map((e) => e.message).join('\n'));
  // The schema does refuse what is not ebRS (the check can fail).
  expect(lx.parseXml(xml.replace(/<rim:RegistryObjectList>/, '<rim:RegistryObjectList><rim:Bogus/>')).validate(schema)).toBe(false);
  for (const entry of ['Document01', 'Document02']) {
    expect(codes(x, entry, 'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a').every((c) => csvCodes('JDV_J57-ClassCode-DMP.csv').has(c))).toBe(true);
    expect(codes(x, entry, 'urn:uuid:f0306f51-975f-434e-a61c-c59651d33983')).toEqual(['11502-2']);
    expect(csvCodes('JDV_J66-TypeCode-DMP.csv').has('11502-2')).toBe(true);
    expect(codes(x, entry, 'urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f').every((c) => csvCodes('JDV_J58-ConfidentialityCode-DMP.csv').has(c))).toBe(true);
    expect(codes(x, entry, 'urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1').every((c) => csvCodes('JDV_J61-HealthcareFacilityTypeCode-DMP.csv').has(c))).toBe(true);
    expect(codes(x, entry, 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d').every((c) => csvCodes('JDV_J60-FormatCode-DMP.csv').has(c))).toBe(true);
    const practice = codes(x, entry, 'urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead');
    expect(practice.every((c) => readFileSync(join(sharedDir('jdv'), 'cisis-svs', 'JDV_J04_XdsPracticeSettingCode_CISIS.xml'), 'utf8').includes(`code="${c}"`))).toBe(true);
  }
  expect(codes(x, 'Document01', 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d')).toEqual(['urn:ihe:lab:xd-lab:2008']);
  expect(codes(x, 'Document02', 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d')).toEqual(['urn:ihe:iti:xds-sd:pdf:2008']);
  const content = x.get("//rim:RegistryPackage/rim:Classification[@classificationScheme='urn:uuid:aa543740-bdda-424e-8c96-df4873be8500']", RIM) as unknown as { getAttribute(n: string): { value(): string } };
  expect(csvCodes('JDV_J59-ContentTypeCode-DMP.csv').has(content.getAttribute('nodeRepresentation').value())).toBe(true);
  expect(xml).toContain('value="248092A20345642^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH"');
  // The document's uniqueId is its ClinicalDocument/id.
  const n3Id = /<id root="([^"]+)"/.exec(readFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n3.xml'), 'utf8'))![1];
  expect(xml).toContain(`identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" value="${n3Id}"`);
});

test('a non-qualified identity: the local id, never the INS; masking and visibility as confidentiality codes', () => {
  const r = report('oru-r01_identity-prov.hl7');
  const xml = submission(r, [doc('oru-r01_identity-prov', 'n3', 'Document01')], { maskedFromProfessionals: true, invisibleToPatient: true, invisibleToLegalRepresentatives: false });
  expect(xml).not.toMatch(/\^NH|1\.2\.250\.1\.213\.1\.4\.(8|9|10|11)/);
  expect(xml).toMatch(/\^PI"/);
  const x = lx.parseXml(xml);
  expect(x.validate(lcmSchema())).toBe(true);
  expect(codes(x, 'Document01', 'urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f')).toEqual(['N', 'MASQUE_PS', 'INVISIBLE_PATIENT']);
});

test('XDM: URI, SHA-1 hash and size of each file; a replacement has its RPLC association to the entry it replaces', () => {
  const d = doc('oru-r01_ltw_biochemistry', 'n3', 'Document01', { uri: 'DOC0001.XML', replaces: 'urn:uuid:0f8a1b4e-3c7d-4f0a-9b1e-2d3c4b5a6978' });
  const xml = submission(report('oru-r01_ltw_biochemistry.hl7'), [d]);
  const x = lx.parseXml(xml);
  expect(x.validate(lcmSchema())).toBe(true);
  const slotValue = (n: string): string => (x.get(`//rim:ExtrinsicObject/rim:Slot[@name='${n}']/rim:ValueList/rim:Value`, RIM) as unknown as { text(): string }).text();
  expect(slotValue('URI')).toBe('DOC0001.XML');
  expect(slotValue('hash')).toBe(createHash('sha1').update(d.xml, 'utf8').digest('hex'));
  expect(slotValue('size')).toBe(String(Buffer.byteLength(d.xml, 'utf8')));
  expect(xml).toContain('associationType="urn:ihe:iti:2007:AssociationType:RPLC" sourceObject="Document01" targetObject="urn:uuid:0f8a1b4e-3c7d-4f0a-9b1e-2d3c4b5a6978"');
});

test('the facts read back from an N3 are the report\'s own (the form `passerelle xdm` uses on files)', () => {
  for (const name of ['oru-r01_ltw_biochemistry', 'oru-r01_identity-prov']) {
    const r = report(`${name}.hl7`);
    const fromCda = xdsFactsOfCda(readFileSync(join(RENDERED, `${name}.n3.xml`), 'utf8'));
    const fromReport = xdsFactsOfReport(r, TEST_LAB_PROFILE);
    expect(fromCda.patient.ins?.matricule).toBe(fromReport.patient.ins?.matricule);
    expect([fromCda.patient.birthFamily, fromCda.patient.firstBirthGiven, fromCda.patient.birthDate, fromCda.patient.sex]).toEqual([
      fromReport.patient.birthFamily, fromReport.patient.firstBirthGiven, fromReport.patient.birthDate, fromReport.patient.sex,
    ]);
    expect(fromCda.author.id).toBe(fromReport.author.id);
  }
});

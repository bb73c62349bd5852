/**
 * The DMP double refuses what the DMP would (issue 9, item 3): its checks can fail. A request
 * built by the engine's own pieces is accepted; the same request with a tampered VIHF, a code
 * outside its value set, a document that is not the one the XAdES manifest digests, or an RPLC
 * to an entry it does not hold is refused with the reason; a client without a certificate of
 * the CA does not get a TLS session.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { loadSeal, type Seal } from '../../engine/delivery/dmp/signer';
import { buildVihf } from '../../engine/delivery/dmp/vihf';
import { buildXades } from '../../engine/delivery/dmp/xades';
import { provideAndRegister } from '../../engine/delivery/dmp/soap';
import { DmpClient } from '../../engine/delivery/dmp/dmp-client';
import { buildSubmitObjectsRequest, xdsFactsOfCda } from '../../engine/delivery/xds/metadata';
import { entryUuidOf } from '../../engine/delivery/xds/xdm';
import { PasserelleError } from '../../engine/errors';
import { DmpDouble } from '../support/dmp-double';
import { makePki, type TestPki } from '../support/pki';
import { freePort } from '../support/redis';
import { TEST_LAB_PROFILE } from '../support/lab-profile';

const RENDERED = join(__dirname, '../../samples/rendered');
const N3 = readFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n3.xml'), 'utf8');
const N1 = readFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n1.xml'), 'utf8');

let pki: TestPki;
let dmp: DmpDouble;
let client: DmpClient;
let seal: Seal;

beforeAll(async () => {
  pki = makePki();
  dmp = new DmpDouble(await freePort(), pki);
  await dmp.listen();
  seal = loadSeal({ cert: join(pki.dir, 'sign.crt'), key: join(pki.dir, 'sign.key') }, 'test');
  client = new DmpClient({ url: dmp.url, tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey }, connectTimeoutMs: 2000, responseTimeoutMs: 5000, maxSockets: 1 });
});

afterAll(async () => {
  client?.close();
  await dmp?.close();
  pki?.cleanup();
});

const idOf = (xml: string): string => {
  const m = /<id root="([^"]+)"(?: extension="([^"]+)")?/.exec(xml)!;
  return m[2] ? `${m[1]}^${m[2]}` : m[1]!;
};

interface Tamper {
  vihf?: (xml: string) => string;
  metadata?: (xml: string) => string;
  n3Sent?: (xml: string) => string;
  replaces?: string;
}

async function submit(t: Tamper = {}, n3 = N3, n1 = N1): Promise<string> {
  const facts = xdsFactsOfCda(n3);
  const now = new Date();
  const docs = [
    { entryId: entryUuidOf(idOf(n3)), kind: 'n3' as const, xml: n3, ...(t.replaces ? { replaces: t.replaces } : {}) },
    { entryId: entryUuidOf(idOf(n1)), kind: 'n1' as const, xml: n1 },
  ];
  const signature = buildXades({ seal, signatureId: '2.25.4242', submissionUniqueId: '2.25.4343', documents: docs.map((d) => ({ uniqueId: idOf(d.xml), xml: d.xml })), now });
  const all = [...docs, { entryId: entryUuidOf('2.25.4242'), kind: 'signature' as const, xml: signature, signature: { uniqueId: '2.25.4242', time: now } }];
  const metadata = buildSubmitObjectsRequest({ facts, lab: TEST_LAB_PROFILE, documents: all, submissionUniqueId: '2.25.4343', sourceId: TEST_LAB_PROFILE.documentIdRoot, submissionTime: now, visibility: { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false } });
  const vihf = buildVihf({ seal, responsible: '1/2', structureId: '1123456789', activitySector: 'SA25^1.2.250.1.71.4.2.4', subjectId: 'test', patient: facts.patient.ins!, software: { name: 'Passerelle', version: 'test' } });
  const req = provideAndRegister({
    to: client.endpoint('repository'),
    vihf: t.vihf ? t.vihf(vihf) : vihf,
    submitObjects: t.metadata ? t.metadata(metadata) : metadata,
    documents: all.map((d) => ({ id: d.entryId, content: Buffer.from(d.kind === 'n3' && t.n3Sent ? t.n3Sent(d.xml) : d.xml, 'utf8') })),
  });
  try {
    return (await client.send('repository', req)).status;
  } catch (e) {
    return `${(e as PasserelleError).code}: ${(e as Error).message}`;
  }
}

afterEach(() => {
  dmp.problems.length = 0;
  dmp.entries.clear();
});

test('a request built by the engine is accepted', async () => {
  expect(await submit()).toBe('success');
  expect(dmp.problems).toEqual([]);
  expect(dmp.held()).toHaveLength(3);
});

test('a tampered VIHF (authentication mode changed after signing) is refused', async () => {
  expect(await submit({ vihf: (x) => x.replace('<AttributeValue>INDIRECTE</AttributeValue>', '<AttributeValue>DIRECTE</AttributeValue>') })).toMatch(/^PSL_DMP_REFUSED: .*XDSRegistryMetadataError/);
  expect(dmp.problems).toEqual([expect.stringContaining('VIHF: the signature does not verify')]);
});

test('a classCode outside JDV_J57 is refused', async () => {
  expect(await submit({ metadata: (x) => x.replace('nodeRepresentation="10"', 'nodeRepresentation="99"') })).toMatch(/^PSL_DMP_REFUSED/);
  expect(dmp.problems).toEqual([expect.stringContaining('99 is not in the value set')]);
});

test('a body that is not valid against the XDS.b schema is refused', async () => {
  expect(await submit({ metadata: (x) => x.replace('<rim:RegistryObjectList>', '<rim:RegistryObjectList><rim:Bogus/>') })).toMatch(/^PSL_DMP_REFUSED/);
  expect(dmp.problems).toEqual([expect.stringContaining('not valid against XDS.b_DocumentRepository.xsd')]);
});

test('a document that is not the one the XAdES manifest digests is refused', async () => {
  expect(await submit({ n3Sent: (x) => x.replace('</ClinicalDocument>', '<!-- changed --></ClinicalDocument>') })).toMatch(/^PSL_DMP_REFUSED/);
  expect(dmp.problems).toEqual([expect.stringContaining("the manifest's digest")]);
});

test('an RPLC to an entry the DMP does not hold is refused', async () => {
  expect(await submit({ replaces: 'urn:uuid:00000000-0000-4000-8000-000000000000' })).toMatch(/^PSL_DMP_REFUSED/);
  expect(dmp.problems).toEqual([expect.stringContaining('RPLC: urn:uuid:00000000-0000-4000-8000-000000000000 is not an approved entry')]);
});

test('the same documents twice: XDSDuplicateUniqueIdInRegistry, which the engine reads as already filed', async () => {
  expect(await submit()).toBe('success');
  expect(await submit()).toBe('duplicate');
});

test('a client without a certificate of the CA gets no TLS session', async () => {
  const outcome = await new Promise<string>((resolve) => {
    const r = request(`${dmp.url}/repository`, { method: 'POST', ca: pki.caCert, cert: pki.rogueCert, key: pki.rogueKey }, (res) => resolve(`HTTP ${res.statusCode}`));
    r.on('error', (e) => resolve(`error ${(e as { code?: string }).code ?? e.message}`));
    r.end('x');
  });
  expect(outcome).toMatch(/^error /);
});

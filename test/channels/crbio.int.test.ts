/**
 * A results channel with a `crbio` destination, through a real engine: each ORU becomes its
 * document sets (professional and patient versions), validated by the ANS rules before they are
 * written; the full profile-set report follows, off the main thread. A message whose document
 * fails the rules is quarantined with the rule, location and text, and nothing is written for
 * sending.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { LAB_PROFILE_FILE } from '../support/lab-profile';
import { waitFor } from '../support/wait';

const SAMPLES = resolve(__dirname, '../../samples');
let te: TestEngine;
let client: MllpClient;

beforeAll(async () => {
  te = await startTestEngine({
    'results.yaml': channelYaml(
      'results',
      `acceptance:\n  messageTypes: [ORU^R01, OUL^R22]\n` +
        `destinations:\n  - name: crbio\n    type: crbio\n    directory: \${DIR}/crbio\n    profiles: [pro, patient]\n    lab: ${LAB_PROFILE_FILE}\n` +
        `    retry:\n      maxAttempts: 2\n      backoffBaseMs: 20\n`,
    ),
  }, { ansKitDir: ANS_KIT_DIR });
  client = new MllpClient({ host: '127.0.0.1', port: te.port('results') });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await te?.stop();
});

async function send(raw: Buffer): Promise<string> {
  const ack = Message.parse(decode(await client.send(raw)).text);
  return ack.get('MSA-1');
}

it('writes the professional and patient document sets once the ANS rules passed, then the full-set report', async () => {
  const raw = readFileSync(join(SAMPLES, 'oru-r01_biochemistry.hl7'));
  const controlId = Message.parse(decode(raw).text).controlId;
  expect(await send(raw)).toBe('AA');
  const dir = join(te.dir, 'crbio', controlId);
  expect(await waitFor(() => existsSync(join(dir, 'patient.metadata.json')), 60_000)).toBe(true);
  for (const profile of ['pro', 'patient']) {
    const inline = JSON.parse(readFileSync(join(dir, `${profile}.validation.json`), 'utf8'));
    expect(inline.n3.valid).toBe(true);
    expect(inline.n3.ruleSets).toEqual(['xsd', 'volet-2024.01']);
    const meta = JSON.parse(readFileSync(join(dir, `${profile}.metadata.json`), 'utf8'));
    expect(meta.profile).toBe(profile);
    expect(meta.insQualified).toBe(true);
    expect(readFileSync(join(dir, meta.pdfFileName)).subarray(0, 5).toString()).toBe('%PDF-');
    expect(readFileSync(join(dir, `${profile}.n3.xml`), 'utf8')).toContain('extension="2024.01"');
  }
  expect(existsSync(join(dir, 'cda-passerelle.xsl'))).toBe(true);
  expect(await waitFor(() => existsSync(join(dir, 'pro.validation-full.json')), 60_000)).toBe(true);
  const full = JSON.parse(readFileSync(join(dir, 'pro.validation-full.json'), 'utf8'));
  expect(full.n3.ruleSets).toEqual(expect.arrayContaining(['IHE', 'ModelesDeContenusCDA', 'Modeles_ANS', 'StrucMin', 'terminologie']));
  expect(full.n3.errors).toBe(0);
  expect(full.n1.errors).toBe(0);
  expect(await waitFor(async () => (await te.engine.messageStore.list('results', 'done', 10)).some((m) => m.controlId === controlId), 10_000)).toBe(true);
}, 120_000);

it('quarantines a message whose N3 breaks the CDA schema: dead-lettered with rule and location, nothing written for sending', async () => {
  // A local test code with a space: the CDA `code` attribute (type cs) cannot hold it.
  const text = decode(readFileSync(join(SAMPLES, 'oru-r01_biochemistry.hl7'))).text.replace('^GLY^Glycémie^L', '^GLY A^Glycémie^L').replace('SMP-ORU-BIO-0001', 'SMP-BAD-0001');
  expect(text).toContain('GLY A');
  expect(await send(Buffer.from(text, 'utf8'))).toBe('AA');
  let reason = '';
  expect(
    await waitFor(async () => {
      const dead = (await te.engine.messageStore.list('results', 'dead', 10)).find((m) => m.controlId === 'SMP-BAD-0001');
      reason = dead?.reason ?? '';
      return dead !== undefined;
    }, 60_000),
  ).toBe(true);
  expect(reason).toMatch(/PSL_DOCUMENT_INVALID/);
  expect(reason).toMatch(/\[xsd\].*GLY A.*pattern/);
  expect(existsSync(join(te.dir, 'crbio', 'SMP-BAD-0001'))).toBe(false);
  const q = join(te.dir, 'crbio', 'quarantine', 'SMP-BAD-0001');
  expect(readdirSync(q)).toEqual(expect.arrayContaining(['pro.n3.xml', 'pro.validation.json']));
  const report = JSON.parse(readFileSync(join(q, 'pro.validation.json'), 'utf8'));
  expect(report.n3.valid).toBe(false);
  expect(report.n3.findings.some((f: { ruleSet: string; location: string }) => f.ruleSet === 'xsd' && /line/.test(f.location))).toBe(true);
}, 120_000);

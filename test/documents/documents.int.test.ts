/**
 * Every sample, and ORU messages the code has never seen, become document sets that pass the
 * official ANS rules: inline (XSD + volet) when rendered, and the five profile sets too.
 * A non-qualified identity never puts an INS in any document.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { renderDocumentSet, type DocumentSet } from '../../engine/documents/document-set';
import { AnsKit } from '../../engine/validation';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { generateOru } from '../support/oru-generator';

const SAMPLES = resolve(__dirname, '../../samples');
const INS_ROOTS = ['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11'];
const TIME = '20261125120000+0100';

let kit: AnsKit;
beforeAll(async () => {
  kit = AnsKit.open(ANS_KIT_DIR);
  await kit.prepare(['volet-2024.01', 'volet-2021.01', 'IHE', 'ModelesDeContenusCDA', 'Modeles_ANS', 'StrucMin', 'terminologie']);
}, 120_000);

function render(text: string | Buffer, version: '2024.01' | '2021.01' = '2024.01', profile: 'pro' | 'patient' = 'pro'): Promise<DocumentSet> {
  const msg = Message.parse(typeof text === 'string' ? text : decode(text).text);
  return renderDocumentSet(reportFromMessage(msg), TEST_LAB_PROFILE, { version, profile, effectiveTime: TIME }, { kit });
}

function errorsOf(r: { findings: { severity: string; ruleSet: string; text: string; location: string }[] }): string[] {
  return r.findings.filter((f) => f.severity === 'error').map((f) => `${f.ruleSet}: ${f.text.trim()} @ ${f.location}`);
}

function pdfText(pdf: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdf-'));
  writeFileSync(join(dir, 'r.pdf'), pdf);
  return execFileSync('pdftotext', ['-layout', join(dir, 'r.pdf'), '-'], { encoding: 'utf8' });
}

const sampleFiles = readdirSync(SAMPLES).filter((f) => /^o(ru|ul)-r\d\d.*\.hl7$/.test(f)).sort();

describe('samples → CR-BIO document sets', () => {
  it('has samples to render', () => {
    expect(sampleFiles.length).toBeGreaterThanOrEqual(8);
  });

  it.each(sampleFiles)('%s renders to an N3 and an N1 that pass the volet, the five profile sets and the XSD', async (file) => {
    const set = await render(readFileSync(join(SAMPLES, file)));
    expect(set.validation.n3.valid).toBe(true);
    const full3 = await kit.validate(set.n3, { full: true });
    const full1 = await kit.validate(set.n1, { full: true });
    expect(errorsOf(full3)).toEqual([]);
    expect(errorsOf(full1)).toEqual([]);
    expect(full3.ruleSets).toEqual(expect.arrayContaining(['xsd', 'volet-2024.01', 'IHE', 'ModelesDeContenusCDA', 'Modeles_ANS', 'StrucMin', 'terminologie']));
    expect(full1.ruleSets).not.toContain('volet-2024.01');
    expect(set.n3).toContain('<?xml-stylesheet type="text/xsl" href="cda-passerelle.xsl"?>');
  }, 60_000);

  it.each(sampleFiles)('%s also renders as CR-BIO 2021.01: N3 and N1 pass that volet, the five profile sets and the XSD', async (file) => {
    const set = await render(readFileSync(join(SAMPLES, file)), '2021.01');
    expect(set.validation.n3.ruleSets).toContain('volet-2021.01');
    expect(set.n3).toContain('<templateId root="1.2.250.1.213.1.1.1.55" extension="2021.01"/>');
    expect(errorsOf(await kit.validate(set.n3, { full: true }))).toEqual([]);
    expect(errorsOf(await kit.validate(set.n1, { full: true }))).toEqual([]);
  }, 60_000);

  it('a non-qualified identity never puts an INS in the N3, the N1 or the PDF', async () => {
    const file = sampleFiles.find((f) => /non.?qualifi|prov/i.test(f));
    expect(file).toBeDefined();
    const raw = readFileSync(join(SAMPLES, file!));
    const ins = /(\d{13}|\d{5}2[AB]\d{6})\d{2}\^\^\^[^|~]*1\.2\.250\.1\.213\.1\.4\.1[01]/.exec(decode(raw).text)?.[0].slice(0, 15);
    expect(ins).toBeDefined();
    const set = await render(raw);
    for (const xml of [set.n3, set.n1]) {
      for (const root of INS_ROOTS) expect(xml).not.toContain(`root="${root}"`);
      expect(xml).not.toContain(ins!);
    }
    expect(pdfText(set.pdf)).not.toContain(ins!);
    expect(set.metadata.insQualified).toBe(false);
    expect(set.metadata.patientMssAllowed).toBe(false);
    expect(set.metadata.dmpAllowed).toBe(false);
  }, 60_000);
});

it('a unit the sender calls UCUM but the ANS check refuses goes out as text, and the set stays valid', async () => {
  const text = decode(readFileSync(join(SAMPLES, 'oru-r01_biochemistry.hl7'))).text.replace('|58|ml/min/1,73m²|', '|58|mL/min/{1.73_m2}^^UCUM|');
  expect(text).toContain('mL/min/{1.73_m2}^^UCUM');
  const set = await render(text);
  expect(set.n3).not.toContain('unit="mL/min/{1.73_m2}"');
  expect(set.n3).toMatch(/<value xsi:type="ST">58 mL\/min\/\{1\.73_m2\}<\/value>/);
  expect(errorsOf(await kit.validate(set.n3, { full: true }))).toEqual([]);
}, 60_000);

it('subcontracted results carry the executing lab (FR-Laboratoire-executant) and its validating biologist (AUTHEN)', async () => {
  const set = await render(readFileSync(join(SAMPLES, 'oru-r01_subcontracting.hl7')));
  expect(set.n3).toContain('<templateId root="1.2.250.1.213.1.1.3.23"/>');
  expect(set.n3).toMatch(/<participant typeCode="AUTHEN"><templateId root="1.3.6.1.4.1.19376.1.3.3.1.5"\/><templateId root="1.2.250.1.213.1.1.3.109"\/><time><high value="2026112916\d*"\/><\/time><participantRole><id root="1.2.250.1.71.4.2.1" extension="810003456790"\/>/);
  expect(errorsOf(await kit.validate(set.n3, { full: true }))).toEqual([]);
}, 60_000);

it('a subcontractor report sent as a PDF (OBX ED) travels inside the N3, in the second-intention section', async () => {
  const raw = readFileSync(join(SAMPLES, 'oru-r01_subcontracting-pdf.hl7'));
  const b64 = /\^application\^pdf\^Base64\^([A-Za-z0-9+/=]+)/.exec(decode(raw).text)![1]!;
  const set = await render(raw);
  expect(set.n3).toContain('<templateId root="1.2.250.1.213.1.1.2.60"/><code code="101792-0"');
  expect(set.n3).toContain(`<value mediaType="application/pdf" representation="B64">${b64}</value>`);
  expect(set.n3).toMatch(/<renderMultiMedia referencedObject="pdf-r\d+"\/>/);
  for (const v of ['2024.01', '2021.01'] as const) {
    const s = v === '2024.01' ? set : await render(raw, v);
    expect(errorsOf(await kit.validate(s.n3, { full: true }))).toEqual([]);
  }
}, 60_000);

describe('ORU messages never seen before (generated: accents, escapes, SN, CWE, subcontracting)', () => {
  const seeds = Array.from({ length: 12 }, (_, i) => 1000 + i * 7);
  it.each(seeds)('seed %i passes every ANS rule set; INS only when qualified; every value in the narrative', async (seed) => {
    const g = generateOru(seed);
    const set = await render(g.text);
    const full3 = await kit.validate(set.n3, { full: true });
    expect(errorsOf(full3)).toEqual([]);
    expect(errorsOf(await kit.validate(set.n1, { full: true }))).toEqual([]);
    if (g.qualified) expect(set.n3).toContain(`extension="${g.ins}"`);
    else for (const xml of [set.n3, set.n1]) expect(xml).not.toContain(g.ins);
    const narrative = (set.n3.match(/<text>[\s\S]*?<\/text>/g) ?? []).join(' ').replace(/,/g, '.');
    for (const v of g.values) expect(narrative).toContain(v);
    if (g.subcontracted) expect(narrative).toContain('Laboratoire Spécialisé Exemple');
  }, 60_000);
});

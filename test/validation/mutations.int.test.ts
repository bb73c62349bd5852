/**
 * Negative tests: mutations of BIO-CR-BIO_2024.01_TSH_1.xml must be reported by the right rule set
 * and rule (ans-cda.md §7.3), and by nothing else. Plus XSD behaviour (line info, schema parsed once).
 */
import { AnsKit, type Finding, type ValidationReport } from '../../engine/validation';
import { CdaSchema } from '../../engine/validation/xsd';
import { ANS_KIT_DIR, readAnsExample, TEST_CACHE_DIR } from '../support/ans-kit';

jest.setTimeout(180_000);

const kit = AnsKit.open(ANS_KIT_DIR, { cacheDir: TEST_CACHE_DIR });
const TSH = readAnsExample('BIO-CR-BIO_2024.01_TSH_1.xml');

function mutate(from: RegExp | string, to: string): string {
  const out = TSH.replace(from, to);
  expect(out).not.toBe(TSH);
  return out;
}

function errorsBySet(r: ValidationReport): Record<string, Finding[]> {
  const by: Record<string, Finding[]> = {};
  for (const f of r.findings) if (f.severity === 'error') (by[f.ruleSet] ??= []).push(f);
  return by;
}

async function full(xml: string): Promise<Record<string, Finding[]>> {
  const r = await kit.validate(xml, { full: true });
  expect(r.voletVersion).toBe('2024.01');
  expect(r.valid).toBe(false);
  return errorsBySet(r);
}

describe('mutations of 2024.01_TSH_1', () => {
  it('the unmutated document is valid', async () => {
    expect((await kit.validate(TSH, { full: true })).errors).toBe(0);
  });

  it('interpretationCode N→ZZZ: volet dansJeuDeValeurs', async () => {
    const by = await full(mutate('<interpretationCode code="N"', '<interpretationCode code="ZZZ"'));
    expect(Object.keys(by)).toEqual(['volet-2024.01']);
    expect(by['volet-2024.01']).toHaveLength(1);
    const f = by['volet-2024.01'][0];
    expect(f.patternId).toBe('JDV_HL7_ObservationInterpretation-CISIS');
    expect(f.text).toMatch(/\[dansJeuDeValeurs\].*ZZZ.*doit faire partie du jeu de valeurs \.\.\/jeuxDeValeurs\/JDV_HL7_ObservationInterpretation_CISIS\.xml/);
    expect(f.location).toMatch(/interpretationCode\[1\]$/);
  });

  it('document code 11502-2→99999-9: volet Entete_CR-BIO and StrucMin value set 1.2.250.1.213.1.1.5.471', async () => {
    const by = await full(mutate('<code code="11502-2"', '<code code="99999-9"'));
    expect(Object.keys(by).sort()).toEqual(['StrucMin', 'volet-2024.01']);
    expect(by['volet-2024.01']).toHaveLength(1);
    expect(by['volet-2024.01'][0].patternId).toBe('Entete_CR-BIO');
    expect(by['volet-2024.01'][0].text).toMatch(/\[Entete_CR-BIO\].*code/);
    expect(by.StrucMin).toHaveLength(1);
    expect(by.StrucMin[0].text).toMatch(/value set '1\.2\.250\.1\.213\.1\.1\.5\.471' JDV_J07_XdsTypeCode/);
  });

  it('birthplace removed: StrucMin INS traits', async () => {
    const by = await full(mutate(/<birthplace>[\s\S]*?<\/birthplace>/, ''));
    expect(Object.keys(by)).toEqual(['StrucMin']);
    expect(by.StrucMin).toHaveLength(1);
    expect(by.StrucMin[0].text).toMatch(/Dans le cadre de l'INS, les traits de l'INS/);
  });

  it('legalAuthenticator removed: StrucMin', async () => {
    const by = await full(mutate(/<legalAuthenticator>[\s\S]*?<\/legalAuthenticator>/, ''));
    expect(Object.keys(by)).toEqual(['StrucMin']);
    expect(by.StrucMin).toHaveLength(1);
    expect(by.StrucMin[0].text).toMatch(/legalAuthenticator\[hl7:signatureCode\[@code = 'S'\]\]|legalAuthenticator.*signatureCode.*required/);
  });

  it('unit m[IU]/L→mUI/L: terminologie UCUM', async () => {
    const by = await full(mutate('unit="m[IU]/L"', 'unit="mUI/L"'));
    expect(Object.keys(by)).toEqual(['terminologie']);
    expect(by.terminologie).toHaveLength(1);
    expect(by.terminologie[0].text).toMatch(/mUI\/L.*Ce code n'est pas dans UCUM/);
  });

  it('inline validation only runs XSD + volet', async () => {
    const r = await kit.validate(mutate('<interpretationCode code="N"', '<interpretationCode code="ZZZ"'));
    expect(r.ruleSets).toEqual(['xsd', 'volet-2024.01']);
    expect(r.errors).toBe(1);
  });
});

describe('XSD', () => {
  it('reports an unknown element with its line, and reuses the compiled schema', async () => {
    const before = CdaSchema.parseCount;
    const schema = kit.schema();
    const xml = mutate('<title>', '<foo/><title>');
    const line = xml.slice(0, xml.indexOf('<foo/>')).split('\n').length;
    const r = await kit.validate(xml, { ruleSets: ['xsd'] });
    const xsd = r.findings.filter((f) => f.kind === 'xsd');
    expect(xsd).toHaveLength(1);
    expect(xsd[0]).toMatchObject({ ruleSet: 'xsd', severity: 'error', location: `line ${line}` });
    expect(xsd[0].text).toMatch(/Element '\{urn:hl7-org:v3\}foo': This element is not expected/);
    await kit.validate(TSH, { ruleSets: ['xsd'] });
    expect(kit.schema()).toBe(schema);
    expect(CdaSchema.parseCount - before).toBeLessThanOrEqual(1);
  });

  it('reports a not-well-formed document instead of throwing', async () => {
    const r = await kit.validate(TSH.replace('</ClinicalDocument>', ''), { ruleSets: ['xsd'] }).catch((e: unknown) => e);
    // SaxonJS parses first: a not-well-formed input is a coded error
    expect(r).toMatchObject({ code: 'PSL_VALIDATION_XML_INVALID' });
  });
});

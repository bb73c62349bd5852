/** All 19 ANS CR-BIO examples must give 0 errors, inline (XSD + volet) and full (XSD + profiles + volet). */
import { AnsKit, formatReport } from '../../engine/validation';
import { ANS_KIT_DIR, ansExampleFiles, readAnsExample, TEST_CACHE_DIR } from '../support/ans-kit';

jest.setTimeout(180_000);

const kit = AnsKit.open(ANS_KIT_DIR, { cacheDir: TEST_CACHE_DIR });
const files = ansExampleFiles();

describe('ANS examples', () => {
  it('has the 19 official examples', () => {
    expect(files).toHaveLength(19);
  });

  it.each(files)('%s: 0 errors inline and full', async (file) => {
    const xml = readAnsExample(file);
    const inline = await kit.validate(xml);
    expect({ file, errors: inline.errors, text: formatReport(inline) }).toMatchObject({ errors: 0 });
    const full = await kit.validate(xml, { full: true });
    expect({ file, errors: full.errors, text: formatReport(full) }).toMatchObject({ errors: 0 });
    expect(full.findings.filter((f) => f.kind === 'engine' && f.severity === 'error')).toEqual([]);

    if (file.includes('Niveau-1')) {
      expect(full.level).toBe('N1');
      expect(inline.ruleSets).toEqual(['xsd']);
      expect(full.ruleSets).toEqual(['xsd', 'StrucMin', 'terminologie']);
    } else {
      expect(full.level).toBe('N3');
      const volet = file.includes('2021.01') ? 'volet-2021.01' : 'volet-2024.01';
      expect(inline.ruleSets).toEqual(['xsd', volet]);
      expect(full.ruleSets).toEqual(['xsd', 'IHE', 'StrucMin', 'ModelesDeContenusCDA', 'Modeles_ANS', 'terminologie', volet]);
    }
    if (file.includes('2023.01')) {
      expect(full.findings.some((f) => f.severity === 'warning' && /2023\.01 was withdrawn/.test(f.text))).toBe(true);
    }
    expect(full.valid).toBe(true);
    expect(full.timings.map((t) => t.ruleSet)).toEqual(full.ruleSets);
  });

  it('extracts ClinicalDocument from an auto-présentable file before validating', async () => {
    const xml = readAnsExample('BIO-CR-BIO_2021.01_Auto-Presentable.xml');
    // a broken CDA inside the XSL wrapper must be reported by the XSD (the wrapper alone would "validate")
    const broken = xml.replace(/<c:title>/, '<c:foo/><c:title>');
    expect(broken).not.toBe(xml);
    const r = await kit.validate(broken);
    expect(r.findings.some((f) => f.kind === 'xsd' && /foo/.test(f.text))).toBe(true);
  });
});

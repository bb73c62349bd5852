/** Full validation off the main thread: same report as in-process, main loop stays responsive. */
import { AnsKit, ValidationPool } from '../../engine/validation';
import { ANS_KIT_DIR, readAnsExample, TEST_CACHE_DIR } from '../support/ans-kit';

jest.setTimeout(180_000);

describe('ValidationPool', () => {
  const pool = new ValidationPool(ANS_KIT_DIR, { cacheDir: TEST_CACHE_DIR, size: 2, prepare: ['xsd', 'volet-2024.01'] });
  afterAll(() => pool.close());

  it('validates asynchronously in worker threads with the same result as in-process', async () => {
    await pool.ready();
    const ok = readAnsExample('BIO-CR-BIO_2024.01_TSH_1.xml');
    const bad = ok.replace('<interpretationCode code="N"', '<interpretationCode code="ZZZ"');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const [a, b] = await Promise.all([pool.validate(ok, { full: true }), pool.validate(Buffer.from(bad), { full: true })]);
    clearInterval(timer);
    expect(a.errors).toBe(0);
    expect(b.errors).toBe(1);
    expect(b.findings.find((f) => f.severity === 'error')?.text).toMatch(/dansJeuDeValeurs.*ZZZ/);
    expect(ticks).toBeGreaterThan(0);
    expect(a.timings.map((t) => t.ruleSet)).toEqual(a.ruleSets);
    const xsdBad = await pool.validate(ok.replace('<title>', '<foo/><title>'));
    expect(xsdBad.findings.filter((f) => f.kind === 'xsd').map((f) => f.text)).toEqual([expect.stringMatching(/foo.*not expected/)]);
    const local = await AnsKit.open(ANS_KIT_DIR, { cacheDir: TEST_CACHE_DIR }).validate(bad);
    expect(b.findings.filter((f) => f.ruleSet === 'volet-2024.01').map((f) => f.text)).toEqual(
      local.findings.filter((f) => f.ruleSet === 'volet-2024.01').map((f) => f.text),
    );
  });

  it('rejects with a coded error for a bad document', async () => {
    await expect(pool.validate('<not-xml')).rejects.toMatchObject({ code: 'PSL_VALIDATION_WORKER', details: { code: 'PSL_VALIDATION_XML_INVALID' } });
  });
});

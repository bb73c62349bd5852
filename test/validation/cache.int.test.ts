/** The prepared-rule-set cache: reused on the next open, invalidated by any edit of the kit sources. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnsKit, compileKit } from '../../engine/validation';
import { ANS_KIT_DIR, readAnsExample } from '../support/ans-kit';

jest.setTimeout(120_000);

/** Copy the subset of the kit the 2024.01 volet needs (plus the XSD) into a temp dir. */
function tinyKit(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-kit-'));
  const copy = (rel: string): void => fs.cpSync(path.join(ANS_KIT_DIR, rel), path.join(dir, rel), { recursive: true });
  copy('schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch');
  copy('schematrons/abstract');
  copy('schematrons/include/specificationsVolets/BIO-CR-BIO_2024.01');
  copy('schematrons/include/jeuxDeValeurs/BIO-CR-BIO_2024.01');
  copy('jeuxDeValeurs');
  copy('infrastructure');
  return dir;
}

describe('rule-set cache', () => {
  const kitDir = tinyKit();
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-cache-'));
  afterAll(() => {
    fs.rmSync(kitDir, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('second open uses the cache; editing a source invalidates it', async () => {
    const k1 = AnsKit.open(kitDir, { cacheDir });
    await k1.prepare(['volet-2024.01']);
    expect(k1.preparedFrom('volet-2024.01')?.fromCache).toBe(false);
    expect(fs.readdirSync(k1.cacheDir)).toContain('volet-2024.01.json');
    expect(path.relative(path.resolve(__dirname, '../..'), k1.cacheDir).startsWith('..')).toBe(true);

    const k2 = AnsKit.open(kitDir, { cacheDir });
    await k2.prepare(['volet-2024.01']);
    expect(k2.preparedFrom('volet-2024.01')?.fromCache).toBe(true);
    expect(k2.sourceHash).toBe(k1.sourceHash);
    const xml = readAnsExample('BIO-CR-BIO_2024.01_TSH_1.xml');
    expect((await k2.validate(xml)).errors).toBe(0);

    // edit one included file: the cache key changes and the rule set is rebuilt with the edit
    const entete = path.join(kitDir, 'schematrons/include/specificationsVolets/BIO-CR-BIO_2024.01/Entete/Entete_CR-BIO.sch');
    const text = fs.readFileSync(entete, 'utf8');
    fs.writeFileSync(entete, text.replace(/(<rule[^>]*>)/, '$1<assert test="false()">edited kit rule fires</assert>'));
    const k3 = AnsKit.open(kitDir, { cacheDir });
    expect(k3.sourceHash).not.toBe(k1.sourceHash);
    await k3.prepare(['volet-2024.01']);
    expect(k3.preparedFrom('volet-2024.01')?.fromCache).toBe(false);
    const r = await k3.validate(xml);
    expect(r.findings.some((f) => f.text === 'edited kit rule fires')).toBe(true);
  });

  it('compileKit reports a missing kit with a coded error', async () => {
    await expect(compileKit(path.join(kitDir, 'nope'), { cacheDir })).rejects.toMatchObject({ code: 'PSL_VALIDATION_KIT_MISSING' });
  });

  it('unknown rule-set names are coded errors', async () => {
    const k = AnsKit.open(kitDir, { cacheDir });
    await expect(k.prepare(['volet-1999'])).rejects.toMatchObject({ code: 'PSL_VALIDATION_RULESET_UNKNOWN' });
  });
});

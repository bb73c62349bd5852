/**
 * The release gate (issue 9, item 1): a version leaves only once its N3 and N1 pass the full
 * ANS set; the verdict is kept beside the set, so the next delivery of the version reads it
 * instead of validating again; a failing one gives the first error as the reason it is held.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fullCheck } from '../../engine/documents/release-check';
import { AnsKit } from '../../engine/validation';
import { ANS_KIT_DIR } from '../support/ans-kit';

jest.setTimeout(120_000);

const RENDERED = resolve(__dirname, '../../samples/rendered');

test('a rendered sample passes, its verdict is written once and read the second time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-release-'));
  copyFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n3.xml'), join(dir, 'pro.n3.xml'));
  copyFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n1.xml'), join(dir, 'pro.n1.xml'));
  const kit = AnsKit.open(ANS_KIT_DIR);
  const validate = jest.spyOn(kit, 'validate');
  expect(await fullCheck(dir, 'pro', kit)).toEqual({ valid: true });
  expect(validate).toHaveBeenCalledTimes(2);
  expect(JSON.parse(readFileSync(join(dir, 'pro.validation-full.json'), 'utf8'))).toMatchObject({ n3: { valid: true }, n1: { valid: true } });
  expect(await fullCheck(dir, 'pro', kit)).toEqual({ valid: true });
  expect(validate).toHaveBeenCalledTimes(2);
});

test('a version whose N3 fails the full set is not valid, with the first error as its reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-release-'));
  const kit = AnsKit.open(ANS_KIT_DIR);
  // The N3 with its document type code removed: the CR-BIO rules refuse it.
  const n3 = readFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n3.xml'), 'utf8').replace(/<code code="11502-2"[^>]*\/>/, '');
  writeFileSync(join(dir, 'pro.n3.xml'), n3);
  copyFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n1.xml'), join(dir, 'pro.n1.xml'));
  const verdict = await fullCheck(dir, 'pro', kit);
  expect(verdict.valid).toBe(false);
  expect(verdict.reason).toMatch(/^N3 fails the full ANS set: /);
});

test('the lines of one version checking it at once run one check, and leave no temporary file behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-release-'));
  copyFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n3.xml'), join(dir, 'pro.n3.xml'));
  copyFileSync(join(RENDERED, 'oru-r01_ltw_biochemistry.n1.xml'), join(dir, 'pro.n1.xml'));
  const kit = AnsKit.open(ANS_KIT_DIR);
  const validate = jest.spyOn(kit, 'validate');
  const verdicts = await Promise.all([fullCheck(dir, 'pro', kit), fullCheck(dir, 'pro', kit), fullCheck(dir, 'pro', kit)]);
  expect(verdicts).toEqual([{ valid: true }, { valid: true }, { valid: true }]);
  expect(validate).toHaveBeenCalledTimes(2);
  expect(readdirSync(dir).sort()).toEqual(['pro.n1.xml', 'pro.n3.xml', 'pro.validation-full.json']);
});

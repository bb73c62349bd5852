/**
 * Official ANS rules on our output (engine/validation): inline (XSD + volet) and full
 * (XSD + IHE + ModelesDeContenusCDA + Modeles_ANS + StrucMin + terminologie + volet) for N3,
 * XSD + StrucMin + terminologie for N1. Zero errors and zero warnings expected.
 */
import * as path from 'node:path';
import { AnsKit, formatReport } from '../../engine/validation';
import { buildN1 } from '../../engine/cda/n1';
import { buildN3 } from '../../engine/cda/n3';
import type { RenderOptions } from '../../engine/lab/profile';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { FAKE_PDF, FIXED_TIME, UNQUALIFIED_PATIENT, biochemistry, microbiology, report } from './fixtures';

jest.setTimeout(600_000);

const KIT_DIR = ANS_KIT_DIR;
const OPTS: RenderOptions & { pdf: Buffer } = { version: '2024.01', profile: 'pro', effectiveTime: FIXED_TIME, pdf: FAKE_PDF };

let kit: AnsKit;
beforeAll(() => {
  kit = AnsKit.open(KIT_DIR);
});

async function expectClean(xml: string, full: boolean): Promise<void> {
  const r = await kit.validate(xml, { full });
  const bad = r.findings.filter((f) => f.severity !== 'info');
  if (bad.length) throw new Error(formatReport(r));
  expect(r.valid).toBe(true);
}

function pendingOnly() {
  const pending = biochemistry();
  pending.results = pending.results.map((r) => ({ ...r, status: 'pending' as const, value: { type: 'none' as const }, flags: [] }));
  return { ...report(UNQUALIFIED_PATIENT, [pending, microbiology()]), validator: undefined, completeness: 'partial' as const };
}

const CASES: Array<[string, () => ReturnType<typeof report>, RenderOptions & { pdf: Buffer }]> = [
  ['2024.01, qualified identity, all chapters', () => report(), OPTS],
  ['2024.01, non-qualified identity, patient profile, replacement', () => report(UNQUALIFIED_PATIENT), { ...OPTS, profile: 'patient', versionNumber: 2, replaces: '1.2.250.1.213.1.1.9.99.42' }],
  ['2021.01', () => report(), { ...OPTS, version: '2021.01' }],
  ['2024.01, pending-only request, no validator', pendingOnly, OPTS],
];

describe.each(CASES)('N3 %s', (_name, make, opts) => {
  const xml = buildN3(make(), TEST_LAB_PROFILE, opts).xml;
  test('inline: XSD + volet', async () => expectClean(xml, false));
  test('full ANS rule set', async () => expectClean(xml, true));
});

describe('N1', () => {
  test('qualified identity', async () => expectClean(buildN1(report(), TEST_LAB_PROFILE, OPTS).xml, true));
  test('non-qualified identity, no validator', async () => expectClean(buildN1(pendingOnly(), TEST_LAB_PROFILE, OPTS).xml, true));
});

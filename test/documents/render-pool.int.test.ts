/** Document sets rendered in worker threads are the same as in this thread, and fail the same way. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { DocumentInvalidError, renderDocumentSet } from '../../engine/documents/document-set';
import { RenderPool } from '../../engine/documents/render-pool';
import { AnsKit } from '../../engine/validation';
import { PasserelleError } from '../../engine/errors';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { ANS_KIT_DIR } from '../support/ans-kit';

const SAMPLES = resolve(__dirname, '../../samples');
const text = (f: string): string => decode(readFileSync(join(SAMPLES, f))).text;
const OPTIONS = { version: '2024.01' as const, profile: 'pro' as const, effectiveTime: '20261125120000+0100' };
let pool: RenderPool;

beforeAll(async () => {
  pool = new RenderPool(ANS_KIT_DIR, { size: 2 });
  await pool.ready();
}, 120_000);
afterAll(() => pool.close());

it('renders the same bytes and verdict as the in-thread path, several at once', async () => {
  const files = ['oru-r01_biochemistry.hl7', 'oru-r01_microbiology.hl7', 'oru-r01_latin9.hl7', 'oul-r22_specimens.hl7'];
  const pooled = await Promise.all(files.map((f) => pool.render(text(f), TEST_LAB_PROFILE, OPTIONS)));
  const kit = AnsKit.open(ANS_KIT_DIR);
  for (const [i, f] of files.entries()) {
    const local = await renderDocumentSet(reportFromMessage(Message.parse(text(f))), TEST_LAB_PROFILE, OPTIONS, { kit });
    expect(pooled[i]!.n3).toBe(local.n3);
    expect(pooled[i]!.n1).toBe(local.n1);
    expect(pooled[i]!.pdf.equals(local.pdf)).toBe(true);
    expect(pooled[i]!.metadata).toEqual(local.metadata);
    expect(pooled[i]!.validation.n3.ruleSets).toEqual(['xsd', 'volet-2024.01']);
    expect(pooled[i]!.validation.n3.timings.map((t) => t.ruleSet)).toContain('xsd');
    expect(pooled[i]!.validation.n3.valid).toBe(true);
  }
}, 120_000);

it('brings a report error back with its code', async () => {
  const e = await pool.render(text('oml-o21_ltw_order.hl7'), TEST_LAB_PROFILE, OPTIONS).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(PasserelleError);
  expect((e as PasserelleError).code).toBe('PSL_REPORT_UNSUPPORTED_TYPE');
  expect((e as PasserelleError).retry).toBe('permanent');
}, 60_000);

it('refuses a set the CDA schema rejects, with the XSD finding made on the main thread', async () => {
  const bad = text('oru-r01_biochemistry.hl7').replace('^GLY^Glycémie^L', '^GLY A^Glycémie^L');
  const e = await pool.render(bad, TEST_LAB_PROFILE, OPTIONS).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(DocumentInvalidError);
  expect((e as DocumentInvalidError).which).toBe('N3');
  expect((e as DocumentInvalidError).findings.some((f) => f.ruleSet === 'xsd' && f.severity === 'error' && /GLY A/.test(f.text))).toBe(true);
}, 60_000);

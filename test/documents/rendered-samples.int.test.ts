/**
 * samples/rendered/ is what the code renders today from samples/*.hl7 (same fixed document
 * time as scripts/render-samples.sh). When this fails after a deliberate change, run
 * `npm run build && bash scripts/render-samples.sh` and review the diff.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { renderDocumentSet } from '../../engine/documents/document-set';
import { AnsKit } from '../../engine/validation';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { ANS_KIT_DIR } from '../support/ans-kit';

const SAMPLES = resolve(__dirname, '../../samples');
const RENDERED = join(SAMPLES, 'rendered');
const files = readdirSync(SAMPLES).filter((f) => /^o(ru|ul)-r\d\d.*\.hl7$/.test(f)).sort();
const kit = AnsKit.open(ANS_KIT_DIR);

it.each(files)('samples/rendered holds the current rendering of %s', async (file) => {
  const base = file.replace(/\.hl7$/, '');
  const report = reportFromMessage(Message.parse(decode(readFileSync(join(SAMPLES, file))).text));
  const set = await renderDocumentSet(report, TEST_LAB_PROFILE, { version: '2024.01', profile: 'pro', effectiveTime: '20261126120000+0100' }, { kit });
  expect(set.n3).toBe(readFileSync(join(RENDERED, `${base}.n3.xml`), 'utf8'));
  expect(set.n1).toBe(readFileSync(join(RENDERED, `${base}.n1.xml`), 'utf8'));
  const meta = JSON.parse(readFileSync(join(RENDERED, `${base}.metadata.json`), 'utf8'));
  expect(meta).toEqual(JSON.parse(JSON.stringify(set.metadata)));
  expect(set.pdf.equals(readFileSync(join(RENDERED, meta.pdfFileName)))).toBe(true);
}, 60_000);

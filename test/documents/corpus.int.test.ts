/**
 * Result messages written by others (../shared/hl7/samples: US ELR, IHE, IPF, Mirth, ANS…):
 * each one either becomes a document set that passes every ANS rule set, or is refused with a
 * coded reason before any document exists. Never a document that fails the rules.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { PasserelleError } from '../../engine/errors';
import { reportFromMessage } from '../../engine/lab';
import { renderDocumentSet } from '../../engine/cda/document-set';
import { AnsKit } from '../../engine/validation';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { ANS_KIT_DIR } from '../support/ans-kit';

const CORPUS = resolve(__dirname, '../../../shared/hl7/samples');
const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));

const results: Array<[string, Message]> = [];
for (const f of walk(CORPUS).filter((x) => /\.(hl7|txt|er7)$/i.test(x)).sort()) {
  try {
    const m = Message.parse(decode(readFileSync(f)).text);
    if (/^(ORU\^R01|OUL\^R22)/.test(`${m.get('MSH-9.1')}^${m.get('MSH-9.2')}`)) results.push([relative(CORPUS, f), m]);
  } catch {
    // Unparseable files are the HL7 tests' business (test/channels/samples.int.test.ts).
  }
}

const kit = AnsKit.open(ANS_KIT_DIR);
const outcomes: Record<string, string> = {};

it('finds result messages in the corpus', () => {
  expect(results.length).toBeGreaterThanOrEqual(20);
});

it.each(results)('%s: a fully valid document set, or a coded refusal', async (name, msg) => {
  let set;
  try {
    set = await renderDocumentSet(reportFromMessage(msg), TEST_LAB_PROFILE, { version: '2024.01', profile: 'pro', effectiveTime: '20261125120000+0100' }, { kit });
  } catch (e) {
    expect(e).toBeInstanceOf(PasserelleError);
    expect((e as PasserelleError).code).toMatch(/^PSL_(REPORT_|DOCUMENT_INCOMPLETE)/);
    outcomes[name] = (e as PasserelleError).code;
    return;
  }
  const errors = [...(await kit.validate(set.n3, { full: true })).findings, ...(await kit.validate(set.n1, { full: true })).findings].filter((f) => f.severity === 'error');
  expect(errors.map((f) => `${f.ruleSet}: ${f.text.trim()}`)).toEqual([]);
  outcomes[name] = 'valid';
}, 60_000);

it('renders most of them', () => {
  expect(Object.values(outcomes).filter((o) => o === 'valid').length).toBeGreaterThanOrEqual(12);
});

/**
 * The indexed runner (index dispatch + reversed match tests + fused expressions + hoisting) must be
 * indistinguishable from the slow reference mode (every context selected from the root):
 * identical rule hits and identical failures, on examples and mutations.
 */
import { AnsKit, type Finding } from '../../engine/validation';
import type { RuleSetName } from '../../engine/validation';
import { ANS_KIT_DIR, readAnsExample, TEST_CACHE_DIR } from '../support/ans-kit';

jest.setTimeout(300_000);

const kit = AnsKit.open(ANS_KIT_DIR, { cacheDir: TEST_CACHE_DIR });
const N3_SETS: RuleSetName[] = ['volet-2024.01', 'IHE', 'ModelesDeContenusCDA', 'Modeles_ANS', 'StrucMin', 'terminologie'];
const TSH = readAnsExample('BIO-CR-BIO_2024.01_TSH_1.xml');

const cases: [string, string, RuleSetName[]][] = [
  ['TSH_1', TSH, N3_SETS],
  ['DEP-CCU-tout-structure', readAnsExample('BIO-CR-BIO_2024.01_DEP-CCU-tout-structure.xml'), N3_SETS],
  ['Microbiologie_V2 (2021.01)', readAnsExample('BIO-CR-BIO_2021.01_Microbiologie_V2.xml'), ['volet-2021.01', 'IHE', 'ModelesDeContenusCDA', 'terminologie']],
  ['N1', readAnsExample('BIO-CR-BIO_2021.01_CDA-R2-Niveau-1.xml'), ['StrucMin', 'terminologie']],
  ['TSH_1 code 99999-9', TSH.replace('<code code="11502-2"', '<code code="99999-9"'), ['volet-2024.01', 'StrucMin']],
  ['TSH_1 no birthplace', TSH.replace(/<birthplace>[\s\S]*?<\/birthplace>/, ''), ['StrucMin']],
  ['TSH_1 ZZZ + mUI/L', TSH.replace('<interpretationCode code="N"', '<interpretationCode code="ZZZ"').replace('unit="m[IU]/L"', 'unit="mUI/L"'), ['volet-2024.01', 'terminologie']],
];

const key = (f: Finding): string => `${f.kind}|${f.severity}|${f.patternId}|${f.context}|${f.test}|${f.location}|${f.text}`;

describe('reference mode equals indexed mode', () => {
  it.each(cases)('%s', (_label, xml, sets) => {
    for (const set of sets) {
      const indexed = kit.runRuleSet(set, xml, 'indexed');
      const reference = kit.runRuleSet(set, xml, 'reference');
      expect({ set, hits: indexed.hits }).toEqual({ set, hits: reference.hits });
      expect({ set, findings: indexed.findings.map(key).sort() }).toEqual({ set, findings: reference.findings.map(key).sort() });
      expect(indexed.hits.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
  });
});

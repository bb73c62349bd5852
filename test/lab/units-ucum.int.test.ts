/**
 * Every UCUM code the unit map produces must pass the ANS terminology check, or each document
 * carrying it would be refused (issue 3). ansUcumAccepts reads the kit's UCUM table and strips
 * `{letters}` annotations first, as terminologie.sch does.
 */
import { loadUnitMap } from '../../engine/lab';
import { ansUcumAccepts } from '../../engine/validation';
import { ANS_KIT_DIR } from '../support/ans-kit';

const accepts = ansUcumAccepts(ANS_KIT_DIR);

it('follows the ANS check: table codes and {letters} annotations pass, French spellings and {1.73_m2} do not', () => {
  for (const u of ['mmol/L', 'm[IU]/L', '10*9/L', '{ratio}', 'g/L', '%']) expect([u, accepts(u)]).toEqual([u, true]);
  for (const u of ['mUI/L', 'mmol/l', 'mL/min/{1.73_m2}', '/mm3']) expect([u, accepts(u)]).toEqual([u, false]);
});

it('maps units only to UCUM codes the ANS terminology check accepts', () => {
  expect([...new Set(loadUnitMap().values())].filter((u) => !accepts(u))).toEqual([]);
});

/** The correspondents file (issue 9, item 1): validated at load with file:line errors; fills the MSSanté addresses messages leave out. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCorrespondents, withCorrespondents } from '../../engine/config/correspondents';
import type { Report } from '../../engine/lab';

const file = (text: string): string => {
  const f = join(mkdtempSync(join(tmpdir(), 'psl-corr-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
};

test('the sample file loads; an address outside MSSanté and a repeated RPPS are refused with file and line', () => {
  expect(loadCorrespondents(resolve(__dirname, '../../channels/labs/correspondants.yaml')).get('10003456789')?.mssante).toBe('prescripteur.medecin@test.mssante.fr');
  const bad = file("correspondents:\n  - rpps: '10003456789'\n    name: A\n    mssante: a@gmail.com\n  - rpps: '10003456789'\n    name: B\n    mssante: b@x.mssante.fr\n");
  expect(() => loadCorrespondents(bad)).toThrow(/c\.yaml:4:\d+: .*an MSSanté address/);
  expect(() => loadCorrespondents(bad)).toThrow(/c\.yaml:5:\d+: .*RPPS 10003456789 is listed twice/);
});

test('a prescriber or copy without an address gets the file\'s (by RPPS, or 8 + RPPS); one the message gave is kept', () => {
  const book = loadCorrespondents(file("correspondents:\n  - rpps: '10003456789'\n    name: A\n    mssante: A@Test.MSSante.fr\n  - rpps: '10001234567'\n    name: B\n    mssante: b@test.mssante.fr\n"));
  const report = {
    prescriber: { id: '10003456789', family: 'MEDECIN' },
    copiesTo: [{ id: '810001234567', family: 'COPIE' }, { id: '10009999999', family: 'AUTRE', mssante: 'autre@test.mssante.fr' }],
  } as unknown as Report;
  const out = withCorrespondents(report, book);
  expect(out.prescriber?.mssante).toBe('a@test.mssante.fr');
  expect(out.copiesTo.map((p) => p.mssante)).toEqual(['b@test.mssante.fr', 'autre@test.mssante.fr']);
  expect(report.prescriber?.mssante).toBeUndefined(); // the report itself is left as it was
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLabProfile } from '../../engine/config/lab-profile';
import { LAB_PROFILE_FILE } from '../support/lab-profile';

describe('lab profile files', () => {
  it('loads the sample lab with defaults filled in and frozen', () => {
    const p = loadLabProfile(LAB_PROFILE_FILE);
    expect(p.lab.name).toBe('Laboratoire Passerelle Démo');
    expect(p.lab.idRoot).toBe('1.2.250.1.71.4.2.2');
    expect(p.facilityCode.code).toBe('SA25');
    expect(p.cofrac?.number).toBe('8-1234');
    expect(Object.isFrozen(p.lab)).toBe(true);
  });

  it('names file and line of a bad OID and of an unknown key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'lab: { name: X, id: "1" }',
        'director: { id: "8", family: Y }',
        'rgpdText: t',
        'documentIdRoot: 1.2.03',
        'orderIdRoot: 1.2',
        'patientIdRoot: 1.3',
        'address: {}',
        'telecom: []',
        'colour: blue',
      ].join('\n'),
    );
    expect(() => loadLabProfile(file)).toThrow(/bad\.yaml:4:\d+: documentIdRoot: an OID/);
    expect(() => loadLabProfile(file)).toThrow(/bad\.yaml:9:\d+: .*colour/);
  });
});

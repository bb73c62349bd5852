/** A reports destination may name its own catalogue and transcoding files (`catalogue:` / `loinc:`). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { reportsDestinationOptions } from '../../engine/documents/from-config';
import type { ReportsDestinationConfig } from '../../engine/config/channel-schema';
import type { ReportsDestinationOptions } from '../../engine/documents/reports-destination';
import { PasserelleError } from '../../engine/errors';

const repo = resolve(__dirname, '../..');
const deps = { store: {}, kit: undefined, logger: {} } as unknown as Pick<ReportsDestinationOptions, 'store' | 'kit' | 'logger'>;
const config = (extra: Partial<ReportsDestinationConfig>): ReportsDestinationConfig =>
  ({ type: 'reports', name: 'r', directory: 'var/test-reports', version: '2024.01', profiles: ['pro'], lab: join(repo, 'channels/labs/laboratoire-demo.yaml'), publish: 'every-change', fullValidation: false, ...extra }) as ReportsDestinationConfig;

test('without catalogue/loinc keys the builder defaults apply (no transcoding passed)', () => {
  expect(reportsDestinationOptions(config({}), deps).transcoding).toBeUndefined();
});

test('catalogue and loinc files named by the destination are loaded, each defaulting independently', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-cat-conf-'));
  const loinc = join(dir, 'loinc.yaml');
  writeFileSync(loinc, 'analyses:\n  NA: { loinc: "2951-2", created: "2026-01-01", modified: "2026-01-01" }\n');
  const t = reportsDestinationOptions(config({ catalogue: join(__dirname, 'fixtures/catalogue.yaml'), loinc }), deps).transcoding;
  expect(t?.catalogue.exams.map((e) => e.code)).toEqual(['IONO', 'VSX', 'VIDE']);
  expect([...(t?.loinc.analyses.keys() ?? [])]).toEqual(['NA']);
  const onlyLoinc = reportsDestinationOptions(config({ loinc }), deps).transcoding;
  expect(onlyLoinc?.catalogue.exams.some((e) => e.code === 'INFLAM')).toBe(true); // mappings/catalogue.yaml
  writeFileSync(loinc, 'analyses:\n  NA: { loinc: "2951-3", created: "2026-01-01", modified: "2026-01-01" }\n');
  expect(() => reportsDestinationOptions(config({ loinc }), deps)).toThrow(PasserelleError);
});

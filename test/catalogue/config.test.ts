/** A reports destination may name its own catalogue and transcoding files (`catalogue:` / `loinc:`). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { reportsDestinationOptions } from '../../engine/documents/from-config';
import type { ReportsDestinationConfig } from '../../engine/config/channel-schema';
import type { ReportsDestinationOptions } from '../../engine/documents/reports-destination';
import { PasserelleError } from '../../engine/errors';
import { TranscodingFiles } from '../../engine/lab/transcoding-files';

const repo = resolve(__dirname, '../..');
const deps = { store: {}, kit: undefined, logger: {} } as unknown as Pick<ReportsDestinationOptions, 'store' | 'kit' | 'logger'>;
const config = (extra: Partial<ReportsDestinationConfig>): ReportsDestinationConfig =>
  ({ type: 'reports', name: 'r', directory: 'var/test-reports', version: '2024.01', profiles: ['pro'], lab: join(repo, 'channels/labs/laboratoire-demo.yaml'), publish: 'every-change', fullValidation: false, ...extra }) as ReportsDestinationConfig;

const filesOf = (o: ReportsDestinationOptions): TranscodingFiles => {
  expect(o.transcoding).toBeInstanceOf(TranscodingFiles);
  return o.transcoding as TranscodingFiles;
};

test('without catalogue/loinc keys the default files mappings/catalogue.yaml and loinc.yaml are in force', () => {
  const files = filesOf(reportsDestinationOptions(config({}), deps));
  expect([files.catalogueFile, files.loincFile]).toEqual([join(repo, 'mappings/catalogue.yaml'), join(repo, 'mappings/loinc.yaml')]);
  expect(files.get().loinc.analyses.get('VS')?.loinc).toBe('4537-7');
});

test('catalogue and loinc files named by the destination are loaded, each defaulting independently', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-cat-conf-'));
  const loinc = join(dir, 'loinc.yaml');
  writeFileSync(loinc, 'analyses:\n  NA: { loinc: "2951-2", created: "2026-01-01", modified: "2026-01-01" }\n');
  const t = filesOf(reportsDestinationOptions(config({ catalogue: join(__dirname, 'fixtures/catalogue.yaml'), loinc }), deps)).get();
  expect(t.catalogue.exams.map((e) => e.code)).toEqual(['IONO', 'VSX', 'VIDE']);
  expect([...t.loinc.analyses.keys()]).toEqual(['NA']);
  const onlyLoinc = filesOf(reportsDestinationOptions(config({ loinc }), deps)).get();
  expect(onlyLoinc.catalogue.exams.some((e) => e.code === 'INFLAM')).toBe(true); // mappings/catalogue.yaml
  writeFileSync(loinc, 'analyses:\n  NA: { loinc: "2951-3", created: "2026-01-01", modified: "2026-01-01" }\n');
  expect(() => reportsDestinationOptions(config({ loinc }), deps)).toThrow(PasserelleError);
});

test('a running destination takes a changed transcoding file at its next message; a broken one is refused once and the one in force stays', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-cat-reload-'));
  const loinc = join(dir, 'loinc.yaml');
  const line = (code: string): string => `analyses:\n  VS: { loinc: "${code}", created: "2026-01-01", modified: "2026-01-01" }\n`;
  writeFileSync(loinc, line('4537-7'));
  const told: (string | undefined)[] = [];
  const files = new TranscodingFiles(undefined, loinc, { checkEveryMs: 0, onReload: (e) => told.push(e?.message) });
  expect(files.get().loinc.analyses.get('VS')?.loinc).toBe('4537-7');
  writeFileSync(loinc, line('30341-2') + '# provider file of December\n');
  expect(files.get().loinc.analyses.get('VS')?.loinc).toBe('30341-2');
  writeFileSync(loinc, line('30341-3') + '# a hand edit with a wrong check digit\n');
  expect(files.get().loinc.analyses.get('VS')?.loinc).toBe('30341-2');
  expect(files.get().loinc.analyses.get('VS')?.loinc).toBe('30341-2');
  expect(told).toHaveLength(2);
  expect(told[0]).toBeUndefined();
  expect(told[1]).toMatch(/loinc\.yaml:2:.*check digit/);
});

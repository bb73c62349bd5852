/**
 * `passerelle validate`, `render` and `schematron compile` as a user runs them (compiled CLI in
 * a child process, the ANS kit from test/support/ans-kit).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANS_KIT_DIR, ansExampleFiles, ansExamplePath, readAnsExample } from '../support/ans-kit';
import { runCli, type CliResult } from '../support/cli';

const cache = mkdtempSync(join(tmpdir(), 'psl-cache-'));
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { maxBuffer: 32 * 1024 * 1024, env: { ...process.env, PASSERELLE_CACHE_DIR: cache } });

const TSH = readAnsExample('BIO-CR-BIO_2024.01_TSH_1.xml');

test('schematron compile prepares every rule set of the kit into the cache', async () => {
  const r = await cli('schematron', 'compile', ANS_KIT_DIR, '--cache', cache, '--json');
  expect(r.code).toBe(0);
  const stats = JSON.parse(r.stdout);
  expect(stats.ruleSets.map((s: { ruleSet: string }) => s.ruleSet)).toEqual(
    expect.arrayContaining(['volet-2024.01', 'volet-2021.01', 'IHE', 'ModelesDeContenusCDA', 'Modeles_ANS', 'StrucMin', 'terminologie']),
  );
  expect(stats.ruleSets.every((s: { fromCache: boolean }) => !s.fromCache)).toBe(true);
  expect(readdirSync(cache).length).toBeGreaterThan(0);
  const human = await cli('schematron', 'compile', ANS_KIT_DIR, '--cache', cache);
  expect(human.stdout).toMatch(/StrucMin\s+\d+\s+766\s+12923\s+from cache/);
}, 180_000);

test('validate --full passes the 19 ANS examples', async () => {
  const files = ansExampleFiles().map(ansExamplePath);
  expect(files).toHaveLength(19);
  const r = await cli('validate', '--full', '--kit', ANS_KIT_DIR, ...files);
  expect(r.stdout).toContain('19 of 19 document(s) valid');
  expect(r.code).toBe(0);
}, 180_000);

const MUTATIONS: Array<[string, RegExp | string, string, RegExp]> = [
  ['wrong-interpretation-code', '<interpretationCode code="N"', '<interpretationCode code="ZZZ"', /ERROR \[volet-2024\.01[^\]]*\].*JDV_HL7_ObservationInterpretation/],
  ['wrong-document-code', '<code code="11502-2"', '<code code="99999-9"', /ERROR \[StrucMin[^\]]*\][\s\S]*1\.2\.250\.1\.213\.1\.1\.5\.471/],
  ['missing-birthplace', /<birthplace>[\s\S]*?<\/birthplace>/, '', /ERROR \[StrucMin[^\]]*\].*traits de l'INS/],
  ['missing-legalAuthenticator', /<legalAuthenticator>[\s\S]*?<\/legalAuthenticator>/, '', /ERROR \[StrucMin[^\]]*\].*legalAuthenticator/],
  ['non-ucum-unit', 'unit="m[IU]/L"', 'unit="mUI/L"', /ERROR \[terminologie[^\]]*\][\s\S]*mUI\/L[\s\S]*UCUM/],
];

test('validate --full flags each known defect with the right rule and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-mut-'));
  const files = MUTATIONS.map(([name, from, to]) => {
    const mutated = TSH.replace(from, to);
    expect(mutated).not.toBe(TSH);
    const file = join(dir, `${name}.xml`);
    writeFileSync(file, mutated);
    return file;
  });
  const r = await cli('validate', '--full', '--kit', ANS_KIT_DIR, ...files);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('0 of 5 document(s) valid');
  // Each file's block runs from its name to the next file's name.
  const blocks = files.map((f, i) => r.stdout.slice(r.stdout.indexOf(`${f}:`), i + 1 < files.length ? r.stdout.indexOf(`${files[i + 1]}:`) : undefined));
  MUTATIONS.forEach(([name, , , expected], i) => {
    expect([name, blocks[i]]).toEqual([name, expect.stringMatching(/INVALID/)]);
    expect(blocks[i]).toMatch(expected);
  });
}, 180_000);

test('render writes the N3, the N1, the PDF and the validation report of a sample', async () => {
  const out = mkdtempSync(join(tmpdir(), 'psl-render-'));
  const r = await cli('render', 'samples/oru-r01_serology.hl7', '--out', out, '--kit', ANS_KIT_DIR, '--time', '20261125120000+0100', '--profile', 'both');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  for (const p of ['pro', 'patient']) {
    for (const ext of ['n3.xml', 'n1.xml', 'validation.json', 'metadata.json']) expect(existsSync(join(out, `oru-r01_serology.${p}.${ext}`))).toBe(true);
    const meta = JSON.parse(readFileSync(join(out, `oru-r01_serology.${p}.metadata.json`), 'utf8'));
    expect(existsSync(join(out, meta.pdfFileName))).toBe(true);
    expect(meta.pdfFileName).toMatch(/^\d{8}_CR-BIO_[A-Z0-9-]+_[A-Z0-9-]+_[A-Za-z0-9-]+\.pdf$/);
  }
  expect(existsSync(join(out, 'cda-passerelle.xsl'))).toBe(true);
  const again = await cli('validate', '--full', '--kit', ANS_KIT_DIR, join(out, 'oru-r01_serology.pro.n3.xml'), join(out, 'oru-r01_serology.pro.n1.xml'));
  expect(again.stdout).toContain('2 of 2 document(s) valid');
}, 120_000);

test('render refuses a message that is not a result, with the coded reason', async () => {
  const r = await cli('render', 'samples/oml-o21_ltw_order.hl7', '--out', mkdtempSync(join(tmpdir(), 'psl-render-')), '--kit', ANS_KIT_DIR);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/PSL_REPORT_UNSUPPORTED_TYPE/);
}, 60_000);

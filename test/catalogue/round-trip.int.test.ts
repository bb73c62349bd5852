/**
 * Acceptance (issue 11): a catalogue round-trips. Export → edited as a provider would (LOINC
 * columns added) → import → the CR-BIO of a sample with local codes uses the new LOINC codes and
 * still passes the official ANS schematrons (full set, zero errors and warnings). Once in
 * process, once through the compiled CLI (`npm run build` first).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { defaultMappingFile, loadTranscoding } from '../../engine/lab/mappings';
import { buildN1 } from '../../engine/cda/n1';
import { buildN3 } from '../../engine/cda/n3';
import { loadCatalogue } from '../../engine/catalogue/catalogue-file';
import { decodeCsv, formatCsv, parseCsv } from '../../engine/catalogue/csv';
import { LOINC_4_COLUMNS, LOINC_5_COLUMNS, LOINC_6_COLUMNS, exportCatalogue } from '../../engine/catalogue/csv-export';
import { importLoincFiles } from '../../engine/catalogue/csv-import';
import { emptyLoincMap, formatLoincMap, writeLoincMap } from '../../engine/catalogue/loinc-file';
import { AnsKit, formatReport } from '../../engine/validation';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { FAKE_PDF } from '../cda/fixtures';
import { runCli, type CliResult } from '../support/cli';

jest.setTimeout(600_000);

const repo = resolve(__dirname, '../..');
const SAMPLE = join(repo, 'samples/oru-r01_sn-values.hl7');
const DAY = '2026-12-07';

/** What the provider adds: LOINC code and label per local code (codes from the ANS examples and the samples). */
const PROVIDER: Record<string, [string, string]> = {
  'chapter:BIOCH': ['18719-5', 'Biochimie'],
  'chapter:HEMAT': ['18723-7', 'Hématologie'],
  'analysis:VS': ['4537-7', 'Vitesse de sédimentation'],
  'analysis:CRP': ['1988-5', 'Protéine C réactive [Masse/Volume] Sérum/Plasma ; Numérique'],
  'analysis:HB': ['718-7', 'Hémoglobine'],
  'exam:NFS': ['58410-2', 'Hémogramme complet sur automate'],
};

/** The provider's edit of one export: LOINC_n → LOINC_(n+3), LOINC columns appended (BOM added, as spreadsheets do). */
function providerEdit(name: string, text: string): { name: string; bytes: Buffer } {
  const rows = parseCsv(decodeCsv(Buffer.from(text, 'utf8')).text).lines.map((l) => l.cells);
  const kind = name.slice(0, 7);
  const header = kind === 'LOINC_1' ? LOINC_4_COLUMNS : kind === 'LOINC_2' ? LOINC_5_COLUMNS : LOINC_6_COLUMNS;
  const what = kind === 'LOINC_1' ? 'chapter' : kind === 'LOINC_2' ? 'exam' : 'analysis';
  const body = rows.slice(1).map((r) => {
    const hit = PROVIDER[`${what}:${r[0]}`] ?? ['', ''];
    return kind === 'LOINC_1' ? [...r, ...hit, '', ''] : [...r, ...hit];
  });
  const out = name.replace(/^LOINC_1_export/, 'LOINC_4_transcodage').replace(/^LOINC_2_export/, 'LOINC_5_transcodage').replace(/^LOINC_3_export_resultats/, 'LOINC_6_transcodage_demandes');
  return { name: out, bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(formatCsv([[...header], ...body]), 'utf8')]) };
}

let kit: AnsKit;
beforeAll(() => {
  kit = AnsKit.open(ANS_KIT_DIR);
});

async function expectCleanCrBio(loincFile: string): Promise<void> {
  const transcoding = loadTranscoding(defaultMappingFile('catalogue.yaml'), loincFile);
  const report = reportFromMessage(Message.parse(decode(readFileSync(SAMPLE)).text), { transcoding });
  const vs = report.requests[0].results.find((r) => r.code.local?.code === 'VS');
  expect(vs?.code.loinc).toMatchObject({ code: '4537-7', display: 'Vitesse de sédimentation' });
  expect(report.requests[0].chapter.code).toBe('18719-5');
  const opts = { version: '2024.01' as const, profile: 'pro' as const, effectiveTime: '20261207120000+0100', pdf: FAKE_PDF };
  const n3 = buildN3(report, TEST_LAB_PROFILE, opts).xml;
  expect(n3).toMatch(/<code code="4537-7" displayName="Vitesse de sédimentation" codeSystem="2\.16\.840\.1\.113883\.6\.1" codeSystemName="LOINC">[\s\S]*?<translation code="VS"/);
  for (const xml of [n3, buildN1(report, TEST_LAB_PROFILE, opts).xml]) {
    const r = await kit.validate(xml, { full: true });
    const bad = r.findings.filter((f) => f.severity !== 'info');
    if (bad.length) throw new Error(formatReport(r));
    expect(r.valid).toBe(true);
  }
}

test('in process: export → provider edit → import → CR-BIO with the new codes passes the full ANS rule set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-loinc-rt-'));
  const catalogue = loadCatalogue(defaultMappingFile('catalogue.yaml'));
  const edited = exportCatalogue(catalogue, '20261207').map((f) => providerEdit(f.name, f.text));
  expect(edited.map((f) => f.name)).toEqual(['LOINC_4_transcodage_chapitres_20261207.csv', 'LOINC_5_transcodage_demandes_20261207.csv', 'LOINC_6_transcodage_demandes_20261207.csv']);
  const r = importLoincFiles(edited.map((f) => ({ file: f.name, bytes: f.bytes })), { catalogue, current: emptyLoincMap(), day: DAY });
  expect(r.problems).toEqual([]);
  expect(r.accepted).toBe(true);
  expect(r.changes.filter((c) => c.action === 'added')).toHaveLength(Object.keys(PROVIDER).length);
  const loincFile = join(dir, 'loinc.yaml');
  writeLoincMap(loincFile, r.map);
  expect(readFileSync(loincFile, 'utf8')).toContain('  "VS": { loinc: "4537-7", label: "Vitesse de sédimentation", created: "2026-12-07", modified: "2026-12-07" }');
  await expectCleanCrBio(loincFile);
});

const cli = (...args: string[]): Promise<CliResult> => runCli(args);

test('through the CLI: loinc export, a refused import leaves the file alone, the good one is written and used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-loinc-cli-'));
  const loincFile = join(dir, 'loinc.yaml');
  writeLoincMap(loincFile, emptyLoincMap());
  const empty = readFileSync(loincFile, 'utf8');

  const exp = await cli('loinc', 'export', '--out', dir, '--date', '20261207');
  expect(exp).toMatchObject({ code: 0, stderr: '' });
  const names = ['LOINC_1_export_chapitres_20261207.csv', 'LOINC_2_export_demandes_20261207.csv', 'LOINC_3_export_resultats_20261207.csv'];
  expect(exp.stdout.trim().split('\n')).toEqual(names.map((n) => join(dir, n)));
  const edited = names.map((n) => providerEdit(n, readFileSync(join(dir, n), 'utf8')));
  for (const f of edited) writeFileSync(join(dir, f.name), f.bytes);
  const files = edited.map((f) => join(dir, f.name));

  // A second file giving VS another code: refused, exit 1, the line named, nothing written.
  const clash = join(dir, 'LOINC_6_transcodage_resultats_20261208.csv');
  writeFileSync(clash, formatCsv([[...LOINC_6_COLUMNS], ['VS', 'Vitesse de sédimentation', '', '', '', '', '', '', '', '', '', '', '30341-2', '']]));
  const refused = await cli('loinc', 'import', ...files, clash, '--loinc', loincFile, '--date', DAY);
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('REFUSED');
  expect(refused.stdout).toContain(`${clash}:2: analyses VS: several LOINC codes on different lines`);
  expect(readFileSync(loincFile, 'utf8')).toBe(empty);

  // With a value set (small test file): codes outside it are warnings naming their line, the import goes on.
  const valueSet = join(__dirname, 'fixtures/circuit-biologie.json');
  const dry = await cli('loinc', 'import', ...files, '--loinc', loincFile, '--date', DAY, '--dry-run', '--value-set', valueSet);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toMatch(/LOINC_6_transcodage_demandes_20261207\.csv:\d+: analysis HB: LOINC 718-7 is not in the "circuit de la biologie" value set \(imported\)/);
  expect(dry.stdout).toMatch(/LOINC_5_transcodage_demandes_20261207\.csv:\d+: exam NFS: LOINC 58410-2 is not in the "circuit de la biologie" value set/);
  expect(dry.stdout).toContain(`checked against the "circuit de la biologie" value set ${valueSet}`);
  expect(dry.stdout).toContain(`dry run: ${loincFile} not written`);
  expect(readFileSync(loincFile, 'utf8')).toBe(empty);

  const ok = await cli('loinc', 'import', ...files, '--loinc', loincFile, '--date', DAY);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain(`LOINC import ${DAY}: imported (6 added, 0 changed, 0 unchanged; 0 warning(s))`);
  expect(ok.stdout).toContain('NOT checked against the "circuit de la biologie" value set');
  expect(ok.stdout).toContain(`written: ${loincFile}`);

  // LOI.08 by hand: another code for VS keeps its created date.
  const set = await cli('loinc', 'set', 'analysis', 'TPHA', '4537-7', '--loinc', loincFile, '--date', '2026-12-08');
  expect(set).toMatchObject({ code: 0 });
  expect(readFileSync(loincFile, 'utf8')).toContain('"TPHA": { loinc: "4537-7", created: "2026-12-08", modified: "2026-12-08" }');
  const badSet = await cli('loinc', 'set', 'analysis', 'VS', '4537-6', '--loinc', loincFile);
  expect(badSet.code).not.toBe(0);
  expect(badSet.stderr).toContain('wrong LOINC check digit');
  const back = await cli('loinc', 'set', 'analysis', 'TPHA', '1988-5', '--loinc', loincFile, '--date', '2026-12-09');
  expect(back.stdout).toContain('changed analyses TPHA → 1988-5 (was 4537-7)');
  expect(readFileSync(loincFile, 'utf8')).toContain('"TPHA": { loinc: "1988-5", created: "2026-12-08", modified: "2026-12-09" }');
  // The file stays in its written form (loadable, deterministic); drop TPHA's test code and render.
  expect(formatLoincMap(loadTranscoding(defaultMappingFile('catalogue.yaml'), loincFile).loinc)).toBe(readFileSync(loincFile, 'utf8'));
  writeFileSync(loincFile, readFileSync(loincFile, 'utf8').replace(/^ {2}"TPHA".*\n/m, ''));
  await expectCleanCrBio(loincFile);
});

test('through the CLI, FHIR (SGL.LOI.10): loinc export --fhir, then the Bundle imported into an empty transcoding gives the same file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-loinc-fhir-'));
  const exp = await cli('loinc', 'export', '--fhir', '--fhir-base', 'https://labo.example.fr/fhir', '--out', dir, '--date', '20261207');
  expect(exp).toMatchObject({ code: 0, stderr: '' });
  const bundleFile = join(dir, 'catalogue_fhir_20261207.json');
  expect(exp.stdout.trim()).toBe(bundleFile);
  expect(JSON.parse(readFileSync(bundleFile, 'utf8'))).toMatchObject({ resourceType: 'Bundle', type: 'collection' });

  const loincFile = join(dir, 'loinc.yaml');
  writeLoincMap(loincFile, emptyLoincMap());
  const imp = await cli('loinc', 'import', bundleFile, '--loinc', loincFile, '--date', '2026-12-20');
  expect(imp.stdout).toContain('LOINC import 2026-12-20: imported');
  expect(imp.code).toBe(0);
  // the dates travel in the Bundle: the file is the one exported from, byte for byte
  expect(readFileSync(loincFile, 'utf8')).toBe(readFileSync(defaultMappingFile('loinc.yaml'), 'utf8'));

  writeFileSync(join(dir, 'LOINC_6_x.csv'), formatCsv([[...LOINC_6_COLUMNS]]));
  const mixed = await cli('loinc', 'import', bundleFile, join(dir, 'LOINC_6_x.csv'), '--loinc', loincFile);
  expect(mixed.code).toBe(2);
  expect(mixed.stderr).toContain('a FHIR file (.json) is imported alone');
});

/**
 * `passerelle loinc export | import | set` (engine/catalogue, docs/catalogue.md): the DSR LOINC
 * CSV files for the transcoding provider (SGL.LOI.01–03), their return merged into
 * mappings/loinc.yaml (SGL.LOI.04–07, 09), and one code set by hand (SGL.LOI.08); the same
 * export and import as FHIR resources with --fhir / a .json file (SGL.LOI.10, docs/catalogue-fhir.md).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PasserelleError } from '../errors';
import { loadCatalogue } from '../catalogue/catalogue-file';
import { exportCatalogue } from '../catalogue/csv-export';
import { formatImportReport, importLoincFiles, type ImportKind, type ImportReport } from '../catalogue/csv-import';
import { exportCatalogueFhir } from '../catalogue/fhir-export';
import { importCatalogueFhir } from '../catalogue/fhir-import';
import { assign, copyLoincMap, isoDay, loadLoincMap, writeLoincMap } from '../catalogue/loinc-file';
import { loincCodeProblem } from '../catalogue/loinc-code';
import { loadValueSet } from '../catalogue/value-set';
import type { LoincKind } from '../catalogue/types';
import { defaultMappingFile } from '../lab/mappings';

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const bad = (message: string): PasserelleError => new PasserelleError('PSL_CONFIG_INVALID', message);

/** Today in the machine's time zone: the lab's calendar day, as AAAAMMJJ. */
function localDay(): string {
  const d = new Date();
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
}

/** `--date` as YYYY-MM-DD (AAAAMMJJ accepted), default today. */
function dayOption(date: string | undefined): string {
  const d = (date ?? localDay()).replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(d))) throw bad(`--date must be AAAAMMJJ or YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return d;
}

export function loincExportCommand(opts: { catalogue?: string; loinc?: string; out?: string; date?: string; fhir?: boolean; fhirBase?: string; publisher?: string }): number {
  const catalogue = loadCatalogue(opts.catalogue ?? defaultMappingFile('catalogue.yaml'));
  const dir = opts.out ?? '.';
  mkdirSync(dir, { recursive: true });
  const day = dayOption(opts.date);
  if (opts.fhir) {
    // SGL.LOI.10: one Bundle with the catalogue and its transcoding (docs/catalogue-fhir.md).
    const bundle = exportCatalogueFhir(catalogue, loadLoincMap(opts.loinc ?? defaultMappingFile('loinc.yaml')), {
      ...(opts.fhirBase ? { base: opts.fhirBase } : {}),
      ...(opts.publisher ? { publisher: opts.publisher } : {}),
      ...(opts.date ? { now: new Date(`${day}T12:00:00Z`) } : {}),
    });
    const path = join(dir, `catalogue_fhir_${day.replace(/-/g, '')}.json`);
    writeFileSync(path, JSON.stringify(bundle, null, 2) + '\n', 'utf8');
    out(path);
    return 0;
  }
  for (const f of exportCatalogue(catalogue, day.replace(/-/g, ''))) {
    const path = join(dir, f.name);
    writeFileSync(path, f.text, 'utf8');
    out(path);
  }
  return 0;
}

export interface LoincImportOptions {
  catalogue?: string;
  loinc?: string;
  valueSet?: string;
  kind?: string;
  date?: string;
  dryRun?: boolean;
}

/** Prints the import report; 0 when imported (warnings allowed), 1 when refused. */
export function loincImportCommand(files: string[], opts: LoincImportOptions): number {
  const kind = opts.kind?.toUpperCase();
  if (kind !== undefined && kind !== 'LOINC_4' && kind !== 'LOINC_5' && kind !== 'LOINC_6') throw bad(`--kind must be LOINC_4, LOINC_5 or LOINC_6, got ${opts.kind}`);
  const loincFile = opts.loinc ?? defaultMappingFile('loinc.yaml');
  const catalogue = loadCatalogue(opts.catalogue ?? defaultMappingFile('catalogue.yaml'));
  const valueSetFile = opts.valueSet ?? process.env.PASSERELLE_LOINC_VALUE_SET;
  const inputs = files.map((file) => {
    try {
      return { file, bytes: readFileSync(file), ...(kind ? { kind: kind as ImportKind } : {}) };
    } catch (e) {
      throw bad(`${file}: cannot read: ${(e as Error).message}`);
    }
  });
  const common = { catalogue, current: loadLoincMap(loincFile), ...(valueSetFile ? { valueSet: loadValueSet(valueSetFile) } : {}), day: dayOption(opts.date) };
  // A FHIR Bundle / ConceptMap (SGL.LOI.10) is one change of its own, not mixed with CSV files.
  const json = inputs.filter((i) => /\.json$/i.test(i.file));
  if (json.length > 0 && inputs.length > 1) throw bad('a FHIR file (.json) is imported alone, not with other files');
  const report: ImportReport = json.length === 1 ? importCatalogueFhir(json[0].bytes, { ...common, file: json[0].file }) : importLoincFiles(inputs, common);
  out(formatImportReport(report));
  if (!report.accepted) return 1;
  if (opts.dryRun) out(`dry run: ${loincFile} not written`);
  else {
    writeLoincMap(loincFile, report.map);
    out(`written: ${loincFile} (a running engine applies it from its next result message)`);
  }
  return 0;
}

const KINDS: Record<string, LoincKind> = {
  chapter: 'chapters',
  chapters: 'chapters',
  'sub-chapter': 'subChapters',
  subchapter: 'subChapters',
  subchapters: 'subChapters',
  exam: 'exams',
  exams: 'exams',
  analysis: 'analyses',
  analyses: 'analyses',
};

/** SGL.LOI.08: one local code given a LOINC by hand, dates kept by the same rules as an import. */
export function loincSetCommand(kindArg: string, local: string, loinc: string, opts: { catalogue?: string; loinc?: string; label?: string; date?: string }): number {
  const kind = KINDS[kindArg.toLowerCase()];
  if (!kind) throw bad(`kind must be chapter, sub-chapter (key chapter/sub-chapter), exam or analysis, got ${kindArg}`);
  const problem = loincCodeProblem(loinc);
  if (problem) throw bad(problem);
  const catalogue = loadCatalogue(opts.catalogue ?? defaultMappingFile('catalogue.yaml'));
  const known =
    kind === 'chapters'
      ? catalogue.chapters.some((c) => c.code === local)
      : kind === 'subChapters'
        ? catalogue.chapters.some((c) => c.subChapters.some((s) => `${c.code}/${s.code}` === local))
        : (kind === 'exams' ? catalogue.exams : catalogue.analyses).some((x) => x.code === local);
  if (!known) throw bad(`${kindArg} ${local} is not in the catalogue`);
  const loincFile = opts.loinc ?? defaultMappingFile('loinc.yaml');
  const map = copyLoincMap(loadLoincMap(loincFile));
  const r = assign(map[kind], local, loinc, opts.label, dayOption(opts.date));
  writeLoincMap(loincFile, map);
  out(`${r.action} ${kind} ${local} → ${loinc}${r.previous && r.action === 'changed' ? ` (was ${r.previous.loinc})` : ''}: ${loincFile}`);
  return 0;
}

/**
 * The DSR LOINC imports (SGL.LOI.04–07, 09): the provider's LOINC_4 (chapters), LOINC_5 (exams)
 * and LOINC_6 (result analyses) files, i.e. our exports with the LOINC columns added, merged
 * into the transcoding. All files of one import are one change: any blocking problem refuses
 * the whole import and nothing is written. Rules (docs/catalogue.md):
 *  - blocking: several LOINC codes for one local code (in one cell separated by `,` or `|`, or
 *    different codes on two lines, across files too); a malformed code or wrong check digit;
 *    a file that cannot be read or has too few columns;
 *  - warning (imported): a LOINC code absent from the "circuit de la biologie" value set
 *    (exams and analyses; chapters are specialty codes that value set does not hold);
 *  - warning (skipped): a local code the catalogue does not have;
 *  - an empty LOINC cell changes nothing (the provider did not transcode that line).
 */
import { basename } from 'node:path';
import { decodeCsv, parseCsv, type CsvLine } from './csv';
import { LOINC_4_COLUMNS, LOINC_5_COLUMNS, LOINC_6_COLUMNS } from './csv-export';
import { assign, copyLoincMap } from './loinc-file';
import { loincCodeProblem } from './loinc-code';
import type { Catalogue, LoincKind, LoincMap } from './types';
import type { LoincValueSet } from './value-set';

export type ImportKind = 'LOINC_4' | 'LOINC_5' | 'LOINC_6';

export interface ImportInput {
  /** Name shown in the report (and used to recognise the kind). */
  file: string;
  bytes: Buffer;
  /** The kind when the name does not say it. */
  kind?: ImportKind;
}

export interface ImportOptions {
  catalogue: Catalogue;
  /** The transcoding before the import. */
  current: LoincMap;
  /** "Circuit de la biologie" codes; without it the report says the codes were not checked. */
  valueSet?: LoincValueSet;
  /** Import date YYYY-MM-DD (SGL.LOI.09 dates). */
  day: string;
}

export interface ImportProblem {
  severity: 'blocking' | 'warning';
  file?: string;
  line?: number;
  message: string;
}

export interface ImportChange {
  kind: LoincKind;
  local: string;
  loinc: string;
  action: 'added' | 'changed' | 'unchanged';
  /** The code it replaces (action `changed`). */
  previous?: string;
}

export interface ImportReport {
  accepted: boolean;
  day: string;
  files: { file: string; kind?: ImportKind; encoding?: string; lines: number }[];
  problems: ImportProblem[];
  changes: ImportChange[];
  /** Where the value set came from, or undefined when codes were not checked against one. */
  valueSet?: string;
  /** The transcoding after the import (the current one when refused). */
  map: LoincMap;
}

/** The kind a file name announces (`LOINC_6_transcodage_demandes_…` as the DSR spells it, or `…_resultats_…`). */
export function kindOfFile(name: string): ImportKind | undefined {
  const m = /^LOINC_([456])(?:[_.-]|$)/i.exec(basename(name));
  return m ? (`LOINC_${m[1]}` as ImportKind) : undefined;
}

interface Proposal {
  loinc: string;
  label?: string;
  file: string;
  line: number;
}

/** Where each kind's columns are (0-based), and how many a line needs. */
// A line as short as the export's (no LOINC columns at all) is an untranscoded line; shorter is not this kind of file.
const LAYOUT: Record<ImportKind, { columns: number; min: number; loinc: number; kind: LoincKind }> = {
  LOINC_4: { columns: LOINC_4_COLUMNS.length, min: 4, loinc: 4, kind: 'chapters' },
  LOINC_5: { columns: LOINC_5_COLUMNS.length, min: 9, loinc: 9, kind: 'exams' },
  LOINC_6: { columns: LOINC_6_COLUMNS.length, min: 12, loinc: 12, kind: 'analyses' },
};

const norm = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').trim().toLowerCase();

/** A header line: its first cell names a column ("Code chapitre", "Code examen", "Code analyse"). */
function isHeader(cells: string[]): boolean {
  return /^code\b/.test(norm(cells[0] ?? ''));
}

export function importLoincFiles(inputs: readonly ImportInput[], opts: ImportOptions): ImportReport {
  const problems: ImportProblem[] = [];
  const files: ImportReport['files'] = [];
  const proposals: Record<LoincKind, Map<string, Proposal[]>> = { chapters: new Map(), subChapters: new Map(), exams: new Map(), analyses: new Map() };
  const chapters = new Map(opts.catalogue.chapters.map((c) => [c.code, c]));
  const exams = new Set(opts.catalogue.exams.map((e) => e.code));
  const analyses = new Set(opts.catalogue.analyses.map((a) => a.code));

  for (const input of inputs) {
    const kind = input.kind ?? kindOfFile(input.file);
    const at = (line: number | undefined, severity: ImportProblem['severity'], message: string): void => void problems.push({ severity, file: input.file, line, message });
    if (!kind) {
      files.push({ file: input.file, lines: 0 });
      at(undefined, 'blocking', 'the file name does not start with LOINC_4, LOINC_5 or LOINC_6: give its kind');
      continue;
    }
    const { text, encoding } = decodeCsv(input.bytes);
    const parsed = parseCsv(text);
    if (parsed.error) at(parsed.error.line, 'blocking', parsed.error.message);
    const rows = parsed.lines.length > 0 && isHeader(parsed.lines[0].cells) ? parsed.lines.slice(1) : parsed.lines;
    files.push({ file: input.file, kind, encoding, lines: rows.length });

    // One LOINC cell: exactly one well-formed code, else blocking; outside the value set, a warning.
    const propose = (row: CsvLine, target: LoincKind, local: string, cell: string, label: string, what: string): void => {
      const codes = [...new Set(cell.split(/[,|]/).map((c) => c.trim()).filter((c) => c !== ''))];
      if (codes.length === 0) return;
      if (codes.length > 1) return at(row.line, 'blocking', `${what} ${local}: several LOINC codes (${codes.join(', ')}); one local code takes one LOINC code`);
      const bad = loincCodeProblem(codes[0]);
      if (bad) return at(row.line, 'blocking', `${what} ${local}: ${bad}`);
      if (opts.valueSet && (target === 'exams' || target === 'analyses') && !opts.valueSet.codes.has(codes[0])) {
        at(row.line, 'warning', `${what} ${local}: LOINC ${codes[0]} is not in the "circuit de la biologie" value set (imported)`);
      }
      const list = proposals[target].get(local) ?? [];
      list.push({ loinc: codes[0], label: label.trim() || undefined, file: input.file, line: row.line });
      proposals[target].set(local, list);
    };

    const layout = LAYOUT[kind];
    if (rows.length > 0 && rows.every((r) => r.cells.length <= layout.min)) at(undefined, 'warning', `no line has the LOINC columns of a ${kind} file: nothing to import from it`);
    for (const row of rows) {
      const c = row.cells.map((v) => v.trim());
      if (c.length < layout.min) {
        at(row.line, 'blocking', `${c.length} column(s), a ${kind} line has ${layout.columns} (separator ";")`);
        continue;
      }
      if (kind === 'LOINC_4') {
        const [ch, , sub, , chLoinc = '', chLabel = '', subLoinc = '', subLabel = ''] = c;
        if (ch === '') {
          if (chLoinc !== '' || subLoinc !== '') at(row.line, 'warning', 'no chapter code: line skipped');
          continue;
        }
        const chapter = chapters.get(ch);
        if (!chapter) {
          at(row.line, 'warning', `chapter ${ch} is not in the catalogue: line skipped`);
          continue;
        }
        propose(row, 'chapters', ch, chLoinc, chLabel, 'chapter');
        if (sub === '' || subLoinc === '') continue;
        if (!chapter.subChapters.some((s) => s.code === sub)) at(row.line, 'warning', `sub-chapter ${sub} is not a sub-chapter of ${ch} in the catalogue: skipped`);
        else propose(row, 'subChapters', `${ch}/${sub}`, subLoinc, subLabel, 'sub-chapter');
        continue;
      }
      const local = c[0];
      const known = kind === 'LOINC_5' ? exams : analyses;
      const what = kind === 'LOINC_5' ? 'exam' : 'analysis';
      if ((c[layout.loinc] ?? '') === '') continue;
      if (!known.has(local)) {
        at(row.line, 'warning', `${what} ${local || '(no code)'} is not in the catalogue: line skipped`);
        continue;
      }
      propose(row, layout.kind, local, c[layout.loinc], c[layout.loinc + 1] ?? '', what);
    }
  }

  // Different codes for one local code on several lines (LOINC_5 repeats an exam on each of its analyses' lines).
  for (const [kind, table] of Object.entries(proposals) as [LoincKind, Map<string, Proposal[]>][]) {
    for (const [local, list] of table) {
      const codes = [...new Set(list.map((p) => p.loinc))];
      if (codes.length < 2) continue;
      const where = list.map((p) => `${p.file}:${p.line} (${p.loinc})`).join(', ');
      for (const p of list) problems.push({ severity: 'blocking', file: p.file, line: p.line, message: `${kind} ${local}: several LOINC codes on different lines: ${where}` });
    }
  }

  const accepted = !problems.some((p) => p.severity === 'blocking');
  const report: ImportReport = { accepted, day: opts.day, files, problems, changes: [], map: opts.current };
  if (opts.valueSet) report.valueSet = opts.valueSet.source;
  if (!accepted) return report;
  const next = copyLoincMap(opts.current);
  for (const [kind, table] of Object.entries(proposals) as [LoincKind, Map<string, Proposal[]>][]) {
    for (const [local, list] of table) {
      const label = list.find((p) => p.label)?.label;
      const r = assign(next[kind], local, list[0].loinc, label, opts.day);
      const change: ImportChange = { kind, local, loinc: list[0].loinc, action: r.action };
      if (r.action === 'changed' && r.previous) change.previous = r.previous.loinc;
      report.changes.push(change);
    }
  }
  report.map = next;
  return report;
}

/** The report as text for the terminal: verdict, files, blocking problems, warnings, changes. */
export function formatImportReport(r: ImportReport): string {
  const count = (a: ImportChange['action']): number => r.changes.filter((c) => c.action === a).length;
  const blocking = r.problems.filter((p) => p.severity === 'blocking');
  const warnings = r.problems.filter((p) => p.severity === 'warning');
  const where = (p: ImportProblem): string => `${p.file ?? ''}${p.line !== undefined ? `:${p.line}` : ''}`;
  const out: string[] = [];
  out.push(
    r.accepted
      ? `LOINC import ${r.day}: imported (${count('added')} added, ${count('changed')} changed, ${count('unchanged')} unchanged; ${warnings.length} warning(s))`
      : `LOINC import ${r.day}: REFUSED, ${blocking.length} blocking error(s): nothing was written`,
  );
  for (const f of r.files) out.push(`  file ${f.file}: ${f.kind ?? 'unknown kind'}, ${f.lines} line(s)${f.encoding ? `, ${f.encoding}` : ''}`);
  if (blocking.length > 0) out.push('blocking errors:', ...blocking.map((p) => `  ${where(p)}: ${p.message}`));
  if (warnings.length > 0) out.push('warnings:', ...warnings.map((p) => `  ${where(p)}: ${p.message}`));
  if (r.accepted) {
    for (const c of r.changes.filter((x) => x.action !== 'unchanged')) {
      out.push(`  ${c.action} ${c.kind} ${c.local} → ${c.loinc}${c.previous ? ` (was ${c.previous})` : ''}`);
    }
  }
  out.push(
    r.valueSet
      ? `LOINC codes checked against the "circuit de la biologie" value set ${r.valueSet}`
      : 'LOINC codes were NOT checked against the "circuit de la biologie" value set (none configured: --value-set)',
  );
  return out.join('\n') + '\n';
}

/**
 * mappings/loinc.yaml: the transcoding, local code → LOINC per kind (types.ts LoincMap), each with
 * the date it was first set and last changed (SGL.LOI.09). Written by `passerelle loinc import`
 * and `passerelle loinc set`; may be edited by hand (SGL.LOI.08). Writing is atomic (temporary
 * file + rename) and deterministic (kinds in a fixed order, codes sorted), so a diff shows what
 * an import changed.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { ChannelConfigError, type ConfigProblem, loadYamlFile } from '../config/yaml-file';
import { loincCodeProblem } from './loinc-code';
import type { LoincAssignment, LoincKind, LoincMap } from './types';

export const LOINC_KINDS: readonly LoincKind[] = ['chapters', 'subChapters', 'exams', 'analyses'];

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const text = z.union([z.string(), z.number()]).transform((v) => String(v).trim()).pipe(z.string().min(1, 'must not be empty'));
const date = z.string().regex(DATE, 'must be a date YYYY-MM-DD');
const assignment = z.strictObject({ loinc: text, label: z.string().optional(), created: date, modified: date });
const table = z.record(z.string(), assignment).nullable().default({}).transform((t) => t ?? {});
const fileSchema = z.strictObject({ chapters: table, subChapters: table, exams: table, analyses: table });

export function emptyLoincMap(): LoincMap {
  return { chapters: new Map(), subChapters: new Map(), exams: new Map(), analyses: new Map() };
}

/** Loads a transcoding file; a LOINC code with a wrong check digit or dates out of order is a file:line problem. */
export function loadLoincMap(file: string): LoincMap {
  let loaded: ReturnType<typeof loadYamlFile<typeof fileSchema>>;
  try {
    loaded = loadYamlFile(file, fileSchema, {});
  } catch (e) {
    if (e instanceof ChannelConfigError) throw e;
    throw new ChannelConfigError([{ file, line: 1, column: 1, path: '', message: `cannot read: ${(e as Error).message}` }]);
  }
  const problems: ConfigProblem[] = [];
  const map = emptyLoincMap();
  for (const kind of LOINC_KINDS) {
    for (const [local, a] of Object.entries(loaded.value[kind])) {
      const bad = loincCodeProblem(a.loinc);
      if (bad) problems.push({ file, ...loaded.locate([kind, local, 'loinc']), path: `${kind}.${local}.loinc`, message: bad });
      if (a.modified < a.created) problems.push({ file, ...loaded.locate([kind, local, 'modified']), path: `${kind}.${local}.modified`, message: `modified ${a.modified} is before created ${a.created}` });
      const entry: LoincAssignment = { loinc: a.loinc, created: a.created, modified: a.modified };
      if (a.label !== undefined && a.label.trim() !== '') entry.label = a.label.trim();
      (map[kind] as Map<string, LoincAssignment>).set(local.trim(), entry);
    }
  }
  if (problems.length > 0) throw new ChannelConfigError(problems);
  return map;
}

const HEADER = [
  '# LOINC transcoding of the lab catalogue (mappings/catalogue.yaml): local code → LOINC, per kind.',
  '# Written by `passerelle loinc import` (LOINC_4/5/6 files) and `passerelle loinc set`; it may be',
  '# edited by hand (SGL.LOI.08): keep `created` (first time the local code got a LOINC) and set',
  '# `modified` to the day of the change (SGL.LOI.09). Sub-chapters are keyed "<chapter>/<sub-chapter>".',
];

/** Code-unit order: the same on every machine (localeCompare depends on the ICU data). */
const byCode = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The file text for a map: fixed kind order, codes sorted, one flow mapping per line. */
export function formatLoincMap(map: LoincMap): string {
  const lines = [...HEADER, ''];
  for (const kind of LOINC_KINDS) {
    const entries = [...map[kind]].sort(([a], [b]) => byCode(a, b));
    if (entries.length === 0) {
      lines.push(`${kind}: {}`);
      continue;
    }
    lines.push(`${kind}:`);
    for (const [local, a] of entries) {
      // JSON strings are valid YAML double-quoted scalars: no quoting rules of our own.
      const label = a.label !== undefined ? `, label: ${JSON.stringify(a.label)}` : '';
      lines.push(`  ${JSON.stringify(local)}: { loinc: ${JSON.stringify(a.loinc)}${label}, created: "${a.created}", modified: "${a.modified}" }`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Writes the map atomically: a reader sees the old file or the new one, never half of it. */
export function writeLoincMap(file: string, map: LoincMap): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, formatLoincMap(map), 'utf8');
  renameSync(tmp, file);
}

/**
 * Gives `local` the code `loinc` on `day` (YYYY-MM-DD), by the SGL.LOI.09 rules: the same code
 * keeps its dates (a new label is taken); another code keeps `created` and gets `modified = day`;
 * a first code gets both dates `day`. Returns what happened.
 */
export function assign(
  table: Map<string, LoincAssignment>,
  local: string,
  loinc: string,
  label: string | undefined,
  day: string,
): { action: 'added' | 'changed' | 'unchanged'; previous?: LoincAssignment } {
  const previous = table.get(local);
  const withLabel = (a: LoincAssignment): LoincAssignment => (label ? { ...a, label } : a);
  if (!previous) {
    table.set(local, withLabel({ loinc, created: day, modified: day }));
    return { action: 'added' };
  }
  if (previous.loinc === loinc) {
    table.set(local, label ? { ...previous, label } : previous);
    return { action: 'unchanged', previous };
  }
  // A new label is not carried over from the old code: the old label described the old code.
  table.set(local, withLabel({ loinc, created: previous.created, modified: day }));
  return { action: 'changed', previous };
}

/** A deep copy whose tables can be changed. */
export function copyLoincMap(map: LoincMap): { [K in LoincKind]: Map<string, LoincAssignment> } {
  return {
    chapters: new Map(map.chapters),
    subChapters: new Map(map.subChapters),
    exams: new Map(map.exams),
    analyses: new Map(map.analyses),
  };
}

/** Today as YYYY-MM-DD (UTC). */
export function isoDay(d: Date = new Date()): string {
  return d.toISOString().slice(0, 10);
}

/**
 * The three DSR LOINC exports (SGL.LOI.01–03), columns in the DSR order, and the column names of
 * the imports that extend them (SGL.LOI.04–06). Several NABM codes share one field, joined by `,`.
 */
import { PasserelleError } from '../errors';
import { formatCsv } from './csv';
import type { Catalogue } from './types';

export const LOINC_1_COLUMNS = ['Code chapitre', 'Libellé chapitre', 'Code sous-chapitre', 'Libellé sous-chapitre'] as const;
export const LOINC_2_COLUMNS = ['Code examen', 'Libellé examen', 'Synonyme', 'Code chapitre', 'Code sous-chapitre', 'Milieu', 'Codes NABM', 'Code analyse', 'Libellé analyse'] as const;
export const LOINC_3_COLUMNS = [
  'Code analyse',
  'Libellé analyse',
  'Synonyme',
  'Grandeur',
  'Code unité',
  'Libellé unité',
  'Temps',
  'Code milieu',
  'Libellé milieu',
  'Échelle',
  'Technique',
  'Codes NABM',
] as const;
export const LOINC_4_COLUMNS = [...LOINC_1_COLUMNS, 'Code LOINC chapitre', 'Libellé LOINC chapitre', 'Code LOINC sous-chapitre', 'Libellé LOINC sous-chapitre'] as const;
export const LOINC_5_COLUMNS = [...LOINC_2_COLUMNS, 'Code(s) LOINC', 'Libellé LOINC examen'] as const;
export const LOINC_6_COLUMNS = [...LOINC_3_COLUMNS, 'Code(s) LOINC', 'Libellé LOINC analyse'] as const;

/** NABM codes in one field. */
export const NABM_JOINER = ',';

const opt = (v: string | undefined): string => v ?? '';

/** LOINC_1: one line per sub-chapter; a chapter without sub-chapters gets one line. */
export function chapterRows(c: Catalogue): string[][] {
  const rows: string[][] = [[...LOINC_1_COLUMNS]];
  for (const ch of c.chapters) {
    if (ch.subChapters.length === 0) rows.push([ch.code, ch.label, '', '']);
    for (const s of ch.subChapters) rows.push([ch.code, ch.label, s.code, s.label]);
  }
  return rows;
}

/** LOINC_2: N lines for an exam giving N analyses; one line with empty analysis fields for an exam giving none. */
export function examRows(c: Catalogue): string[][] {
  const labels = new Map(c.analyses.map((a) => [a.code, a.label]));
  const rows: string[][] = [[...LOINC_2_COLUMNS]];
  for (const e of c.exams) {
    const head = [e.code, e.label, opt(e.synonym), opt(e.chapter), opt(e.subChapter), opt(e.specimen), e.nabm.join(NABM_JOINER)];
    if (e.analyses.length === 0) rows.push([...head, '', '']);
    for (const a of e.analyses) rows.push([...head, a, labels.get(a) ?? '']);
  }
  return rows;
}

/** LOINC_3: one line per result analysis. */
export function analysisRows(c: Catalogue): string[][] {
  const rows: string[][] = [[...LOINC_3_COLUMNS]];
  for (const a of c.analyses) {
    rows.push([
      a.code,
      a.label,
      opt(a.synonym),
      opt(a.property),
      opt(a.unit?.code),
      opt(a.unit?.label),
      opt(a.time),
      opt(a.system?.code),
      opt(a.system?.label),
      opt(a.scale),
      opt(a.method),
      a.nabm.join(NABM_JOINER),
    ]);
  }
  return rows;
}

export interface ExportFile {
  name: string;
  text: string;
}

/** The three files for `day` (AAAAMMJJ), names as the DSR gives them. */
export function exportCatalogue(c: Catalogue, day: string): ExportFile[] {
  if (!/^\d{8}$/.test(day)) throw new PasserelleError('PSL_CONFIG_INVALID', `the export date must be AAAAMMJJ, got ${JSON.stringify(day)}`);
  return [
    { name: `LOINC_1_export_chapitres_${day}.csv`, text: formatCsv(chapterRows(c)) },
    { name: `LOINC_2_export_demandes_${day}.csv`, text: formatCsv(examRows(c)) },
    { name: `LOINC_3_export_resultats_${day}.csv`, text: formatCsv(analysisRows(c)) },
  ];
}

/**
 * The PDF's file name for MSSanté and the DMP (SGL.DOC.05, MSSanté ECO 2.1.5/2.1.6):
 * `<date acte AAAAMMJJ>_<type doc>_<NOM>_<PRENOM>_<n° dossier>.pdf`.
 *
 * Date acte: the first specimen collection of the report (the act the lab reports on), else
 * its reception, else options.effectiveTime. Names are the birth name and first birth given
 * name, in upper-case ASCII; every field keeps only [A-Z0-9-] (dossier: [A-Za-z0-9-]) so the
 * name survives any mail client, ZIP tool or file system.
 */
import type { Report } from '../lab/report';
import type { RenderOptions } from '../lab/profile';

/** Document type token: the CR-BIO volet's own name. */
export const PDF_DOC_TYPE = 'CR-BIO';

function asciiUpper(s: string): string {
  return s
    .replace(/œ/g, 'oe').replace(/Œ/g, 'OE').replace(/æ/g, 'ae').replace(/Æ/g, 'AE').replace(/ß/g, 'ss')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase();
}

/** Spaces, apostrophes and any other separator become one hyphen; no leading/trailing hyphen. */
function token(s: string, allowed: RegExp): string {
  return s.replace(allowed, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
}

function actDate(report: Report, options: RenderOptions): string {
  const collected = report.requests
    .flatMap((r) => [r.collectedAt, ...r.specimens.map((s) => s.collectedAt)])
    .filter((t): t is string => !!t && /^\d{8}/.test(t))
    .sort()[0];
  const ts = collected ?? report.receivedAt ?? options.effectiveTime;
  if (ts && /^\d{8}/.test(ts)) return ts.slice(0, 8);
  const now = new Date(); // RenderOptions: effectiveTime defaults to now
  return `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}`;
}

export function pdfFileName(report: Report, options: RenderOptions): string {
  const family = token(asciiUpper(report.patient.birthFamily), /[^A-Z0-9]/g) || 'INCONNU';
  const given = token(asciiUpper(report.patient.firstBirthGiven), /[^A-Z0-9]/g) || 'INCONNU';
  const dossier = token(
    report.dossier.normalize('NFD').replace(/[\u0300-\u036f]/g, ''),
    /[^A-Za-z0-9]/g,
  ) || 'SANS-DOSSIER';
  return `${actDate(report, options)}_${PDF_DOC_TYPE}_${family}_${given}_${dossier}.pdf`;
}

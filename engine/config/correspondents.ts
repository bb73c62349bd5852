/**
 * The lab's correspondents file (issue 9, item 1): RPPS → name and MSSanté address of the
 * professionals its reports go to. A prescriber or a copy whose message gave no MSSanté
 * address gets the one this file names, so the recipients printed on the report (DOC.07) and
 * those the deliveries write to are the same list. Validated at load, with file:line errors.
 */
import { z } from 'zod';
import type { Professional, Report } from '../lab';
import { loadYamlFile } from './yaml-file';

/** Only MSSanté domains may be written to (the trust space's white list ends in mssante.fr). */
export const mssanteAddress = z
  .string()
  .regex(/^[^@\s]+@([a-z0-9-]+\.)*mssante\.fr$/i, 'an MSSanté address (…@….mssante.fr)')
  .transform((s) => s.toLowerCase());

const correspondentsSchema = z
  .strictObject({
    correspondents: z.array(
      z.strictObject({
        /** RPPS (11 digits), as ORC-12 / OBR-16 / OBR-28 carry it. */
        rpps: z.string().regex(/^\d{11}$/, 'an RPPS number: 11 digits'),
        name: z.string().min(1),
        mssante: mssanteAddress,
      }),
    ),
  })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.correspondents.forEach((c, i) => {
      if (seen.has(c.rpps)) ctx.addIssue({ code: 'custom', path: ['correspondents', i, 'rpps'], message: `RPPS ${c.rpps} is listed twice` });
      seen.add(c.rpps);
    });
  });

export interface Correspondent {
  rpps: string;
  name: string;
  mssante: string;
}

/** RPPS → correspondent. */
export type Correspondents = ReadonlyMap<string, Correspondent>;

export function loadCorrespondents(file: string, env: NodeJS.ProcessEnv = process.env): Correspondents {
  const { value } = loadYamlFile(file, correspondentsSchema, env);
  return new Map(value.correspondents.map((c) => [c.rpps, c]));
}

/** The report with the MSSanté address of each prescriber or copy the message left without one, when the file knows their RPPS. */
export function withCorrespondents(report: Report, book: Correspondents | undefined): Report {
  if (!book || book.size === 0) return report;
  const fill = (p: Professional | undefined): Professional | undefined => {
    if (!p || p.mssante || !p.id) return p;
    // An RPPS may come as its national id (8 + RPPS).
    const c = book.get(/^8\d{11}$/.test(p.id) ? p.id.slice(1) : p.id);
    return c ? { ...p, mssante: c.mssante } : p;
  };
  const out: Report = { ...report, copiesTo: report.copiesTo.map((p) => fill(p)!) };
  const prescriber = fill(report.prescriber);
  if (prescriber) out.prescriber = prescriber;
  return out;
}

/**
 * One report → the document set that leaves the lab: PDF/A-1b (with the INS Datamatrix when
 * the identity is qualified), the CR-BIO N3 carrying that PDF in its FR-Document-PDF-copie
 * section, the N1 wrapping the same PDF, and the inline validation of both. Nothing is
 * returned as valid unless the official rules passed (issue 3, "validation before anything
 * leaves"): a failed error-level rule raises PSL_DOCUMENT_INVALID with the findings, and the
 * caller quarantines.
 */
import { performance } from 'node:perf_hooks';
import { PasserelleError } from '../errors';
import type { Report, Result } from '../lab/report';
import type { DocumentMetadata, LabProfile, RenderOptions } from '../lab/profile';
import { pdfFileName, renderPdf } from '../pdf';
import { ansUcumAccepts, type AnsKit, type Finding, type ValidationReport } from '../validation';
import { buildN1 } from '../cda/n1';
import { buildN3 } from '../cda/n3';

/** The stylesheet written beside every N3 so a browser presents it (DOC.03). */
export const STYLESHEET_NAME = 'cda-passerelle.xsl';

export interface DocumentSet {
  n3: string;
  n1: string;
  pdf: Buffer;
  metadata: DocumentMetadata;
  /** Inline validation (XSD + volet for the N3; XSD + StrucMin for the N1). */
  validation: { n3: ValidationReport; n1: ValidationReport };
  /** Milliseconds per stage, for the render benchmark and the logs. */
  timings: { pdf: number; n3: number; n1: number; validate: number };
}

export interface RenderDeps {
  /** The ANS kit; without it documents cannot leave (PSL_DOCUMENT_KIT_UNAVAILABLE). */
  kit: AnsKit | undefined;
  /** Rule sets run on the N1 inline. Default: none beyond the XSD (volet never runs on an N1). */
  n1RuleSets?: string[];
}

/** Error raised for a document that failed the official rules; carries every error finding. */
export class DocumentInvalidError extends PasserelleError {
  constructor(
    readonly which: 'N3' | 'N1',
    readonly findings: Finding[],
    readonly partial: Omit<DocumentSet, 'validation' | 'timings'> & { validation: Partial<DocumentSet['validation']> },
  ) {
    const errors = findings.filter((f) => f.severity === 'error');
    super('PSL_DOCUMENT_INVALID', `${which}: ${errors.length} error(s): ` + errors.slice(0, 5).map(describeFinding).join(' | '), {
      details: { which, errors: errors.length },
    });
  }
}

export function describeFinding(f: Finding): string {
  return `[${f.ruleSet}${f.patternId ? ' ' + f.patternId : ''}] ${f.text.trim().replace(/\s+/g, ' ')} at ${f.location}`;
}

/** Adds the presentation stylesheet processing instruction after the XML declaration. */
export function withStylesheet(xml: string, href = STYLESHEET_NAME): string {
  if (xml.includes('<?xml-stylesheet')) return xml;
  const pi = `<?xml-stylesheet type="text/xsl" href="${href}"?>`;
  const decl = /^<\?xml[^?]*\?>/.exec(xml);
  return decl ? `${decl[0]}\n${pi}${xml.slice(decl[0].length)}` : `${pi}\n${xml}`;
}

/** A rendered but not yet validated set (what a render worker thread sends back). */
export interface BuiltDocumentSet {
  n3: string;
  n1: string;
  pdf: Buffer;
  metadata: DocumentMetadata;
  timings: { pdf: number; n3: number; n1: number };
}

/**
 * Renders PDF, N3 and N1 from a report; no validation. `unitAccepted` (the kit's UCUM table):
 * a unit it refuses is written as text with the value rather than as a PQ unit.
 */
export async function buildDocumentSet(report: Report, lab: LabProfile, options: RenderOptions, unitAccepted?: (unit: string) => boolean): Promise<BuiltDocumentSet> {
  const opts: RenderOptions = { ...options, effectiveTime: options.effectiveTime ?? cdaNow() };
  if (unitAccepted) report = withAcceptedUnits(report, unitAccepted);

  let t = performance.now();
  const pdf = await renderPdf(report, lab, opts);
  const tPdf = performance.now() - t;

  t = performance.now();
  const n3Built = buildN3(report, lab, { ...opts, pdf });
  const n3 = withStylesheet(n3Built.xml);
  const tN3 = performance.now() - t;

  t = performance.now();
  const n1 = withStylesheet(buildN1(report, lab, { ...opts, pdf }).xml);
  const tN1 = performance.now() - t;

  const metadata: DocumentMetadata = { ...n3Built.metadata, pdfFileName: pdfFileName(report, opts) };
  return { n3, n1, pdf, metadata, timings: { pdf: tPdf, n3: tN3, n1: tN1 } };
}

/** The report with `unit` (UCUM) dropped wherever `accepted` refuses it; `unitText` stays. */
function withAcceptedUnits(report: Report, accepted: (unit: string) => boolean): Report {
  const fix = (r: Result): Result => (r.unit && !accepted(r.unit) ? { ...r, unit: undefined } : r);
  const requests = report.requests.map((q) => {
    const results = q.results.map(fix);
    const byId = new Map(results.map((r) => [r.id, r]));
    const isolates = q.isolates?.map((i) => ({ ...i, susceptibilities: i.susceptibilities.map((r) => byId.get(r.id) ?? fix(r)) }));
    return { ...q, results, ...(isolates ? { isolates } : {}) };
  });
  return { ...report, requests };
}

/** The verdict on a built set: the set with its reports, or DocumentInvalidError. */
export function acceptDocumentSet(built: BuiltDocumentSet, n3Report: ValidationReport, n1Report: ValidationReport, validateMs: number): DocumentSet {
  const { n3, n1, pdf, metadata } = built;
  if (!n3Report.valid) throw new DocumentInvalidError('N3', n3Report.findings, { n3, n1, pdf, metadata, validation: { n3: n3Report } });
  if (!n1Report.valid) throw new DocumentInvalidError('N1', n1Report.findings, { n3, n1, pdf, metadata, validation: { n3: n3Report, n1: n1Report } });
  return { n3, n1, pdf, metadata, validation: { n3: n3Report, n1: n1Report }, timings: { ...built.timings, validate: validateMs } };
}

/** Renders and validates in this thread (CLI, tests); channels use a RenderPool. */
export async function renderDocumentSet(report: Report, lab: LabProfile, options: RenderOptions, deps: RenderDeps): Promise<DocumentSet> {
  if (!deps.kit) throw kitUnavailable();
  const built = await buildDocumentSet(report, lab, options, ansUcumAccepts(deps.kit.dir));
  const t = performance.now();
  const n3Report = await deps.kit.validate(built.n3);
  const n1Report = await deps.kit.validate(built.n1, deps.n1RuleSets ? { ruleSets: deps.n1RuleSets } : undefined);
  return acceptDocumentSet(built, n3Report, n1Report, performance.now() - t);
}

export function kitUnavailable(): PasserelleError {
  return new PasserelleError('PSL_DOCUMENT_KIT_UNAVAILABLE', 'no ANS kit configured (PASSERELLE_ANS_KIT): documents cannot be validated, so none is produced');
}

/** Current time as a CDA TS with the local offset, to the second. */
export function cdaNow(d = new Date()): string {
  const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  return (
    `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}` +
    `${off >= 0 ? '+' : '-'}${pad(Math.trunc(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`
  );
}

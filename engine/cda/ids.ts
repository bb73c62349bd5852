/**
 * Document and set identifiers. When the caller does not give them, they are derived from the
 * lab's documentIdRoot and the report itself, so re-rendering the same HL7 message yields the
 * same ids (idempotent redelivery) while another message of the same order yields a new document
 * id within the same set.
 *
 * Shape: `<documentIdRoot>.<n>` where n is a decimal number derived from a SHA-256 hash (48
 * bits: at most 15 digits, so ids stay far below the 64-character limit of XDS uniqueId).
 */
import { createHash } from 'node:crypto';
import type { Report } from '../lab/report';
import type { LabProfile, RenderOptions } from '../lab/profile';

const OID_RE = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

/** Digits and dots, at least two arcs, no leading zero in any arc. */
export function isValidOid(s: string): boolean {
  return OID_RE.test(s);
}

/** A positive arc (never 0, never a leading zero) from the hash of the parts. */
export function hashArc(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u001f'), 'utf8').digest();
  const n = h.readUIntBE(0, 6); // 48 bits
  return String((n % 281474976710655) + 1);
}

function child(root: string, ...parts: string[]): string {
  if (!isValidOid(root)) throw new Error(`documentIdRoot is not a valid OID: ${root}`);
  return `${root}.${hashArc(...parts)}`;
}

export interface DocumentIds {
  documentId: string;
  setId: string;
  versionNumber: number;
}

/**
 * N3 ids. The set id depends on the report (dossier + order), not on the message, so every
 * version of the report shares it; the document id adds the message control id and version.
 */
export function n3Ids(report: Report, lab: LabProfile, options: RenderOptions): DocumentIds {
  const versionNumber = options.versionNumber ?? 1;
  if (!Number.isInteger(versionNumber) || versionNumber < 1) throw new Error(`versionNumber must be a positive integer: ${versionNumber}`);
  const setId = options.setId ?? child(lab.documentIdRoot, 'set', report.dossier, report.orderId);
  const documentId =
    options.documentId ?? child(lab.documentIdRoot, 'doc', report.dossier, report.orderId, report.sourceControlId, String(versionNumber));
  for (const id of [setId, documentId]) if (!isValidOid(id)) throw new Error(`invalid document OID: ${id}`);
  return { documentId, setId, versionNumber };
}

/**
 * Ids of version `versionNumber` of a report accumulated across messages (engine/reports): one
 * set per (filling lab, filler order number), one document id per version, so the id of any
 * earlier version (the RPLC parent, the document a deletion takes back) is known from its number.
 */
export function reportVersionIds(lab: LabProfile, fillingLab: string, fillerOrder: string, versionNumber: number): DocumentIds {
  if (!Number.isInteger(versionNumber) || versionNumber < 1) throw new Error(`versionNumber must be a positive integer: ${versionNumber}`);
  return {
    setId: child(lab.documentIdRoot, 'report-set', fillingLab, fillerOrder),
    documentId: child(lab.documentIdRoot, 'report-doc', fillingLab, fillerOrder, String(versionNumber)),
    versionNumber,
  };
}

/**
 * N1 ids: the N1 is a distinct document (own id and own set, as in the ANS N1 example where
 * id = set + version arc), derived from the N3 ids so that the N1 of a replaced N3 is found again
 * from the replaced N3 id alone.
 */
export function n1Ids(report: Report, lab: LabProfile, options: RenderOptions): DocumentIds & { replaces?: string } {
  const n3 = n3Ids(report, lab, options);
  return {
    setId: n1IdFor(lab, 'set', n3.setId),
    documentId: n1IdFor(lab, 'doc', n3.documentId),
    versionNumber: n3.versionNumber,
    replaces: options.replaces ? n1IdFor(lab, 'doc', options.replaces) : undefined,
  };
}

function n1IdFor(lab: LabProfile, kind: string, n3Id: string): string {
  return child(lab.documentIdRoot, 'n1', kind, n3Id);
}

/**
 * OID of the lab's local code system, used when a local test code arrives without one.
 * Arc 0 under documentIdRoot is never a document (hashArc is ≥ 1). LabProfile has no field for
 * it yet.
 */
export function localCodeSystem(lab: LabProfile): string {
  return `${lab.documentIdRoot}.0`;
}

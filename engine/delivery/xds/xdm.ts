/**
 * IHE_XDM.ZIP (IHE ITI-32, the zip an MSSanté mail carries; ../shared/docs/dmp-mss-ins.md §2.3):
 *
 *   INDEX.HTM  README.TXT  IHE_XDM/SUBSET01/{METADATA.XML, DOC0001.XML (N3), DOC0002.XML (N1)}
 *
 * Names are upper-case 8.3. METADATA.XML is the version's XDS metadata with each document's
 * URI, SHA-1 and size; each DocumentEntry's id is its entryUUID, derived from the document's
 * own id, so the next version's RPLC names the entry of this one without keeping state.
 */
import { createHash } from 'node:crypto';
import { zipSync, strToU8 } from 'fflate';
import type { LabProfile } from '../../lab';
import { buildSubmitObjectsRequest, type SubmissionInput, type XdsFacts } from './metadata';

export interface XdmInput {
  facts: XdsFacts;
  lab: LabProfile;
  n3: string;
  n1?: string;
  /** The N3 (and N1) this version replaces: their CDA ids (the entryUUIDs are derived from them). */
  replaces?: { n3: string; n1?: string };
  submissionUniqueId: string;
  sourceId: string;
  submissionTime: Date;
  visibility: SubmissionInput['visibility'];
}

/** `urn:uuid:` of a document, derived from its CDA id: stable across submissions (name-based, SHA-1, RFC 4122 v5 layout). */
export function entryUuidOf(documentId: string): string {
  const h = createHash('sha1').update(`passerelle-xds-entry:${documentId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The id of the document a CDA replaces (relatedDocument RPLC), if any. */
export function replacedId(xml: string): string | undefined {
  const m = /<relatedDocument typeCode="RPLC">\s*<parentDocument>\s*<id root="([^"]+)"(?: extension="([^"]+)")?/.exec(xml);
  return m ? (m[2] ? `${m[1]}^${m[2]}` : m[1]) : undefined;
}

function cdaId(xml: string): string {
  const m = /<id root="([^"]+)"(?: extension="([^"]+)")?/.exec(xml);
  if (!m) throw new Error('not a CDA document: no id');
  return m[2] ? `${m[1]}^${m[2]}` : m[1]!;
}

export function buildXdm(o: XdmInput): Uint8Array {
  const docs: SubmissionInput['documents'] = [
    { entryId: entryUuidOf(cdaId(o.n3)), kind: 'n3', xml: o.n3, uri: 'DOC0001.XML', ...(o.replaces ? { replaces: entryUuidOf(o.replaces.n3) } : {}) },
  ];
  if (o.n1) docs.push({ entryId: entryUuidOf(cdaId(o.n1)), kind: 'n1', xml: o.n1, uri: 'DOC0002.XML', ...(o.replaces?.n1 ? { replaces: entryUuidOf(o.replaces.n1) } : {}) });
  const metadata = buildSubmitObjectsRequest({ facts: o.facts, lab: o.lab, documents: docs, submissionUniqueId: o.submissionUniqueId, sourceId: o.sourceId, submissionTime: o.submissionTime, visibility: o.visibility });
  const files: Record<string, Uint8Array> = {
    'INDEX.HTM': strToU8(indexHtm(o)),
    'README.TXT': strToU8(readme(o)),
    'IHE_XDM/SUBSET01/METADATA.XML': strToU8(metadata),
    'IHE_XDM/SUBSET01/DOC0001.XML': strToU8(o.n3),
  };
  if (o.n1) files['IHE_XDM/SUBSET01/DOC0002.XML'] = strToU8(o.n1);
  // A fixed time for every entry: the same version zips to the same bytes.
  return zipSync(files, { level: 6, mtime: o.submissionTime });
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function indexHtm(o: XdmInput): string {
  const lab = escapeHtml(o.lab.lab.name);
  const links = [['IHE_XDM/SUBSET01/DOC0001.XML', "Compte rendu d'examens biologiques (CDA R2 N3)"], ...(o.n1 ? [['IHE_XDM/SUBSET01/DOC0002.XML', 'Copie PDF du compte rendu (CDA R2 N1)']] : [])]
    .map(([href, label]) => `<li><a href="${href}">${escapeHtml(label!)}</a></li>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n' +
    `<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr"><head><title>IHE_XDM - ${lab}</title></head><body>` +
    `<h1>Documents transmis par ${lab}</h1><ul>${links}</ul><p><a href="README.TXT">README.TXT</a></p></body></html>\n`
  );
}

function readme(o: XdmInput): string {
  const a = o.lab.address;
  return [
    `Expéditeur : ${o.lab.lab.name}${o.lab.lab.finess ? ` (FINESS ${o.lab.lab.finess})` : ''}`,
    `Adresse : ${[...(a.street ?? []), a.postalCode, a.city].filter(Boolean).join(' ')}`,
    `Téléphone : ${(o.lab.telecom[0] ?? '').replace(/^tel:/, '')}`,
    `Application : ${o.lab.software.name} ${o.lab.software.version} (Passerelle)`,
    '',
    "Contenu : un compte rendu d'examens de biologie médicale au format CDA R2 (IHE XDM, ITI-32).",
    'Ouvrir INDEX.HTM pour la liste des documents ; les métadonnées sont dans IHE_XDM/SUBSET01/METADATA.XML.',
    '',
    'INDEX.HTM',
    'README.TXT',
    'IHE_XDM/SUBSET01/METADATA.XML',
    'IHE_XDM/SUBSET01/DOC0001.XML',
    ...(o.n1 ? ['IHE_XDM/SUBSET01/DOC0002.XML'] : []),
    '',
  ].join('\r\n');
}

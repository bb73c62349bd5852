/**
 * A written report version as deliveries read it: `<documents>/<filler order>/v<n>/` holds, per
 * profile, `<profile>.n3.xml`, `<profile>.n1.xml`, the PDF under its MSSanté name and
 * `<profile>.metadata.json` (engine/documents/document-writer.ts). Its IHE_XDM.ZIP is built
 * from the documents themselves, so the CLI and the MSSanté line give the same zip.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import type { DocumentMetadata, LabProfile } from '../lab';
import { xdsFactsOfCda } from './xds/metadata';
import { buildXdm, replacedId } from './xds/xdm';

export interface WrittenVersion {
  dir: string;
  profile: string;
  n3: string;
  n1?: string;
  pdf?: { fileName: string; data: Buffer };
  metadata?: DocumentMetadata;
  visibility: DocumentMetadata['confidentiality'];
}

const VISIBLE: DocumentMetadata['confidentiality'] = { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false };

/** The profile's documents of a version folder; undefined when it has no N3 of that profile. */
export function readWrittenVersion(dir: string, profile = 'pro'): WrittenVersion | undefined {
  const n3File = join(dir, `${profile}.n3.xml`);
  if (!existsSync(n3File)) return undefined;
  const n1File = join(dir, `${profile}.n1.xml`);
  const metaFile = join(dir, `${profile}.metadata.json`);
  const metadata = existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, 'utf8')) as DocumentMetadata) : undefined;
  const pdfFile = metadata?.pdfFileName ? join(dir, metadata.pdfFileName) : undefined;
  return {
    dir,
    profile,
    n3: readFileSync(n3File, 'utf8'),
    ...(existsSync(n1File) ? { n1: readFileSync(n1File, 'utf8') } : {}),
    ...(pdfFile && existsSync(pdfFile) ? { pdf: { fileName: metadata!.pdfFileName, data: readFileSync(pdfFile) } } : {}),
    ...(metadata ? { metadata } : {}),
    visibility: metadata?.confidentiality ?? VISIBLE,
  };
}

/** The IHE_XDM.ZIP of a written version (RPLC to the version it replaces, read off its CDA). */
export function xdmOfVersion(v: WrittenVersion, lab: LabProfile, submissionTime: Date): Uint8Array {
  const parentN3 = replacedId(v.n3);
  const parentN1 = v.n1 && replacedId(v.n1);
  return buildXdm({
    facts: xdsFactsOfCda(v.n3),
    lab,
    n3: v.n3,
    n1: v.n1,
    replaces: parentN3 ? { n3: parentN3, ...(parentN1 ? { n1: parentN1 } : {}) } : undefined,
    // One submission id per document set: the same folder gives the same metadata.
    submissionUniqueId: `${lab.documentIdRoot}.${BigInt('0x' + createHash('sha256').update(`xdm:${v.n3}`).digest('hex').slice(0, 12)).toString()}`,
    sourceId: lab.documentIdRoot,
    submissionTime,
    visibility: v.visibility,
  });
}

/**
 * The version's IHE_XDM.ZIP, built once and kept beside the documents (`<profile>.xdm.zip`):
 * every recipient of a version gets the same zip, and deflating it is the costliest part of a
 * mail.
 */
export function cachedXdmOfVersion(v: WrittenVersion, lab: LabProfile): Uint8Array {
  const file = xdmFile(v.dir, v.profile);
  if (existsSync(file)) return readFileSync(file);
  const zip = xdmOfVersion(v, lab, new Date());
  writeShared(file, zip);
  return zip;
}

/**
 * Writes a file that several writers may produce at once (a cache beside a version: every line,
 * thread or engine process delivering it builds the same content): each through its own
 * temporary name, then an atomic rename, so a reader never sees half a file and two writers
 * never trip over one temporary.
 */
export function writeShared(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${threadId}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Where a version's IHE_XDM.ZIP is kept once built. */
export function xdmFile(dir: string, profile: string): string {
  return join(dir, `${profile}.xdm.zip`);
}

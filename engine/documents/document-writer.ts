import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { STYLESHEET_NAME, type DocumentSet } from './document-set';
import { stylesheetPath } from '../cda/stylesheet';

export interface WrittenDocumentSet {
  dir: string;
  n3: string;
  n1: string;
  pdf: string;
  validation: string;
  metadata: string;
}

/**
 * Writes a document set into `dir`: `<base>.n3.xml`, `<base>.n1.xml`, the PDF under its
 * MSSanté file name, `<base>.validation.json`, `<base>.metadata.json`, and the presentation
 * stylesheet the N3 points to. Each file is written to a temporary name, fsynced, then renamed,
 * so a reader never sees half a document and a delivery marked done survives a power cut.
 */
export function writeDocumentSet(dir: string, base: string, set: Pick<DocumentSet, 'n3' | 'n1' | 'pdf' | 'metadata'> & { validation: unknown }): WrittenDocumentSet {
  mkdirSync(dir, { recursive: true });
  const put = (name: string, data: string | Buffer): string => {
    const file = join(dir, name);
    const fd = openSync(file + '.tmp', 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(file + '.tmp', file);
    return file;
  };
  const written: WrittenDocumentSet = {
    dir,
    n3: put(`${base}.n3.xml`, set.n3),
    n1: put(`${base}.n1.xml`, set.n1),
    pdf: put(set.metadata.pdfFileName, set.pdf),
    validation: put(`${base}.validation.json`, JSON.stringify(set.validation, null, 2) + '\n'),
    metadata: put(`${base}.metadata.json`, JSON.stringify(set.metadata, null, 2) + '\n'),
  };
  copyFileSync(stylesheetPath(), join(dir, STYLESHEET_NAME));
  // The renames themselves are durable once the directory is synced.
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return written;
}

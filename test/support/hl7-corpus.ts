/**
 * The third-party HL7 sample corpus (79 files, manifest.json), found or assembled by
 * engine/config/reference-data.ts. A test file that imports this and cannot get the corpus fails
 * with that module's one-line message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRootOf, resolveHl7Samples } from '../../engine/config/reference-data';

/** The third-party sample corpus (../shared/hl7/samples, or assembled: engine/config/reference-data.ts). */
export const SAMPLES_DIR = resolveHl7Samples({ root: repoRootOf(__dirname) });

export interface ManifestEntry {
  file: string;
  note: string;
  bytes: number;
  segment_separator: 'CR' | 'LF' | 'CRLF' | 'CR+LF' | 'none';
  bom: boolean;
  bytes_encoding: string;
  messages: number;
  batch: boolean;
  msh9: string;
  msh12: string;
  msh18: string;
  msh2: string;
  msh15_16: string;
  segments?: Record<string, number>;
}

export function loadManifest(): ManifestEntry[] {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'manifest.json'), 'utf8')) as ManifestEntry[];
}

export function readSample(file: string): Buffer {
  return fs.readFileSync(path.join(SAMPLES_DIR, file));
}

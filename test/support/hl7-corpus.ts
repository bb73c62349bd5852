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

/** The corpus files our parser must refuse, with the code it refuses each with (HL7 and document tests). */
export const MALFORMED: Readonly<Record<string, string>> = {
  'ans/oru-r01_crbio-n1n3_v2.0_init_bad-msh2-U02DC.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/lfh_msh2-doubled-backslash_literal-backslash-r.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_256-pipes.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_MSHH0.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_empty-file.hl7': 'HL7_EMPTY',
  'malformed/nhapi_hang1.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_ioor1.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_leading-nul-before-msh.hl7': 'HL7_NO_MSH',
  'malformed/nhapi_non-utf8-msh2.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_nul-bytes_lf-in-msh.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_regex1.hl7': 'HL7_BAD_DELIMITERS',
  'malformed/nhapi_stackoverflow1.hl7': 'HL7_BAD_DELIMITERS',
};

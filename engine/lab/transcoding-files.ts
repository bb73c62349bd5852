/**
 * The catalogue and LOINC transcoding files as a running engine sees them: re-read when either
 * changed (size or modification time, looked at no more than once every `checkEveryMs`), so
 * `passerelle loinc import`, `loinc set` or a hand edit applies to the next result message
 * without a restart. A changed file that fails validation leaves the transcoding in force and is
 * reported once per change; the engine never runs on half a file.
 */
import { statSync } from 'node:fs';
import { defaultMappingFile, loadTranscoding, type Transcoding } from './mappings';

export interface TranscodingFilesOptions {
  /** How often the files' stamps are looked at, at most. Default 2000 ms. */
  checkEveryMs?: number;
  /** Told of each reload: no error when the new files are in force, the error when they were refused. */
  onReload?: (error?: Error) => void;
}

function stampOf(files: string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

export class TranscodingFiles {
  private current: Transcoding;
  private stamp: string;
  private checkedAt = Date.now();
  private refusedStamp: string | undefined;

  /** Loads both files now: a bad file at start is a configuration error (file:line), as before. */
  constructor(
    readonly catalogueFile: string = defaultMappingFile('catalogue.yaml'),
    readonly loincFile: string = defaultMappingFile('loinc.yaml'),
    private readonly o: TranscodingFilesOptions = {},
  ) {
    this.stamp = stampOf([catalogueFile, loincFile]);
    this.current = loadTranscoding(catalogueFile, loincFile);
  }

  /** The transcoding in force, re-read first when the files changed since. */
  get(): Transcoding {
    const now = Date.now();
    if (now - this.checkedAt < (this.o.checkEveryMs ?? 2000)) return this.current;
    this.checkedAt = now;
    const stamp = stampOf([this.catalogueFile, this.loincFile]);
    if (stamp === this.stamp || stamp === this.refusedStamp) return this.current;
    try {
      this.current = loadTranscoding(this.catalogueFile, this.loincFile);
      this.stamp = stamp;
      this.refusedStamp = undefined;
      this.o.onReload?.();
    } catch (e) {
      this.refusedStamp = stamp;
      this.o.onReload?.(e as Error);
    }
    return this.current;
  }
}

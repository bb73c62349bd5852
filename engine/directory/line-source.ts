/**
 * The lines of a directory extraction, read as a stream: a `.txt`, or the matching `.txt` inside
 * a `.zip` (inflated on the fly with fflate). Never the whole file in memory: the file stream
 * pauses while the lines already decoded wait for the store.
 *
 * Encoding, line by line: the bytes go through readline as latin-1 (one char per byte, nothing
 * lost); a line with bytes ≥ 0x80 is decoded as UTF-8 when it is valid UTF-8, else as
 * windows-1252 (older extractions). A file mixing both still reads right.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { Unzip, UnzipInflate } from 'fflate';
import iconv from 'iconv-lite';
import { PasserelleError } from '../errors';
import type { DirectoryKind } from '../store';
import { kindOfName } from './formats';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const HIGH = /[\x80-\xff]/;
const ENTRY = { persons: /Personne_activite/i, mssante: /MSSante/i, any: /Personne_activite|MSSante/i } as const;

/** One line's text, from its bytes as latin-1 chars. */
export function decodeLine(raw: string): { text: string; latin1: boolean } {
  if (!HIGH.test(raw)) return { text: raw, latin1: false };
  const bytes = Buffer.from(raw, 'latin1');
  try {
    return { text: utf8.decode(bytes), latin1: false };
  } catch {
    return { text: iconv.decode(bytes, 'win1252'), latin1: true };
  }
}

export interface LineSource {
  /** The file read (the entry of a zip: `archive.zip!entry.txt`). */
  name: string;
  /** What the name says, if anything. */
  kindOfName?: DirectoryKind;
  /** Raw lines (latin-1 chars: decode them with decodeLine). */
  lines: AsyncIterable<string>;
  /** Stops reading (a failed load). */
  close(): void;
}

/** Opens `path` (.txt or .zip); `kind` picks the entry of a zip holding several files. */
export async function openLines(path: string, kind?: DirectoryKind): Promise<LineSource> {
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  await new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', (e) => reject(new PasserelleError('PSL_DIRECTORY_FORMAT', `${path}: ${e.message}`, { cause: e })));
  });
  if (!/\.zip$/i.test(path)) return fromStream(file, basename(path), file);
  const { stream, entry } = await zipEntry(file, path, kind);
  return fromStream(stream, `${basename(path)}!${entry}`, file);
}

function fromStream(stream: Readable, name: string, file: Readable): LineSource {
  stream.setEncoding('latin1');
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  const k = kindOfName(name);
  return { name, ...(k ? { kindOfName: k } : {}), lines: rl, close: () => { rl.close(); file.destroy(); stream.destroy(); } };
}

/**
 * The first `.txt` entry of the zip whose name matches `kind` (or any `.txt` when no kind is
 * given and the zip holds one), as a stream; the file stream pauses while that stream is full.
 */
function zipEntry(file: Readable, path: string, kind: DirectoryKind | undefined): Promise<{ stream: PassThrough; entry: string }> {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  return new Promise((resolve, reject) => {
    let chosen: string | undefined;
    const fail = (e: Error): void => {
      const err = e instanceof PasserelleError ? e : new PasserelleError('PSL_DIRECTORY_FORMAT', `${path}: ${e.message}`, { cause: e });
      if (chosen) out.destroy(err);
      else reject(err);
      file.destroy();
    };
    const unzip = new Unzip((entry) => {
      if (chosen || !/\.txt$/i.test(entry.name)) return;
      // The PS_LibreAcces zip also holds SavoirFaire and Dipl_AutExerc: only Personne_activite is read.
      if (!ENTRY[kind ?? 'any'].test(entry.name)) return;
      chosen = entry.name;
      entry.ondata = (err, data, final) => {
        if (err) return fail(err);
        if (data.length > 0 && !out.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) file.pause();
        if (final) out.end();
      };
      entry.start();
      resolve({ stream: out, entry: entry.name });
    });
    unzip.register(UnzipInflate);
    out.on('drain', () => file.resume());
    file.on('data', (chunk) => {
      try {
        unzip.push(chunk as Buffer);
      } catch (e) {
        fail(e as Error);
      }
    });
    file.on('end', () => {
      try {
        unzip.push(new Uint8Array(0), true);
      } catch (e) {
        return fail(e as Error);
      }
      if (!chosen) fail(new PasserelleError('PSL_DIRECTORY_FORMAT', `${path}: no ${kind ?? 'directory'} extraction (.txt) in the zip`));
      else if (!out.writableEnded) fail(new PasserelleError('PSL_DIRECTORY_FORMAT', `${path}: the zip ends inside ${chosen}`));
    });
    file.on('error', fail);
  });
}

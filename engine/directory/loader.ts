/**
 * Loads one directory extraction into the store (SGL.ANN.01–03): streamed line by line, rows
 * written in batches of BATCH_ROWS (one transaction each) into a generation of its own, which
 * becomes the directory only when the whole file went through (directoryFinishLoad). A load that
 * fails at any point is recorded failed and its rows dropped: the previous directory stays.
 *
 * A bad line is counted, and the first MAX_SAMPLES kept with their line number and why; it
 * never stops the load. Only a file that cannot be read, or whose header lacks a required
 * column, does (PSL_DIRECTORY_FORMAT).
 */
import { PasserelleError } from '../errors';
import type { DirectoryActivity, DirectoryKind, DirectoryLoad, DirectoryMailbox, DirectoryPerson, MessageStore } from '../store';
import { kindOfHeader, lineParser } from './formats';
import { decodeLine, openLines } from './line-source';

export const BATCH_ROWS = 5000;
const MAX_SAMPLES = 20;

export type DirectoryLoadStore = Pick<MessageStore, 'directoryBeginLoad' | 'directoryPutBatch' | 'directoryFinishLoad' | 'directoryFailLoad'>;

export interface LoadOptions {
  /** Default: what the file name says, else what the header says. */
  kind?: DirectoryKind;
  /** Called after each batch (the scheduler renews its lease there). */
  onBatch?: (linesSoFar: number) => Promise<void>;
}

export interface LoadResult {
  load: DirectoryLoad;
  /** The file read (a zip's entry included). */
  name: string;
  /** Lines decoded as windows-1252 rather than UTF-8. */
  latin1Lines: number;
  /** The first refused lines: line number in the file (the header is line 1) and why. */
  rejects: { line: number; why: string }[];
  ms: number;
}

export async function loadDirectoryFile(store: DirectoryLoadStore, path: string, o: LoadOptions = {}): Promise<LoadResult> {
  const started = Date.now();
  const source = await openLines(path, o.kind);
  const it = source.lines[Symbol.asyncIterator]();
  let loadId: number | undefined;
  const counts = { lines: 0, rejected: 0 };
  try {
    const first = await it.next();
    const header = first.done ? '' : decodeLine(first.value).text.replace(/^\uFEFF/, '');
    if (!header.trim()) throw new PasserelleError('PSL_DIRECTORY_FORMAT', `${source.name}: empty file, no header line`);
    const kind = o.kind ?? source.kindOfName ?? kindOfHeader(header);
    if (!kind) throw new PasserelleError('PSL_DIRECTORY_FORMAT', `${source.name}: neither the name nor the header says which extraction this is (give --kind)`);
    const parser = lineParser(kind, source.name, header);
    loadId = await store.directoryBeginLoad(kind, source.name);

    let persons: DirectoryPerson[] = [];
    let activities: DirectoryActivity[] = [];
    let mailboxes: DirectoryMailbox[] = [];
    // A person's lines come together: the person once, each distinct activity once.
    let lastPerson = '';
    let seenActivities = new Set<string>();
    const rejects: LoadResult['rejects'] = [];
    let latin1Lines = 0;
    let lineNo = 1;
    const flush = async (): Promise<void> => {
      if (persons.length + activities.length + mailboxes.length === 0) return;
      await store.directoryPutBatch(loadId!, { persons, activities, mailboxes });
      persons = [];
      activities = [];
      mailboxes = [];
      await o.onBatch?.(counts.lines);
    };
    for (let r = await it.next(); !r.done; r = await it.next()) {
      lineNo++;
      if (r.value === '') continue;
      counts.lines++;
      const decoded = decodeLine(r.value);
      if (decoded.latin1) latin1Lines++;
      const p = parser.parse(decoded.text);
      if (p.kind === 'rejected') {
        counts.rejected++;
        if (rejects.length < MAX_SAMPLES) rejects.push({ line: lineNo, why: p.why });
        continue;
      }
      if (p.kind === 'persons') {
        if (p.person.idNat !== lastPerson) {
          lastPerson = p.person.idNat;
          seenActivities = new Set();
          persons.push(p.person);
        }
        const a = p.activity;
        const key = `${a.savoirFaireCode}|${a.structureName}|${a.siret}|${a.finess}|${a.city}`;
        if (!seenActivities.has(key)) {
          seenActivities.add(key);
          activities.push(a);
        }
      } else {
        mailboxes.push(p.mailbox);
      }
      if (persons.length + activities.length + mailboxes.length >= BATCH_ROWS) await flush();
    }
    await flush();
    const load = await store.directoryFinishLoad(loadId, counts);
    return { load, name: source.name, latin1Lines, rejects, ms: Date.now() - started };
  } catch (e) {
    if (loadId !== undefined) await store.directoryFailLoad(loadId, (e as Error).message, counts).catch(() => undefined);
    if (e instanceof PasserelleError) throw e;
    throw new PasserelleError('PSL_DIRECTORY_LOAD_FAILED', `${source.name}: ${(e as Error).message}`, { cause: e, details: { file: source.name, lines: counts.lines } });
  } finally {
    source.close();
  }
}

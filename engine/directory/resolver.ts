/**
 * Who the report's professionals are, for the documents and the deliveries (SGL.ANN.05/.06):
 *
 *  1. the lab's correspondents file (engine/config/correspondents.ts) first: an RPPS it lists
 *     takes its address, and the directory is not asked about it (the hand file overrides);
 *  2. then the RPPS directory loaded in the store: a professional the message left without an
 *     MSSanté address gets the PER mailbox of their RPPS (chosenMailbox), and their exercise
 *     names when the message gave none;
 *  3. an RPPS the loaded directory does not know, or no longer lists, is flagged
 *     (Professional.directoryNote), whatever the address: routing records it per version
 *     (engine/delivery/routing.ts), so the operator sees it; nothing is dropped silently.
 *
 * No directory loaded at all: the correspondents file only, as before. Never a guessed address:
 * only a mailbox of that very RPPS.
 */
import type { Professional, Report } from '../lab';
import type { DirectoryLookup, DirectoryMailbox, MessageStore } from '../store';
import { withCorrespondents, type Correspondents } from '../config/correspondents';

export type DirectoryLookupStore = Pick<MessageStore, 'directoryLookup'>;

/** Whether `store` can be asked (a store, not a part of one handed to a test). */
export function hasDirectory(store: object | undefined): store is DirectoryLookupStore {
  return !!store && typeof (store as Partial<DirectoryLookupStore>).directoryLookup === 'function';
}

/**
 * The address the directory gives a professional: among the PER mailboxes of their RPPS, the
 * first in code-point order of the lower-case address. Deterministic (the same extraction always
 * gives the same choice, whatever the line order), and never an ORG box: a structure's box is not
 * the prescriber's.
 */
export function chosenMailbox(mailboxes: readonly DirectoryMailbox[]): string | undefined {
  const per = mailboxes.filter((m) => m.balType === 'PER').map((m) => m.address.toLowerCase());
  per.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return per[0];
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

/** Why the directory doubts this identifier, if it does (only with a persons extraction loaded). */
export function directoryNote(d: DirectoryLookup): string | undefined {
  if (!d.persons) return undefined;
  if (!d.entry) return `RPPS unknown to the directory (loaded ${day(d.persons.finishedAt)})`;
  if (d.entry.inactiveSince) return `RPPS inactive since ${day(d.entry.inactiveSince)} (absent from the directory's extraction since then)`;
  return undefined;
}

/** The RPPS an identifier stands for, as the correspondents file keys it. */
const rppsOf = (id: string): string => (/^8\d{11}$/.test(id) ? id.slice(1) : id);

/** The report with its professionals completed: correspondents file, then directory (see the file comment). */
export async function resolveCorrespondents(report: Report, book: Correspondents | undefined, directory: DirectoryLookupStore | undefined): Promise<Report> {
  const filled = withCorrespondents(report, book);
  if (!directory) return filled;
  const fill = async (p: Professional | undefined): Promise<Professional | undefined> => {
    // Only RPPS and ADELI numbers (bare or national) are asked: a local code is no RPPS to doubt.
    if (!p?.id || !/^(8?\d{11}|0?\d{9})$/.test(p.id) || book?.has(rppsOf(p.id))) return p;
    const d = await directory.directoryLookup(p.id);
    if (!d.persons && !d.mssante) return p;
    const out: Professional = { ...p };
    if (!out.mssante) {
      const address = chosenMailbox(d.mailboxes);
      if (address) out.mssante = address;
    }
    if (d.entry && !out.family && !out.given) {
      out.family = d.entry.lastName;
      if (d.entry.firstName) out.given = d.entry.firstName;
    }
    const note = directoryNote(d);
    if (note) out.directoryNote = note;
    return out;
  };
  const out: Report = { ...filled, copiesTo: await Promise.all(filled.copiesTo.map(async (p) => (await fill(p))!)) };
  const prescriber = await fill(filled.prescriber);
  if (prescriber) out.prescriber = prescriber;
  return out;
}

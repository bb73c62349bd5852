/**
 * The two public extractions of annuaire.sante.fr the directory reads
 * (../shared/docs/dmp-mss-ins.md §5.1): `|`-separated, a header line, a trailing `|`.
 * Columns are found by their header name, never by position, so a column added or moved
 * upstream changes nothing; a required column missing stops the load with the file named.
 */
import { PasserelleError } from '../errors';
import type { DirectoryActivity, DirectoryKind, DirectoryMailbox, DirectoryPerson } from '../store';

/** Column names as the header spells them (compared by `normalise`). */
const PERSON_COLUMNS = {
  idType: "Type d'identifiant PP",
  ppId: 'Identifiant PP',
  idNat: 'Identification nationale PP',
  civility: "Libellé civilité d'exercice",
  lastName: "Nom d'exercice",
  firstName: "Prénom d'exercice",
  professionCode: 'Code profession',
  professionLabel: 'Libellé profession',
  savoirFaireCode: 'Code savoir-faire',
  savoirFaireLabel: 'Libellé savoir-faire',
  siret: 'Numéro SIRET site',
  finess: 'Numéro FINESS site',
  structureName: 'Raison sociale site',
  city: 'Libellé commune (coord. structure)',
} as const;
const PERSON_REQUIRED = ['ppId', 'idNat', 'lastName', 'firstName', 'professionCode', 'professionLabel'] as const;

const MAILBOX_COLUMNS = {
  balType: 'Type de BAL',
  address: 'Adresse BAL',
  ppId: 'Identifiant PP',
  idNat: 'Identification nationale PP',
  structureId: 'Identification Structure',
  structureName: 'Raison Sociale structure BAL',
  service: 'Service de rattachement',
} as const;
const MAILBOX_REQUIRED = ['balType', 'address', 'idNat'] as const;

/** Header names compared without case, accents kept, apostrophes and spaces unified. */
function normalise(s: string): string {
  return s.normalize('NFC').replace(/[’`]/g, "'").replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The fields of one line; the trailing `|` ends the last field, it does not open another. */
export function splitLine(line: string): string[] {
  const fields = line.split('|');
  if (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

/** The kind a file name says, if it says one (the zip of PS_LibreAcces holds the persons file). */
export function kindOfName(name: string): DirectoryKind | undefined {
  if (/Extraction_Correspondance_MSSante|MSSante/i.test(name)) return 'mssante';
  if (/PS_LibreAcces/i.test(name)) return 'persons';
  return undefined;
}

/** The kind a header line says. */
export function kindOfHeader(header: string): DirectoryKind | undefined {
  const names = new Set(splitLine(header).map(normalise));
  if (names.has(normalise(MAILBOX_COLUMNS.balType)) && names.has(normalise(MAILBOX_COLUMNS.address))) return 'mssante';
  if (names.has(normalise(PERSON_COLUMNS.idNat)) && names.has(normalise(PERSON_COLUMNS.professionCode))) return 'persons';
  return undefined;
}

/** What one data line becomes: rows, or why it is refused. */
export type ParsedLine =
  | { kind: 'persons'; person: DirectoryPerson; activity: DirectoryActivity }
  | { kind: 'mssante'; mailbox: DirectoryMailbox }
  | { kind: 'rejected'; why: string };

export interface LineParser {
  readonly kind: DirectoryKind;
  readonly width: number;
  parse(line: string): ParsedLine;
}

/** Finds the columns in the header; throws PSL_DIRECTORY_FORMAT naming the file and the missing columns. */
function columnIndexes<K extends string>(file: string, header: string, columns: Record<K, string>, required: readonly NoInfer<K>[]): { at: Record<K, number>; width: number } {
  const names = splitLine(header).map(normalise);
  const at = {} as Record<K, number>;
  for (const key of Object.keys(columns) as K[]) at[key] = names.indexOf(normalise(columns[key]));
  const missing = required.filter((k) => at[k] < 0).map((k) => columns[k]);
  if (missing.length > 0) {
    throw new PasserelleError('PSL_DIRECTORY_FORMAT', `${file}: the header lacks the column(s) ${missing.map((m) => `"${m}"`).join(', ')}`, { details: { file, missing } });
  }
  return { at, width: names.length };
}

export function lineParser(kind: DirectoryKind, file: string, header: string): LineParser {
  return kind === 'persons' ? personsParser(file, header) : mailboxParser(file, header);
}

function personsParser(file: string, header: string): LineParser {
  const { at, width } = columnIndexes(file, header, PERSON_COLUMNS, PERSON_REQUIRED);
  return {
    kind: 'persons',
    width,
    parse(line) {
      const f = splitLine(line);
      if (f.length !== width) return { kind: 'rejected', why: `${f.length} fields where the header has ${width}` };
      const get = (k: keyof typeof PERSON_COLUMNS): string => (at[k] < 0 ? '' : f[at[k]]!.trim());
      const ppId = get('ppId');
      const idType = get('idType');
      // The national id is type + id; a line that gives only the parts still has one.
      const idNat = get('idNat') || (ppId && idType ? idType + ppId : '');
      if (!/^\d{6,}$/.test(idNat)) return { kind: 'rejected', why: idNat ? 'Identification nationale PP is not a number' : 'no Identification nationale PP' };
      if (!get('lastName')) return { kind: 'rejected', why: "no Nom d'exercice" };
      return {
        kind: 'persons',
        person: { idNat, idType, ppId, civility: get('civility'), lastName: get('lastName'), firstName: get('firstName'), professionCode: get('professionCode'), professionLabel: get('professionLabel') },
        activity: { idNat, savoirFaireCode: get('savoirFaireCode'), savoirFaireLabel: get('savoirFaireLabel'), structureName: get('structureName'), siret: get('siret'), finess: get('finess'), city: get('city') },
      };
    },
  };
}

function mailboxParser(file: string, header: string): LineParser {
  const { at, width } = columnIndexes(file, header, MAILBOX_COLUMNS, MAILBOX_REQUIRED);
  return {
    kind: 'mssante',
    width,
    parse(line) {
      const f = splitLine(line);
      if (f.length !== width) return { kind: 'rejected', why: `${f.length} fields where the header has ${width}` };
      const get = (k: keyof typeof MAILBOX_COLUMNS): string => (at[k] < 0 ? '' : f[at[k]]!.trim());
      const address = get('address').toLowerCase();
      if (!/^[^@\s|]+@[^@\s|]+\.[a-z]{2,}$/.test(address)) return { kind: 'rejected', why: address ? 'Adresse BAL is not an e-mail address' : 'no Adresse BAL' };
      const balType = get('balType').toUpperCase();
      if (!balType) return { kind: 'rejected', why: 'no Type de BAL' };
      return { kind: 'mssante', mailbox: { address, balType, idNat: get('idNat'), ppId: get('ppId'), structureId: get('structureId'), structureName: get('structureName'), service: get('service') } };
    },
  };
}

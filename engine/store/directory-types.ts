/**
 * The RPPS / MSSanté directory as the store keeps it (engine/directory): the rows a load writes
 * into its own generation, the load records, and what a look-up returns.
 */

/** Which public extraction a load reads. */
export type DirectoryKind = 'persons' | 'mssante';

/** One professional of PS_LibreAcces_Personne_activite (first line of the person wins). */
export interface DirectoryPerson {
  /** Identification nationale PP: type prefix + id (`8` + RPPS, `0` + ADELI): the key. */
  idNat: string;
  /** Type d'identifiant PP (8 RPPS, 0 ADELI). */
  idType: string;
  /** Identifiant PP (the RPPS, 11 digits, for type 8). */
  ppId: string;
  civility: string;
  lastName: string;
  firstName: string;
  professionCode: string;
  professionLabel: string;
}

/** One activity line of a professional (exact repeats are kept once). */
export interface DirectoryActivity {
  idNat: string;
  savoirFaireCode: string;
  savoirFaireLabel: string;
  structureName: string;
  siret: string;
  finess: string;
  city: string;
}

/** One mailbox of Extraction_Correspondance_MSSante (an address is kept once per professional). */
export interface DirectoryMailbox {
  address: string;
  /** PER (a person's), ORG (a structure's). */
  balType: string;
  /** Identification nationale PP; empty for a structure's box. */
  idNat: string;
  ppId: string;
  structureId: string;
  structureName: string;
  service: string;
}

/** Rows of one batch, written in one transaction. */
export interface DirectoryBatch {
  persons?: readonly DirectoryPerson[];
  activities?: readonly DirectoryActivity[];
  mailboxes?: readonly DirectoryMailbox[];
}

export interface DirectoryLoadCounts {
  /** Data lines read (the header aside). */
  lines: number;
  /** Lines refused (wrong number of fields, no identifier, …). */
  rejected: number;
}

export interface DirectoryLoad extends DirectoryLoadCounts {
  id: number;
  kind: DirectoryKind;
  file: string;
  state: 'loading' | 'done' | 'failed';
  startedAt: Date;
  finishedAt?: Date;
  error?: string;
  /** Persons loads: professionals of the previous load absent from this one (flagged inactive). */
  inactivated: number;
}

/** A professional as the current directory knows them. */
export interface DirectoryEntry extends DirectoryPerson {
  /** Since when they are absent from the full extraction; undefined while listed. */
  inactiveSince?: Date;
  activities: DirectoryActivity[];
}

/** What the directory says of one professional. */
export interface DirectoryLookup {
  /** The current persons load (undefined: never loaded, the directory says nothing of who exists). */
  persons?: { loadId: number; finishedAt: Date };
  /** The current MSSanté load. */
  mssante?: { loadId: number; finishedAt: Date };
  entry?: DirectoryEntry;
  /** Their mailboxes (by address), from the current MSSanté load. */
  mailboxes: DirectoryMailbox[];
}

/**
 * Small directory extractions in the exact public format (header line, `|`-separated, trailing
 * `|`), with test identities only: RPPS 1000345678x, addresses @test.mssante.fr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import iconv from 'iconv-lite';

export { MSSANTE_HEADER, PERSON_HEADER } from '../../engine/directory/extraction-columns';
import { MSSANTE_HEADER, PERSON_HEADER } from '../../engine/directory/extraction-columns';

export interface TestPerson {
  rpps: string;
  last: string;
  first: string;
  profession?: [string, string];
  savoirFaire?: [string, string];
  structure?: string;
  siret?: string;
  finess?: string;
  city?: string;
}

/** One line of PS_LibreAcces_Personne_activite. */
export function personLine(p: TestPerson): string {
  const v: Record<string, string> = {
    "Type d'identifiant PP": '8', 'Identifiant PP': p.rpps, 'Identification nationale PP': `8${p.rpps}`, "Code civilité d'exercice": 'DR', "Libellé civilité d'exercice": 'Docteur',
    'Code civilité': 'M', 'Libellé civilité': 'Monsieur', "Nom d'exercice": p.last, "Prénom d'exercice": p.first,
    'Code profession': p.profession?.[0] ?? '10', 'Libellé profession': p.profession?.[1] ?? 'Médecin', 'Code catégorie professionnelle': 'C', 'Libellé catégorie professionnelle': 'Civil',
    'Code type savoir-faire': 'S', 'Libellé type savoir-faire': 'Spécialité ordinale', 'Code savoir-faire': p.savoirFaire?.[0] ?? 'SM54', 'Libellé savoir-faire': p.savoirFaire?.[1] ?? 'Médecine générale',
    'Code mode exercice': 'L', 'Libellé mode exercice': 'Libéral', 'Numéro SIRET site': p.siret ?? '', 'Numéro FINESS site': p.finess ?? '',
    'Raison sociale site': p.structure ?? 'CABINET TEST', 'Code postal (coord. structure)': '75001', 'Libellé commune (coord. structure)': p.city ?? 'Paris', "Autorité d'enregistrement": 'CNOM/CNOM/CNOM',
  };
  return PERSON_HEADER.map((h) => v[h] ?? '').join('|') + '|';
}

export interface TestMailbox {
  type: 'PER' | 'ORG';
  address: string;
  rpps?: string;
  structure?: string;
}

export function mailboxLine(m: TestMailbox): string {
  const v: Record<string, string> = {
    'Type de BAL': m.type, 'Adresse BAL': m.address, 'Type Identifiant PP': m.rpps ? '8' : '', 'Identifiant PP': m.rpps ?? '', 'Identification nationale PP': m.rpps ? `8${m.rpps}` : '',
    'Type identifiant structure': '1', 'Identification Structure': '1750000001', 'Raison Sociale structure BAL': m.structure ?? 'CABINET TEST', 'Dématérialisation': 'O', Pays: 'FRANCE',
  };
  return MSSANTE_HEADER.map((h) => v[h] ?? '').join('|') + '|';
}

export const header = (cols: readonly string[]): string => cols.join('|') + '|';

/** Writes `lines` (header first) as UTF-8 (default) or latin-1; returns the path. */
export function writeExtraction(dir: string, name: string, lines: string[], encoding: 'utf8' | 'latin1' = 'utf8'): string {
  const file = path.join(dir, name);
  const text = lines.join('\r\n') + '\r\n';
  fs.writeFileSync(file, encoding === 'utf8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'latin1'));
  return file;
}

/** A zip holding these files (name → text), like the ones annuaire.sante.fr serves. */
export function writeZip(dir: string, name: string, files: Record<string, string>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, zipSync(Object.fromEntries(Object.entries(files).map(([n, t]) => [n, strToU8(t)]))));
  return file;
}

export const PERSONS_FILE = 'PS_LibreAcces_Personne_activite_202612070000.txt';
export const MSSANTE_FILE = 'Extraction_Correspondance_MSSante_202612070000.txt';

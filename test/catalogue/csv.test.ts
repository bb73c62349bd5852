/**
 * DSR LOINC CSV files: the exports' exact bytes (SGL.LOI.01–03), reading back (BOM, Latin-1,
 * quotes), and the value set files the imports check against.
 */
import { join } from 'node:path';
import * as iconv from 'iconv-lite';
import { PasserelleError } from '../../engine/errors';
import { loadCatalogue } from '../../engine/catalogue/catalogue-file';
import { decodeCsv, formatCsv, parseCsv } from '../../engine/catalogue/csv';
import { exportCatalogue } from '../../engine/catalogue/csv-export';
import { loadValueSet } from '../../engine/catalogue/value-set';

const FIXTURES = join(__dirname, 'fixtures');
const catalogue = loadCatalogue(join(FIXTURES, 'catalogue.yaml'));
const lines = (...l: string[]): string => l.map((x) => x + '\r\n').join('');

test('the three exports: DSR names, French header line, columns in the DSR order, exact bytes', () => {
  const files = exportCatalogue(catalogue, '20261207');
  expect(files.map((f) => f.name)).toEqual(['LOINC_1_export_chapitres_20261207.csv', 'LOINC_2_export_demandes_20261207.csv', 'LOINC_3_export_resultats_20261207.csv']);
  expect(files[0].text).toBe(
    lines(
      'Code chapitre;Libellé chapitre;Code sous-chapitre;Libellé sous-chapitre',
      'BIO;Biochimie;ELEC;Électrolytes',
      'BIO;Biochimie;INF;"Inflammation; protéines"',
      'HEM;Hématologie;;',
    ),
  );
  expect(files[1].text).toBe(
    lines(
      'Code examen;Libellé examen;Synonyme;Code chapitre;Code sous-chapitre;Milieu;Codes NABM;Code analyse;Libellé analyse',
      'IONO;Ionogramme;Iono;BIO;ELEC;Sérum;1610,1611;NA;Sodium',
      'IONO;Ionogramme;Iono;BIO;ELEC;Sérum;1610,1611;K;Potassium',
      'VSX;"Vitesse de sédimentation ""VS""";;HEM;;Sang total;HN;VS;"VS; 1re heure"',
      'VIDE;Examen sans analyse;;;;;;;',
    ),
  );
  expect(files[2].text).toBe(
    lines(
      'Code analyse;Libellé analyse;Synonyme;Grandeur;Code unité;Libellé unité;Temps;Code milieu;Libellé milieu;Échelle;Technique;Codes NABM',
      'NA;Sodium;;SCnc;mmol/L;millimoles par litre;Pt;Ser/Plas;Sérum/Plasma;Qn;;1610',
      'K;Potassium;;SCnc;mmol/L;millimoles par litre;Pt;Ser/Plas;Sérum/Plasma;Qn;;',
      'VS;"VS; 1re heure";;Vel;mm/h;millimètres par heure;Pt;Bld;Sang;Qn;Westergren;HN',
    ),
  );
  expect(() => exportCatalogue(catalogue, '2026-12-07')).toThrow(PasserelleError);
});

test('what is written reads back the same, quotes, separators and line breaks inside fields included', () => {
  const rows = [
    ['a', 'b;c', 'd "e"', ''],
    ['multi\r\nligne', '"', ';', 'fin'],
  ];
  const parsed = parseCsv(formatCsv(rows));
  expect(parsed.error).toBeUndefined();
  expect(parsed.lines).toEqual([
    { line: 1, cells: rows[0] },
    { line: 2, cells: rows[1] },
  ]);
  // LF only, blank lines skipped, the line numbers are the file's
  expect(parseCsv('x;y\n\nz;"w\nv"\nu;t').lines).toEqual([
    { line: 1, cells: ['x', 'y'] },
    { line: 3, cells: ['z', 'w\nv'] },
    { line: 5, cells: ['u', 't'] },
  ]);
  expect(parseCsv('a;"open\nb;c\n').error).toEqual({ line: 1, message: 'a quoted field is never closed' });
});

test('decoding: UTF-8 with or without BOM, else Windows-1252 (a spreadsheet saved on a French Windows)', () => {
  const text = 'VS;Vitesse de sédimentation;4537-7\r\n';
  expect(decodeCsv(Buffer.from(text, 'utf8'))).toEqual({ text, encoding: 'utf-8' });
  expect(decodeCsv(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]))).toEqual({ text, encoding: 'utf-8' });
  expect(decodeCsv(iconv.encode(text + 'Œ€\r\n', 'win1252'))).toEqual({ text: text + 'Œ€\r\n', encoding: 'windows-1252' });
  expect(decodeCsv(Buffer.from(text, 'latin1')).text).toBe(text);
});

test('value set: FHIR ValueSet JSON (compose and nested expansion) and CSV with a header line', () => {
  expect([...loadValueSet(join(FIXTURES, 'circuit-biologie.json')).codes].sort()).toEqual(['1988-5', '2823-3', '2951-2', '4537-7']);
  expect([...loadValueSet(join(FIXTURES, 'circuit-biologie.csv')).codes].sort()).toEqual(['2823-3', '2951-2', '4537-7']);
  expect(() => loadValueSet(join(FIXTURES, 'catalogue.yaml'))).toThrow(/no LOINC code found/);
  expect(() => loadValueSet(join(FIXTURES, 'missing.json'))).toThrow(/cannot read the LOINC value set/);
});

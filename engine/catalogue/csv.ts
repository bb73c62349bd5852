/**
 * The `;`-separated files of the DSR LOINC (SGL.LOI.01–06). Choices (docs/catalogue.md):
 *  - written in UTF-8 without BOM, CRLF line ends, a header line of French column names;
 *  - a field holding `;`, `"`, CR or LF is written between double quotes, inner quotes doubled
 *    (RFC 4180 with `;`); other fields as is;
 *  - read back: UTF-8 with or without BOM, else Windows-1252 / Latin-1 (what a spreadsheet saves
 *    as "CSV" on a French Windows); CRLF or LF; quoted fields as above.
 */
import * as iconv from 'iconv-lite';

export const SEPARATOR = ';';

function field(v: string): string {
  return /[;"\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV text (CRLF after every line, the last one too). */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(field).join(SEPARATOR) + '\r\n').join('');
}

/** Bytes → text: BOM stripped; bytes that are not UTF-8 read as Windows-1252. */
export function decodeCsv(bytes: Buffer): { text: string; encoding: 'utf-8' | 'windows-1252' } {
  const body = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(body), encoding: 'utf-8' };
  } catch {
    return { text: iconv.decode(body, 'win1252'), encoding: 'windows-1252' };
  }
}

export interface CsvLine {
  /** 1-based line number in the file where the record starts. */
  line: number;
  cells: string[];
}

/** Parses `;` CSV; blank lines are skipped. A quote left open is reported with the line it opened on. */
export function parseCsv(text: string): { lines: CsvLine[]; error?: { line: number; message: string } } {
  const lines: CsvLine[] = [];
  let cells: string[] = [];
  let cur = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let quoteLine = 0;
  const endRecord = (): void => {
    cells.push(cur);
    if (!(cells.length === 1 && cells[0].trim() === '')) lines.push({ line: start, cells });
    cells = [];
    cur = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cur += ch;
      }
      continue;
    }
    if (ch === '"' && cur.trim() === '') {
      quoted = true;
      quoteLine = line;
      cur = '';
    } else if (ch === SEPARATOR) {
      cells.push(cur);
      cur = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      continue;
    } else if (ch === '\n' || ch === '\r') {
      endRecord();
      line++;
      start = line;
    } else cur += ch;
  }
  if (quoted) return { lines, error: { line: quoteLine, message: 'a quoted field is never closed' } };
  if (cur !== '' || cells.length > 0) endRecord();
  return { lines };
}

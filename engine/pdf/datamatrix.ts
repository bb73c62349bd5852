/**
 * ECC200 Datamatrix as vector rectangles.
 *
 * bwip-js computes the module matrix (ISO/IEC 16022, square symbol, encodation chosen
 * automatically); we draw it ourselves with pdfkit rectangles. Why not bwip-js' PNG: a
 * raster image would need an ICC-tagged image in PDF/A, blurs when printed at another
 * resolution, and is larger than a few hundred filled rectangles.
 *
 * The GS bytes (0x1D) of the INS payload are passed as raw bytes (no `parse`/`parsefnc`),
 * so no other character of the payload can be taken for an escape sequence.
 */
import type { PdfDoc } from './pdfkit';

export interface DatamatrixMatrix {
  /** Modules per side (square symbols only). */
  size: number;
  /** Row-major, `true` for a dark module. */
  dark: boolean[];
}

interface BwipRaw2D {
  pixs: number[];
  pixx: number;
  pixy: number;
}
type BwipRaw = (bcid: string, text: string, opts: string) => BwipRaw2D[];

let raw: BwipRaw | undefined;

export function datamatrixMatrix(text: string): DatamatrixMatrix {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  raw ??= (require('bwip-js') as { raw: BwipRaw }).raw;
  const [sym] = raw('datamatrix', text, 'format=square');
  if (!sym || sym.pixx !== sym.pixy || sym.pixs.length !== sym.pixx * sym.pixy) {
    throw new Error('bwip-js did not return a square datamatrix');
  }
  return { size: sym.pixx, dark: sym.pixs.map((p) => p === 1) };
}

export interface DatamatrixDrawing {
  /** Module side in points. */
  module: number;
  /** Quiet zone in modules on each side (the standard asks for at least 1). */
  quiet: number;
  caption: string;
  captionSize: number;
}

export const INS_DATAMATRIX_DRAWING: DatamatrixDrawing = {
  // 1.5 pt ≈ 0.53 mm: comfortable for office scanners and phone cameras.
  module: 1.5,
  quiet: 2,
  caption: 'INS à scanner',
  captionSize: 7,
};

/** Width and height the symbol, its quiet zone and its caption take. */
export function datamatrixBox(m: DatamatrixMatrix, d: DatamatrixDrawing): { width: number; height: number } {
  const side = (m.size + 2 * d.quiet) * d.module;
  return { width: side, height: side + d.captionSize + 3 };
}

/**
 * Draws the symbol with its top-left quiet-zone corner at (x, y), caption centred below.
 * Dark modules of a row are merged into runs: fewer path operators, same image.
 */
export function drawDatamatrix(doc: PdfDoc, m: DatamatrixMatrix, x: number, y: number, d: DatamatrixDrawing, font: string): void {
  const { width } = datamatrixBox(m, d);
  const side = (m.size + 2 * d.quiet) * d.module;
  doc.save();
  // Explicit white quiet zone: the symbol stays readable whatever is drawn around it.
  doc.rect(x, y, side, side).fill('#FFFFFF');
  const ox = x + d.quiet * d.module;
  const oy = y + d.quiet * d.module;
  for (let row = 0; row < m.size; row++) {
    let col = 0;
    while (col < m.size) {
      if (!m.dark[row * m.size + col]) {
        col++;
        continue;
      }
      const start = col;
      while (col < m.size && m.dark[row * m.size + col]) col++;
      doc.rect(ox + start * d.module, oy + row * d.module, (col - start) * d.module, d.module);
    }
  }
  doc.fill('#000000');
  doc.restore();
  doc.font(font).fontSize(d.captionSize).fillColor('#000000');
  doc.text(d.caption, x, y + side + 1, { width, align: 'center', lineBreak: false });
}

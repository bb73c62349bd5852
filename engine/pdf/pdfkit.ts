/**
 * A narrow typed view of pdfkit 0.20: only the calls engine/pdf makes.
 *
 * Why not @types/pdfkit: it describes pdfkit 0.17 while we run 0.20 (PDF/A subsets, CIDSet,
 * `font` as a Buffer). Typing the few calls we make, checked against 0.20's source, keeps the
 * renderer strictly typed without trusting declarations of another version.
 */

export interface PdfTextOptions {
  width?: number;
  height?: number;
  align?: 'left' | 'center' | 'right' | 'justify';
  lineBreak?: boolean;
  lineGap?: number;
  continued?: boolean;
  ellipsis?: boolean | string;
}

export interface PdfPage {
  width: number;
  height: number;
  margins: { top: number; bottom: number; left: number; right: number };
}

/** A parsed fontkit font: pdfkit embeds any object with a `layout` function as a TrueType font. */
export interface PdfFontSource {
  layout(text: string): unknown;
  postscriptName: string;
}

export interface PdfDoc {
  x: number;
  y: number;
  page: PdfPage;
  registerFont(name: string, src: PdfFontSource): this;
  font(name: string, size?: number): this;
  fontSize(size: number): this;
  fillColor(color: string): this;
  strokeColor(color: string): this;
  lineWidth(w: number): this;
  text(text: string, x?: number, y?: number, options?: PdfTextOptions): this;
  text(text: string, options?: PdfTextOptions): this;
  heightOfString(text: string, options?: PdfTextOptions): number;
  widthOfString(text: string, options?: PdfTextOptions): number;
  currentLineHeight(includeGap?: boolean): number;
  rect(x: number, y: number, w: number, h: number): this;
  moveTo(x: number, y: number): this;
  lineTo(x: number, y: number): this;
  fill(color?: string): this;
  stroke(color?: string): this;
  save(): this;
  restore(): this;
  addPage(options?: Record<string, unknown>): this;
  switchToPage(n: number): this;
  bufferedPageRange(): { start: number; count: number };
  on(event: 'data', cb: (chunk: Buffer) => void): this;
  on(event: 'end', cb: () => void): this;
  on(event: 'error', cb: (err: unknown) => void): this;
  end(): void;
}

export interface PdfDocOptions {
  pdfVersion: '1.4';
  subset: 'PDF/A-1b';
  size: 'A4';
  margins: PdfPage['margins'];
  autoFirstPage: boolean;
  bufferPages: boolean;
  /**
   * null: load no font at construction. pdfkit's default is Helvetica, a standard font PDF/A
   * forbids; and a TTF given here would be cached under its PostScript name, not under our
   * registered names, making pdfkit re-open and compare the font on every `font()` call.
   */
  font: null;
  lang: string;
  displayTitle: boolean;
  info: { Title: string; Author: string; Creator: string; Producer: string; CreationDate: Date };
}

type PdfDocCtor = new (options: PdfDocOptions) => PdfDoc;

let ctor: PdfDocCtor | undefined;

export function createPdfDoc(options: PdfDocOptions): PdfDoc {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ctor ??= require('pdfkit') as PdfDocCtor;
  return new ctor(options);
}

/** Collects the document stream into one Buffer. Call before drawing: pdfkit streams as it goes. */
export function collectPdf(doc: PdfDoc): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (c) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

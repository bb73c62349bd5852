/**
 * What every page repeats: the lab header with its Cofrac mention (DOC.10), the patient
 * identity "cartouche" (INS.51–52), and the footer with the RGPD text (DOC.08), the partial
 * mark and "page n / N". The INS Datamatrix (INS.53) sits in the cartouche of page 1 only.
 *
 * The frame is drawn after the body, on buffered pages, because N is only known then. Its
 * height is measured first (same code, drawing off) so the body margins leave room for it.
 */
import type { Patient, Report } from '../lab/report';
import type { LabProfile } from '../lab/profile';
import type { PdfDoc } from './pdfkit';
import { type DatamatrixMatrix, INS_DATAMATRIX_DRAWING, datamatrixBox, drawDatamatrix } from './datamatrix';
import { addressLines, formatTs, sexLabel, telecomLabel } from './format';

export const FONT = { regular: 'regular', bold: 'bold' } as const;
export const PAGE = { width: 595.28, height: 841.89, side: 36, top: 28, bottom: 20 } as const;
export const CONTENT_WIDTH = PAGE.width - 2 * PAGE.side;
export const GREY = '#555555';
export const INK = '#000000';

const LAB_WIDTH = 215;
const CARD_X = PAGE.side + LAB_WIDTH + 12;
const CARD_WIDTH = PAGE.width - PAGE.side - CARD_X;
const CARD_PAD = 5;
const LABEL_WIDTH = 100;
const GAP_BELOW_HEADER = 10;

export interface FrameInput {
  report: Report;
  lab: LabProfile;
  /** Module matrix of the INS Datamatrix, only for a qualified identity. */
  insMatrix?: DatamatrixMatrix;
}

/** The identity traits printed on every page, in order. No INS line unless qualified. */
export function identityRows(p: Patient, dossier: string): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Nom de naissance', p.birthFamily],
    ['Premier prénom de naissance', p.firstBirthGiven],
    ['Date de naissance', formatTs(p.birthDate) || 'inconnue'],
    ['Sexe', sexLabel(p.sex)],
  ];
  if (p.ins) rows.push([`Matricule INS (${p.ins.nature})`, p.ins.matricule]);
  if (p.usedFamily && p.usedFamily !== p.birthFamily) rows.push(['Nom utilisé', p.usedFamily]);
  if (p.usedGiven && p.usedGiven !== p.firstBirthGiven) rows.push(['Prénom utilisé', p.usedGiven]);
  rows.push(['N° de dossier', dossier]);
  return rows;
}

/** Text at (x, y) in a box of width w; returns its height. Draws only when `draw`. */
function put(doc: PdfDoc, draw: boolean, text: string, x: number, y: number, w: number, font: string, size: number, color = INK): number {
  if (!text) return 0;
  doc.font(font).fontSize(size);
  const h = doc.heightOfString(text, { width: w });
  if (draw) doc.fillColor(color).text(text, x, y, { width: w });
  return h;
}

function labBlock(doc: PdfDoc, lab: LabProfile, draw: boolean): number {
  const x = PAGE.side;
  let y = PAGE.top;
  const org = lab.lab;
  y += put(doc, draw, org.name, x, y, LAB_WIDTH, FONT.bold, 11) + 1;
  const contact = [
    ...addressLines(org.address ?? lab.address),
    (org.telecom ?? lab.telecom).map(telecomLabel).join(' – '),
    org.finess ? `FINESS ${org.finess}` : '',
  ].filter(Boolean);
  y += put(doc, draw, contact.join('\n'), x, y, LAB_WIDTH, FONT.regular, 8) + 2;
  if (lab.cofrac) {
    const scope = lab.cofrac.scope ? ` – ${lab.cofrac.scope}` : '';
    y += put(doc, draw, `Accréditation Cofrac Essais n° ${lab.cofrac.number}${scope}`, x, y, LAB_WIDTH, FONT.bold, 7.5) + 1;
    y += put(doc, draw, '* Examen réalisé sous accréditation Cofrac. Les examens sans * ne sont pas couverts par l’accréditation.', x, y, LAB_WIDTH, FONT.regular, 7);
  }
  return y - PAGE.top;
}

function identityCard(doc: PdfDoc, input: FrameInput, withDatamatrix: boolean, draw: boolean): number {
  const { report, insMatrix } = input;
  const dm = withDatamatrix && insMatrix ? datamatrixBox(insMatrix, INS_DATAMATRIX_DRAWING) : undefined;
  const textWidth = CARD_WIDTH - 2 * CARD_PAD - (dm ? dm.width + 4 : 0);
  const x = CARD_X + CARD_PAD;
  let y = PAGE.top + CARD_PAD;
  y += put(doc, draw, 'PATIENT', x, y, textWidth, FONT.bold, 7, GREY) + 2;
  for (const [label, value] of identityRows(report.patient, report.dossier)) {
    const hl = put(doc, draw, `${label} :`, x, y, LABEL_WIDTH, FONT.regular, 7.5, GREY);
    const hv = put(doc, draw, value, x + LABEL_WIDTH, y, textWidth - LABEL_WIDTH, FONT.bold, 8.5);
    y += Math.max(hl, hv) + 1;
  }
  let h = y - PAGE.top + CARD_PAD;
  if (dm && insMatrix) {
    h = Math.max(h, dm.height + 2 * CARD_PAD);
    if (draw) {
      const dx = CARD_X + CARD_WIDTH - CARD_PAD - dm.width;
      drawDatamatrix(doc, insMatrix, dx, PAGE.top + CARD_PAD, INS_DATAMATRIX_DRAWING, FONT.regular);
    }
  }
  if (draw) doc.lineWidth(0.6).rect(CARD_X, PAGE.top, CARD_WIDTH, h).stroke(INK);
  return h;
}

/** Height of the header band; draws it when `draw`. */
export function header(doc: PdfDoc, input: FrameInput, firstPage: boolean, draw: boolean): number {
  const h = Math.max(labBlock(doc, input.lab, draw), identityCard(doc, input, firstPage, draw));
  if (draw) {
    const y = PAGE.top + h + GAP_BELOW_HEADER / 2;
    doc.lineWidth(0.5).moveTo(PAGE.side, y).lineTo(PAGE.width - PAGE.side, y).stroke(GREY);
  }
  return h + GAP_BELOW_HEADER;
}

/** Top margin for the body of page 1 or of the other pages. */
export function bodyTop(doc: PdfDoc, input: FrameInput, firstPage: boolean): number {
  return PAGE.top + header(doc, input, firstPage, false) + 6;
}

const RGPD_SIZE = 6.5;
const PAGE_LINE_SIZE = 7.5;

function footerLeft(report: Report): string {
  const partial = report.completeness === 'partial' ? 'COMPTE RENDU PARTIEL – ' : '';
  return `${partial}${report.patient.birthFamily} ${report.patient.firstBirthGiven} – dossier ${report.dossier}`;
}

/** Height of the footer band; draws it (with "page n / N") when `page` is given. */
export function footer(doc: PdfDoc, input: FrameInput, page?: { n: number; count: number }): number {
  const draw = page !== undefined;
  doc.font(FONT.regular).fontSize(RGPD_SIZE);
  const rgpdH = doc.heightOfString(input.lab.rgpdText, { width: CONTENT_WIDTH });
  doc.fontSize(PAGE_LINE_SIZE);
  const lineH = doc.currentLineHeight(true);
  const h = rgpdH + 4 + lineH;
  if (draw) {
    // The footer lies below the body's bottom margin: lift the margin so pdfkit does not
    // start a new page for it.
    const saved = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const top = PAGE.height - PAGE.bottom - h;
    doc.lineWidth(0.5).moveTo(PAGE.side, top - 3).lineTo(PAGE.width - PAGE.side, top - 3).stroke(GREY);
    put(doc, true, input.lab.rgpdText, PAGE.side, top, CONTENT_WIDTH, FONT.regular, RGPD_SIZE, GREY);
    const y = top + rgpdH + 4;
    const partial = input.report.completeness === 'partial';
    doc.font(partial ? FONT.bold : FONT.regular).fontSize(PAGE_LINE_SIZE).fillColor(INK);
    doc.text(footerLeft(input.report), PAGE.side, y, { width: CONTENT_WIDTH - 80, lineBreak: false, ellipsis: true });
    doc.font(FONT.bold).text(`page ${page.n} / ${page.count}`, PAGE.width - PAGE.side - 80, y, { width: 80, align: 'right', lineBreak: false });
    doc.page.margins.bottom = saved;
  }
  return h;
}

/** Body bottom margin: footer height plus a gap. */
export function bodyBottom(doc: PdfDoc, input: FrameInput): number {
  return PAGE.bottom + footer(doc, input) + 10;
}


/**
 * The PDF/A-1b rendering of a lab report (SGL.DOC.05), with the INS Datamatrix (INS.53).
 *
 * PDF/A measures, and who takes them:
 *  - pdfkit (`pdfVersion 1.4`, `subset 'PDF/A-1b'`): XMP metadata with pdfaid part 1 / B,
 *    sRGB OutputIntent with its ICC profile, CIDSet for subset fonts, trailer ID;
 *  - here: only embedded TrueType fonts (DejaVu, engine/pdf/fonts.ts; the 14 standard fonts
 *    are never loaded), no transparency, no images, no annotations or attachments, only
 *    RGB colours (matching the sRGB OutputIntent), Info values free of XML markup because
 *    pdfkit copies them unescaped into the XMP (which must say the same as the Info dict).
 * Deterministic: CreationDate comes from options.effectiveTime and pdfkit derives the file ID
 * from the Info dict, so the same input gives the same bytes.
 */
import type { Report } from '../lab/report';
import type { LabProfile, RenderOptions } from '../lab/profile';
import { PasserelleError } from '../errors';
import { loadPdfFonts } from './fonts';
import { insDatamatrixPayload } from './ins-datamatrix';
import { datamatrixMatrix } from './datamatrix';
import { type PdfDocOptions, type PdfPage, collectPdf, createPdfDoc } from './pdfkit';
import { FONT, PAGE, type FrameInput, bodyBottom, bodyTop, footer, header } from './page-frame';
import { drawBody } from './report-body';
import { metadataSafe, tsToDate } from './format';

export const PDF_TITLE = 'Compte rendu d’examens de biologie médicale';

function creationDate(options: RenderOptions): Date {
  if (!options.effectiveTime) return new Date(); // RenderOptions: effectiveTime defaults to now
  const d = tsToDate(options.effectiveTime);
  if (!d) throw new PasserelleError('PSL_PDF_RENDER_FAILED', `effectiveTime is not an HL7/CDA timestamp: ${options.effectiveTime}`);
  return d;
}

export async function renderPdf(report: Report, lab: LabProfile, options: RenderOptions): Promise<Buffer> {
  try {
    const fonts = loadPdfFonts();
    // Computed before any drawing: a qualified identity whose traits cannot be encoded fails
    // here, and a non-qualified identity never reaches the Datamatrix code.
    const insMatrix = report.patient.ins ? datamatrixMatrix(insDatamatrixPayload(report.patient)) : undefined;
    const created = creationDate(options);
    const margins: PdfPage['margins'] = { top: PAGE.top, bottom: PAGE.bottom, left: PAGE.side, right: PAGE.side };
    const docOptions: PdfDocOptions = {
      pdfVersion: '1.4',
      subset: 'PDF/A-1b',
      size: 'A4',
      margins,
      autoFirstPage: false,
      bufferPages: true,
      font: null,
      lang: 'fr-FR',
      displayTitle: true,
      info: {
        Title: PDF_TITLE,
        Author: metadataSafe(lab.lab.name),
        Creator: metadataSafe(`${lab.software.name} ${lab.software.version}`),
        Producer: 'PDFKit',
        CreationDate: created,
      },
    };
    const doc = createPdfDoc(docOptions);
    const out = collectPdf(doc);
    doc.registerFont(FONT.regular, fonts.regular).registerFont(FONT.bold, fonts.bold).font(FONT.regular);

    const frame: FrameInput = { report, lab, insMatrix };
    doc.addPage({ ...docOptions, margins: { ...margins } });
    // Body margins leave room for the frame; later pages (added by the body) take the
    // document-level margins, whose header has no Datamatrix.
    const bottom = bodyBottom(doc, frame);
    margins.top = bodyTop(doc, frame, false);
    margins.bottom = bottom;
    doc.page.margins.top = bodyTop(doc, frame, true);
    doc.page.margins.bottom = bottom;
    doc.y = doc.page.margins.top;

    drawBody(doc, report, lab, options);

    const { start, count } = doc.bufferedPageRange();
    for (let i = start; i < start + count; i++) {
      doc.switchToPage(i);
      header(doc, frame, i === start, true);
      footer(doc, frame, { n: i - start + 1, count });
    }
    doc.end();
    return await out;
  } catch (err) {
    if (err instanceof PasserelleError) throw err;
    throw new PasserelleError('PSL_PDF_RENDER_FAILED', `PDF rendering failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

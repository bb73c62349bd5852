/** PDF/A-1b lab report with the INS Datamatrix: the public surface of engine/pdf. */
export { renderPdf, PDF_TITLE } from './report-pdf';
export { pdfFileName, PDF_DOC_TYPE } from './file-name';
export {
  insDatamatrixPayload,
  encodeInsDatamatrix,
  normaliseInsName,
  INS_DATAMATRIX_HEADER,
  UNKNOWN_BIRTHPLACE,
  GS,
  type InsDatamatrixFields,
} from './ins-datamatrix';
export { datamatrixMatrix, drawDatamatrix, INS_DATAMATRIX_DRAWING, type DatamatrixMatrix } from './datamatrix';
export { loadPdfFonts, loadPdfFontsFrom, fontDirCandidates, DEBIAN_DEJAVU_DIR, FONT_FILES } from './fonts';

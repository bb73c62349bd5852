/**
 * The rendered PDF checked with independent tools: poppler (text, fonts, raster), qpdf
 * (structure, XMP), libdmtx (the Datamatrix as a scanner reads it).
 */
import { renderPdf } from '../../engine/pdf';
import { loadPdfFontsFrom } from '../../engine/pdf/fonts';
import { PasserelleError } from '../../engine/errors';
import type { RenderOptions } from '../../engine/lab/profile';
import type { Report } from '../../engine/lab/report';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { EFFECTIVE_TIME, QUALIFIED_PAYLOAD, expectedTexts, fullReport, longReport, nonQualifiedPatient } from './fixtures';
import { PdfFile, toolsPresent } from './pdf-tools';

const opts: RenderOptions = { version: '2024.01', profile: 'pro', effectiveTime: EFFECTIVE_TIME };
const flat = (s: string): string => s.replace(/\s+/g, ' ');

const missing = toolsPresent();
if (missing.length > 0) throw new Error(`PDF tests need ${missing.join(', ')}: run scripts/test-prereqs.sh`);

const files: PdfFile[] = [];
async function render(report: Report): Promise<PdfFile> {
  const f = new PdfFile(await renderPdf(report, TEST_LAB_PROFILE, opts));
  files.push(f);
  return f;
}
afterAll(() => files.forEach((f) => f.dispose()));

describe('renderPdf, qualified identity', () => {
  const report = fullReport();
  let pdf: PdfFile;
  let text: string;
  beforeAll(async () => {
    pdf = await render(report);
    text = flat(pdf.text());
  });

  it('passes qpdf --check', () => {
    const { status, output } = pdf.qpdfCheck();
    expect(output).toContain('No syntax or stream encoding errors found');
    expect(status).toBe(0);
  });

  it('declares PDF/A-1b in its XMP, with an sRGB output intent and the Info values', () => {
    const xmp = pdf.xmp();
    expect(xmp).toMatch(/<pdfaid:part>1<\/pdfaid:part>/);
    expect(xmp).toMatch(/<pdfaid:conformance>B<\/pdfaid:conformance>/);
    expect(xmp).toContain('<xmp:CreateDate>2024-06-01T08:15:00Z</xmp:CreateDate>');
    expect(xmp).toContain('Compte rendu d’examens de biologie médicale');
    expect(pdf.bytes.toString('latin1')).toMatch(/\/S \/GTS_PDFA1/);
    const info = pdf.pdfinfo();
    expect(info).toMatch(/PDF version:\s+1\.4/);
    expect(info).toMatch(/Page size:\s+595\.28 x 841\.89/);
  });

  it('embeds every font, and only TrueType ones', () => {
    const fonts = pdf.fonts();
    expect(fonts.length).toBeGreaterThan(0);
    for (const f of fonts) {
      expect(f).toEqual(expect.objectContaining({ emb: 'yes', type: 'CID TrueType' }));
    }
  });

  it('has the identity block with the INS and its nature, used name and dossier', () => {
    const p = report.patient;
    for (const s of ['PAT-TROIS', 'Dominique', '28/03/1979', 'Féminin', 'Matricule INS (NIR)', '279035121518989', 'Nom utilisé', 'MARTIN', '240601-0042']) {
      expect(text).toContain(s);
    }
    expect(p.ins?.nature).toBe('NIR');
  });

  it('has every result value, unit, range and comment as real text', () => {
    for (const s of expectedTexts(report)) expect(text).toContain(flat(s));
  });

  it('shows flags, statuses, accreditation, antibiogram, subcontracting and mentions', () => {
    for (const s of [
      'Glucose *', 'Hémoglobine *', // H/L arrows, Cofrac star on accredited codes
      'Accréditation Cofrac Essais n° 8-1234', '* Examen réalisé sous accréditation Cofrac',
      'en cours', 'résultat corrigé', 'COMPTE RENDU PARTIEL',
      'Germe 1 : Escherichia coli', 'R (résistant)', 'S (sensible)', 'I (intermédiaire)', '0.25 mg/L',
      'Examen sous-traité', 'Laboratoire Cerba Spécialisé', '95310',
      'DR MEDECIN Paul (prescripteur)', 'paul.medecin@medecin.mssante.fr', 'DR CARDIO Anne (copie)', 'DR NEPHRO Luc (copie)',
      'prélevé le 01/06/2024 07:45', 'reçu le 01/06/2024 08:30',
      'Compte rendu validé par DR CAMPARINI Marcel le 01/06/2024 10:12',
      TEST_LAB_PROFILE.autoValidationText, flat(TEST_LAB_PROFILE.rgpdText),
    ]) {
      expect(text).toContain(s);
    }
    // Arrow then HL7 letter; poppler may drop the narrow space between them.
    for (const flag of [/↑ ?H\b/, /↓ ?L\b/, /↑↑ ?HH\b/]) expect(text).toMatch(flag);
  });

  it('carries a Datamatrix on page 1 that decodes to the exact INS payload, GS bytes included', () => {
    const decoded = pdf.datamatrix();
    expect(decoded).toBe(QUALIFIED_PAYLOAD);
    expect(decoded?.split('\x1D')).toHaveLength(3);
    expect(text).toContain('INS à scanner');
  });

  it('gives the same bytes for the same input, also when renders run concurrently', async () => {
    const [a, b] = await Promise.all([renderPdf(fullReport(), TEST_LAB_PROFILE, opts), renderPdf(fullReport(), TEST_LAB_PROFILE, opts)]);
    expect(a.equals(pdf.bytes)).toBe(true);
    expect(b.equals(pdf.bytes)).toBe(true);
  });
});

describe('renderPdf, non-qualified identity', () => {
  const report = fullReport(nonQualifiedPatient());
  let pdf: PdfFile;
  let text: string;
  beforeAll(async () => {
    pdf = await render(report);
    text = flat(pdf.text());
  });

  it('prints the identity traits but no INS text at all', () => {
    for (const s of ['NONQUALIFIÉ', 'Ève', '04/07/1985', 'Féminin', '240601-0042']) expect(text).toContain(s);
    expect(text).not.toContain(report.patient.insReceived?.matricule);
    expect(text).not.toMatch(/\bINS\b/);
    expect(text).not.toContain('NIR');
  });

  it('has no Datamatrix', () => {
    expect(pdf.datamatrix()).toBeUndefined();
  });
});

describe('renderPdf, multi-page report', () => {
  const report = longReport(45);
  let pages: string[];
  beforeAll(async () => {
    const pdf = await render(report);
    pages = pdf.pages().map(flat);
    expect(pdf.qpdfCheck().status).toBe(0);
  });

  it('repeats the identity block and "page n / N" on every page', () => {
    expect(pages.length).toBeGreaterThanOrEqual(3);
    pages.forEach((p, i) => {
      expect(p).toContain(`page ${i + 1} / ${pages.length}`);
      for (const s of ['PAT-TROIS', 'Dominique', '28/03/1979', '279035121518989', '240601-0042', 'Laboratoire Passerelle Démo']) {
        expect(p).toContain(s);
      }
      expect(p).toContain(flat(TEST_LAB_PROFILE.rgpdText));
    });
    expect(pages.filter((p) => p.includes('INS à scanner'))).toHaveLength(1);
  });

  it('prints every result once', () => {
    const all = pages.join(' ');
    for (const req of report.requests) for (const r of req.results) expect(all).toContain(r.code.text);
    expect(all).not.toContain('COMPTE RENDU PARTIEL');
  });
});

describe('fonts', () => {
  it('reports missing fonts with a coded error naming the fix', () => {
    let err: unknown;
    try {
      loadPdfFontsFrom(['/nonexistent/fonts']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PasserelleError);
    expect((err as PasserelleError).code).toBe('PSL_PDF_FONT_MISSING');
    expect((err as Error).message).toContain('fonts-dejavu-core');
  });
});

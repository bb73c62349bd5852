/**
 * The PDF of every sample, checked with independent tools: `pdftotext` shows the identity block
 * and every result, `qpdf --check` passes, the XMP declares PDF/A-1b, every font is embedded,
 * and for a qualified identity `dmtxread` decodes the INS Datamatrix to the ANS format with the
 * patient's values (SGL.DOC.05/06, INS.51–53).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { renderPdf } from '../../engine/pdf';
import type { Report } from '../../engine/lab/report';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { PdfFile } from '../pdf/pdf-tools';

const SAMPLES = resolve(__dirname, '../../samples');
const files = readdirSync(SAMPLES).filter((f) => /^o(ru|ul)-r\d\d.*\.hl7$/.test(f)).sort();
const flat = (s: string): string => s.replace(/\s+/g, ' ').trim();

function report(file: string): Report {
  return reportFromMessage(Message.parse(decode(readFileSync(join(SAMPLES, file))).text));
}

/** What a reader must find for each result: its name, and its value as the lab sent it. */
function expected(r: Report): string[] {
  const out: string[] = [r.patient.birthFamily, r.patient.firstBirthGiven];
  for (const q of r.requests) {
    for (const res of q.results) {
      out.push(res.code.text);
      const v = res.value;
      if (v.type === 'NM') out.push(v.value);
      if (v.type === 'SN' && v.num1) out.push(v.num1);
      if (v.type === 'CWE') out.push(v.coded.display ?? v.coded.code);
      for (const c of res.comments) out.push(c.text);
    }
    for (const c of q.comments) out.push(c.text);
  }
  for (const c of r.comments) out.push(c.text);
  return out.map(flat).filter((s) => s !== '');
}

/**
 * What each sample's INS Datamatrix must hold, written out from the messages (PID-3 INS, PID-5 L,
 * PID-8, PID-7, PID-11 birthplace code; names without accents, upper case), or null when the
 * identity is not qualified (PID-32 not VALI).
 */
const DATAMATRIX: Record<string, string[] | null> = {
  'oru-r01_biochemistry.hl7': ['S1279035121518989S21.2.250.1.213.1.4.10', 'S3DOMINIQUE', 'S4PAT-TROIS', 'S5FS628-03-1979S763220'],
  'oru-r01_comments-escapes.hl7': ['S1156077505612386S21.2.250.1.213.1.4.10', 'S3BERNARD', 'S4PAT-ONZE', 'S5MS618-07-1956S775104'],
  'oru-r01_haematology.hl7': ['S1185057512345673S21.2.250.1.213.1.4.10', 'S3LUCAS MARC', 'S4PAT-SIX', 'S5MS612-05-1985S775112'],
  'oru-r01_identity-prov.hl7': null, // PID-32 PROV: no INS, so no Datamatrix
  'oru-r01_ilw_subcontracted.hl7': ['S1248092A20345642S21.2.250.1.213.1.4.10', 'S3PATIENTE', 'S4TEST-DEMO', 'S5FS620-09-1948S72A004'],
  'oru-r01_latin9.hl7': ['S1164031305502772S21.2.250.1.213.1.4.10', 'S3FRANCOIS', 'S4PAT-DOUZE', 'S5MS605-03-1964S713055'],
  'oru-r01_ltw_biochemistry.hl7': ['S1248092A20345642S21.2.250.1.213.1.4.10', 'S3PATIENTE', 'S4TEST-DEMO', 'S5FS620-09-1948S72A004'],
  'oru-r01_microbiology.hl7': ['S1291106912304591S21.2.250.1.213.1.4.10', 'S3JULIE', 'S4PAT-DIX', 'S5FS602-10-1991S769266'],
  'oru-r01_serology.hl7': ['S1172062A00412330S21.2.250.1.213.1.4.10', 'S3ANTOINE PIERRE', 'S4PAT-QUATRE', 'S5MS614-06-1972S72A004'],
  'oru-r01_sn-values.hl7': ['S1283112B05021516S21.2.250.1.213.1.4.10', 'S3MARIE-ANGE LUCIE', 'S4PAT-CINQ', 'S5FS607-11-1983S72B050'],
  'oru-r01_subcontracting-pdf.hl7': ['S1279035121518989S21.2.250.1.213.1.4.10', 'S3DOMINIQUE', 'S4PAT-TROIS', 'S5FS628-03-1979S763220'],
  'oru-r01_subcontracting.hl7': ['S1279035121518989S21.2.250.1.213.1.4.10', 'S3DOMINIQUE', 'S4PAT-TROIS', 'S5FS628-03-1979S763220'],
  'oul-r22_specimens.hl7': ['S1248092A20345642S21.2.250.1.213.1.4.10', 'S3PATIENTE', 'S4TEST-DEMO', 'S5FS620-09-1948S775112'],
};

it('has an expectation for every sample, and most of them are qualified identities', () => {
  expect(Object.keys(DATAMATRIX).sort()).toEqual(files);
  expect(Object.values(DATAMATRIX).filter((v) => v !== null).length).toBe(12);
});

describe.each(files)('%s PDF', (file) => {
  let pdf: PdfFile;
  let r: Report;
  beforeAll(async () => {
    r = report(file);
    pdf = new PdfFile(await renderPdf(r, TEST_LAB_PROFILE, { version: '2024.01', profile: 'pro', effectiveTime: '20261125120000+0100' }));
  }, 60_000);
  afterAll(() => pdf.dispose());

  it('is a well-formed PDF/A-1b with every font embedded', () => {
    expect(pdf.qpdfCheck().status).toBe(0);
    const xmp = pdf.xmp();
    expect(xmp).toMatch(/<pdfaid:part>1<\/pdfaid:part>/);
    expect(xmp).toMatch(/<pdfaid:conformance>B<\/pdfaid:conformance>/);
    const fonts = pdf.fonts();
    expect(fonts.length).toBeGreaterThan(0);
    for (const f of fonts) expect(f.emb).toBe('yes');
  });

  it('shows the identity block and every result in extractable text', () => {
    // Content-stream order (-raw) keeps a wrapped table cell's lines together; comparing without
    // whitespace ignores where the column wrapped them.
    const raw = execFileSync('pdftotext', ['-raw', '-enc', 'UTF-8', pdf.path, '-'], { encoding: 'utf8' });
    const compact = raw.replace(/\s+/g, '').toLowerCase();
    for (const s of expected(r)) expect(compact).toContain(s.replace(/\s+/g, '').toLowerCase());
    const text = flat(pdf.text());
    const b = r.patient.birthDate!;
    expect(text).toContain(`${b.slice(6, 8)}/${b.slice(4, 6)}/${b.slice(0, 4)}`);
    if (r.patient.ins) expect(text).toContain(r.patient.ins.matricule);
    else if (r.patient.insReceived) expect(text).not.toContain(r.patient.insReceived.matricule);
  });

  it('carries the INS Datamatrix exactly when the identity is qualified', () => {
    const decoded = pdf.datamatrix();
    const want = DATAMATRIX[file];
    if (want === null) {
      expect(decoded).toBeUndefined();
      return;
    }
    expect(decoded).toBeDefined();
    const d = decoded!;
    expect(d.startsWith('IS01' + '0'.repeat(22))).toBe(true);
    for (const part of want) expect(d).toContain(part);
  }, 60_000);
});

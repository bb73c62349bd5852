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
    const p = r.patient;
    if (!p.ins) {
      expect(decoded).toBeUndefined();
      return;
    }
    expect(decoded).toBeDefined();
    const d = decoded!;
    expect(d.startsWith('IS01' + '0'.repeat(22))).toBe(true);
    expect(d).toContain(`S1${p.ins.matricule}S2${p.ins.oid}`);
    expect(d).toContain(`S5${p.sex}S6${p.birthDate!.slice(6, 8)}-${p.birthDate!.slice(4, 6)}-${p.birthDate!.slice(0, 4)}S7${p.birthplaceCode}`);
    const ascii = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toUpperCase();
    expect(d).toContain(`S4${ascii(p.birthFamily)}`);
    expect(d).toContain(`S3${ascii(p.birthGivens)}`);
  }, 60_000);
});

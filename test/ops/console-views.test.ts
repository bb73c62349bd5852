/** The console's view helpers: escaping, the segment view and its masking, the version diff. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { html, raw } from '../../engine/ops/web/html';
import { fieldValue, segmentViews, viewerMayLoad, VIEW_CHARS } from '../../engine/ops/api/segments';
import { diffLines, narrativeLines } from '../../engine/ops/api/version-diff';
import { shownTarget } from '../../engine/ops/web/pages/report';

const repo = resolve(__dirname, '../..');
const sample = (): Message => Message.parse(decode(readFileSync(join(repo, 'samples/oru-r01_ltw_biochemistry.hl7'))).text);

test('html escapes every value, attributes included, but not markup made by html or raw', () => {
  const evil = `"><script>alert('x')</script>&`;
  expect(html`<a title="${evil}">${evil}</a>`.text).toBe(
    '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
  );
  expect(html`<p>${[html`<b>${'<i>'}</b>`, raw('<br>')]}</p>`.text).toBe('<p><b>&lt;i&gt;</b><br></p>');
  expect(html`${undefined}${null}${false}${0}`.text).toBe('0');
});

test('segments with paths; the identity masked for viewers, identifiers keeping their last 4 characters', () => {
  const m = sample();
  const full = segmentViews(m, 0, 100, true);
  expect(full.map((s) => s.ref)).toEqual(['MSH[1]', 'PID[1]', 'PV1[1]', 'ORC[1]', 'OBR[1]', 'OBX[1]', 'OBX[2]', 'NTE[1]', 'SPM[1]']);
  const value = (segs: typeof full, ref: string, label: string): string | undefined => segs.find((s) => s.ref === ref)?.leaves.find((l) => l.label === label)?.value;
  expect(value(full, 'PID[1]', 'PID-3[2].1')).toBe('248092A20345642');
  expect(value(full, 'PID[1]', 'PID-5[1].1')).toBe('TEST-DEMO');
  expect(value(full, 'OBX[2]', 'OBX[2]-3.2')).toBe('Créatinine [Masse/Volume] Sérum/Plasma');
  // Values as the HL7 library reads them (unescaped; formatting commands such as \.br\ kept).
  expect(value(full, 'NTE[1]', 'NTE-3')).toBe(m.get('NTE-3'));
  const masked = segmentViews(m, 0, 100, false);
  expect(value(masked, 'PID[1]', 'PID-3[2].1')).toBe('•••••••••••5642');
  expect(value(masked, 'PID[1]', 'PID-5[1].1')).toBe('•••');
  expect(value(masked, 'PID[1]', 'PID-7')).toBe('•••');
  expect(masked.find((s) => s.ref === 'PID[1]')!.summary).toBe('PID|•••');
  expect(JSON.stringify(masked)).not.toMatch(/TEST-DEMO|19480920|248092A20345642|Essai/);
  expect(value(masked, 'OBX[1]', 'OBX-5')).toBe('0.95');
  expect(viewerMayLoad('PID-5[1].1.1')).toBe(false);
  expect(viewerMayLoad('OBX[3]-5[1].5.1')).toBe(false);
  expect(viewerMayLoad('NTE-3[1].1.1')).toBe(true);
});

test('a long value is cut in the view and read in chunks', () => {
  const b64 = 'QUJD'.repeat(50_000);
  const m = Message.parse(`MSH|^~\\&|A|B|C|D|20260101||ORU^R01|X1|P|2.5\rOBX|1|ED|PDF^PDF^L||^application^pdf^Base64^${b64}\r`);
  const obx = segmentViews(m, 0, 10, true)[1]!;
  const leaf = obx.leaves.find((l) => l.label === 'OBX-5.5')!;
  expect(leaf).toEqual({ path: 'OBX[1]-5[1].5.1', label: 'OBX-5.5', value: b64.slice(0, VIEW_CHARS), length: b64.length, truncated: true, masked: false });
  expect(fieldValue(m, leaf.path, 65_536, 1000)).toEqual({ path: leaf.path, length: b64.length, offset: 65_536, value: b64.slice(65_536, 66_536) });
  expect(segmentViews(m, 1, 10, true).map((s) => s.ref)).toEqual(['OBX[1]']);
});

test('the diff of two narratives: the changed row, the rest kept', () => {
  const n3 = readFileSync(join(repo, 'samples/rendered/oru-r01_ltw_biochemistry.n3.xml'), 'utf8');
  const lines = narrativeLines(n3);
  expect(lines).toContain('Glucose [Masse/Volume] Sérum/Plasma * | 0.95 | g/L | 0.70-1.10 | Normal');
  expect(lines).toContain('Résultat contrôlé Prélèvement à jeun : oui');
  expect(lines.join('\n')).not.toContain('TEST-DEMO'); // the header (identity) is not part of it
  const changed = narrativeLines(n3.replace('<content ID="val-r1">0.95</content>', '<content ID="val-r1">1.02</content>'));
  const d = diffLines(lines, changed).filter((l) => l.op !== '=');
  expect(d).toEqual([
    { op: '-', text: 'Glucose [Masse/Volume] Sérum/Plasma * | 0.95 | g/L | 0.70-1.10 | Normal' },
    { op: '+', text: 'Glucose [Masse/Volume] Sérum/Plasma * | 1.02 | g/L | 0.70-1.10 | Normal' },
  ]);
  expect(diffLines(['a', 'b', 'c'], ['a', 'c', 'd'])).toEqual([
    { op: '=', text: 'a' },
    { op: '-', text: 'b' },
    { op: '=', text: 'c' },
    { op: '+', text: 'd' },
  ]);
});

test("a patient's MSSanté address shows only the end of its INS to viewers", () => {
  expect(shownTarget('mss:248092A20345642@patient.mssante.fr', false)).toBe('mss:•••••••••••5642@patient.mssante.fr');
  expect(shownTarget('pfi>mss:248092A20345642@patient.mssante.fr', false)).toBe('pfi>mss:•••••••••••5642@patient.mssante.fr');
  expect(shownTarget('mss:dr.medecin@chu.mssante.fr', false)).toBe('mss:dr.medecin@chu.mssante.fr');
  expect(shownTarget('mss:248092A20345642@patient.mssante.fr', true)).toBe('mss:248092A20345642@patient.mssante.fr');
});

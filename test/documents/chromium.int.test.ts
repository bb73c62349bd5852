/**
 * DOC.03: the N3 is self-presentable. Opened in headless Chromium (served over HTTP with the
 * stylesheet the renderer writes beside it), every result of the report is on the page.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, basename } from 'node:path';
import { promisify } from 'node:util';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { renderDocumentSet } from '../../engine/documents/document-set';
import { writeDocumentSet } from '../../engine/documents/document-writer';
import { AnsKit } from '../../engine/validation';
import type { Result } from '../../engine/lab/report';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { ANS_KIT_DIR } from '../support/ans-kit';

const run = promisify(execFile);
const SAMPLES = resolve(__dirname, '../../samples');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: Server;
let base: string;
const dir = mkdtempSync(join(tmpdir(), 'n3-view-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    try {
      const name = basename(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      const body = readFileSync(join(dir, name));
      res.writeHead(200, { 'content-type': name.endsWith('.xsl') || name.endsWith('.xml') ? 'application/xml' : 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The page as Chromium built it; it must be our stylesheet's HTML, not the raw XML tree. */
async function pageText(url: string): Promise<string> {
  const { stdout } = await run(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chr-'))}`, '--dump-dom', url],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  expect(stdout).toContain('<div class="header">');
  expect(stdout).toContain('<h1>Compte rendu d\'examens biologiques</h1>');
  return stdout
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}

/** What a reader must find for a result: its name and its value (decimal comma or point). */
function shown(r: Result): string[] {
  const v = r.value;
  const value =
    v.type === 'NM' ? v.value : v.type === 'SN' ? (v.num1 ?? v.text) : v.type === 'CWE' ? (v.coded.display ?? v.coded.code) : v.type === 'ST' || v.type === 'TX' || v.type === 'FT' ? v.text.split('\n')[0]! : undefined;
  return [r.code.text, ...(value ? [value] : []), ...r.comments.map((c) => c.text.split('\n')[0]!)];
}

const files = readdirSync(SAMPLES).filter((f) => /^o(ru|ul)-r\d\d.*\.hl7$/.test(f)).sort();

it.each(files)('%s: the N3 shown by Chromium carries every result', async (file) => {
  const kit = AnsKit.open(ANS_KIT_DIR);
  const report = reportFromMessage(Message.parse(decode(readFileSync(join(SAMPLES, file))).text));
  const set = await renderDocumentSet(report, TEST_LAB_PROFILE, { version: '2024.01', profile: 'pro', effectiveTime: '20261125120000+0100' }, { kit });
  const name = file.replace(/\.hl7$/, '');
  writeDocumentSet(dir, name, set);
  const text = (await pageText(`${base}/${name}.n3.xml`)).replace(/(\d),(\d)/g, '$1.$2');
  expect(text).toContain(report.patient.birthFamily);
  const results = report.requests.flatMap((q) => [...q.results, ...(q.isolates ?? []).flatMap((i) => i.susceptibilities)]);
  expect(results.length).toBeGreaterThan(0);
  for (const r of results) for (const s of shown(r)) expect(text).toContain(s.replace(/(\d),(\d)/g, '$1.$2').trim());
}, 90_000);

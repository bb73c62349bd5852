/**
 * The operations console end to end in Debian's headless Chromium (playwright-core, no browser
 * download): an operator finds a result message by INS, opens it, views its report's PDF and
 * narrative, reprocesses its failed LIS delivery once the LIS is fixed and sees the state
 * change; a viewer gets no action and a 403 from the API; every patient view is audited; a
 * 5 MB ORU opens without its payload reaching the page.
 */
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CREA, GLU, LTW_SAMPLE, ltwResults } from '../support/sample-channels';
import { CHROMIUM_ARGS, CHROMIUM_PATH, USERS, startConsoleScenario, type ConsoleScenario } from '../support/console-scenario';
import type { Role } from '../../engine/ops/context';
import type { AuditRow } from '../../engine/ops/store/types';
import { waitFor } from '../support/wait';

jest.setTimeout(240_000);

const INS = '248092A20345642'; // the sample's test INS (OID 1.2.250.1.213.1.4.10, qualified)
const CONTROL_ID = 'CON-ORU-0001';
let s: ConsoleScenario;
let browser: Browser;
let messageId: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  s = await startConsoleScenario();
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  await s.send('results', LTW_SAMPLE.replace('|SMP-ORU-0001|', `|${CONTROL_ID}|`));
  messageId = (await s.messageIn(CONTROL_ID, ['dead'])).id;
  // The LIS refused it (AE); its report's first version must be written for the PDF.
  const written = await waitFor(async () => (await s.te.engine.messageStore.reportVersions('SIL-LABO', 'LAB-0001')).some((v) => v.written), 90_000, 200);
  expect(written).toBe(true);
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await s?.stop();
});

async function loggedIn(role: Role): Promise<Page> {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  const page = await ctx.newPage();
  await page.goto(`${s.base}/messages`);
  // Not logged in: the console sends us to its login page, then back.
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('input[name="name"]', USERS[role].name);
  await page.fill('input[name="password"]', USERS[role].password);
  await Promise.all([page.waitForURL(`${s.base}/messages`), page.click('button[type="submit"]')]);
  return page;
}

/** The value shown for one path of a segment (`PID[1]`, `PID-3[2].1`). */
async function shownValue(page: Page, seg: string, label: string): Promise<string> {
  return page.locator(`details[data-seg="${seg}"] tr`).evaluateAll(
    (rows, l) => rows.find((r) => r.querySelector('th')?.textContent === l)?.querySelector('td code')?.textContent ?? '(no such path)',
    label,
  );
}

const text = async (page: Page, sel: string): Promise<string> => ((await page.locator(sel).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();

test('an operator finds the message by INS, views its PDF, reprocesses the failed delivery and sees it delivered', async () => {
  const page = await loggedIn('operator');

  // Overview: the LIS copy is failing, and says why (the LIS's own words), not just a count.
  await page.goto(`${s.base}/`);
  const lis = page.locator('section[data-channel="results"] tr[data-destination="lis"]');
  expect(await lis.locator('.badge').textContent()).toBe('failing');
  expect(await lis.textContent()).toContain('Patient inconnu du SIL');

  // Search by INS.
  await page.goto(`${s.base}/messages`);
  await page.fill('input[name="ins"]', INS);
  await Promise.all([page.waitForURL(/\/messages\?/), page.click('form#search button[type="submit"]')]);
  const rows = page.locator('table.messages tbody tr[data-id]');
  expect(await rows.count()).toBe(1);
  expect(await rows.first().textContent()).toContain(CONTROL_ID);
  await Promise.all([page.waitForURL(`${s.base}/messages/${messageId}`), page.click(`a:text("${CONTROL_ID}")`)]);

  // The message page: state, reason, deliveries, the HL7 with paths (identity shown to operators).
  expect(await text(page, '#message-state .badge')).toBe('dead');
  expect(await text(page, '#message-state pre.reason')).toContain('PSL_DEST_NAK_ERROR');
  expect(await text(page, '#deliveries tr[data-destination="lis"]')).toContain('dead');
  expect(await text(page, '#deliveries tr[data-destination="documents"]')).toContain('delivered');
  expect(await shownValue(page, 'PID[1]', 'PID-3[2].1')).toBe(INS);
  expect(await shownValue(page, 'PID[1]', 'PID-5[1].1')).toBe('TEST-DEMO');
  expect(await text(page, 'pre.ack')).toContain(`MSA|AA|${CONTROL_ID}`);

  // Its report: the PDF inline, from a route that answers a PDF; the narrative rendered by the server.
  await Promise.all([page.waitForURL(/\/reports\/SIL-LABO\/LAB-0001$/), page.click('a:text("Report LAB-0001")')]);
  const pdfUrl = await page.locator('object.pdf').getAttribute('data');
  expect(pdfUrl).toBe('/api/reports/SIL-LABO/LAB-0001/versions/1/pdf');
  const pdf = await page.request.get(`${s.base}${pdfUrl}`);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()['content-type']).toBe('application/pdf');
  expect((await pdf.body()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  const narrative = page.frameLocator('iframe.narrative');
  expect(await narrative.locator('h1').textContent()).toBe("Compte rendu d'examens biologiques");
  expect(await narrative.locator('body').textContent()).toContain('Créatinine');
  expect(await text(page, '#report-deliveries')).toContain('No delivery');
  // Publish now goes through the running channel's publisher: nothing changed, no new version.
  const publish = await page.evaluate(async (url) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json(), '/api/reports/SIL-LABO/LAB-0001/publish');
  expect(publish).toEqual(expect.objectContaining({ outcome: 'unchanged' }));

  // The LIS is fixed; the operator reprocesses the dead delivery and watches the state change.
  s.lis.fixed = true;
  await page.goto(`${s.base}/messages/${messageId}`);
  const reprocess = page.locator('button[data-action$="/reprocess"]');
  expect(await reprocess.textContent()).toContain('lis');
  page.once('dialog', (d) => void d.accept());
  await reprocess.click();
  await page.waitForFunction(() => document.querySelector('#message-state .badge')?.textContent === 'done', null, { timeout: 60_000 });
  expect(await text(page, '#deliveries tr[data-destination="lis"]')).toContain('delivered');
  expect((await s.te.engine.messageStore.get(messageId))?.state).toBe('done');

  // A correction makes v2; the report page shows what changed between the two versions.
  await s.send('results', ltwResults('CON-ORU-0002', 'C', [GLU('1.02', 'C', '20261125110000'), CREA('9.8', 'F', '20261125100500')]));
  await s.messageIn('CON-ORU-0002', ['done']);
  await page.goto(`${s.base}/reports/SIL-LABO/LAB-0001?a=1&b=2`);
  expect(await page.locator('ol.timeline li').count()).toBe(2);
  const diff = await page.locator('pre.diff').textContent();
  expect(diff).toMatch(/^- Glucose \[Masse\/Volume\] Sérum\/Plasma \* \| 0\.95 \| g\/L/m);
  expect(diff).toMatch(/^\+ Glucose \[Masse\/Volume\] Sérum\/Plasma \* \(résultat corrigé\) \| 1\.02 \| g\/L/m);
  expect(diff).toMatch(/^= Résultat contrôlé Prélèvement à jeun : oui$/m);
  expect(diff).toMatch(/^= .*Créatinine/m);
  expect(await text(page, 'table.grid')).toContain('0.95 g/L final → correction');
});

test('a viewer sees the identity masked, no action, and the API refuses them a reprocess (403)', async () => {
  const page = await loggedIn('viewer');
  await page.goto(`${s.base}/messages/${messageId}`);
  expect(await page.locator('button[data-action]').count()).toBe(0);
  const body = (await page.locator('main').textContent()) ?? '';
  expect(body).not.toContain(INS);
  expect(body).not.toContain('TEST-DEMO');
  expect(body).not.toContain('19480920');
  expect(await shownValue(page, 'PID[1]', 'PID-3[2].1')).toBe('•••••••••••5642');
  expect(await shownValue(page, 'PID[1]', 'PID-5[1].1')).toBe('•••');
  expect(await shownValue(page, 'OBX[2]', 'OBX[2]-5')).toBe('9.8');
  const refused = await page.evaluate(async (url) => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return { status: r.status, body: (await r.json()) as { code: string } };
  }, `/api/messages/${messageId}/reprocess`);
  expect(refused).toEqual({ status: 403, body: expect.objectContaining({ code: 'forbidden' }) });
  expect((await page.request.get(`${s.base}/api/reports/SIL-LABO/LAB-0001/versions/1/pdf`)).status()).toBe(403);
  await page.goto(`${s.base}/reports/SIL-LABO/LAB-0001`);
  expect(await page.locator('object.pdf').count()).toBe(0);
  expect(await text(page, 'table.facts')).not.toContain(INS);
});

test('every view of patient data is in the audit log, with who and what', async () => {
  const page = await loggedIn('admin');
  const res = await page.request.get(`${s.base}/api/audit?patient=1&limit=500`);
  expect(res.status()).toBe(200);
  const entries = ((await res.json()) as { entries: AuditRow[] }).entries;
  const has = (user: string, action: string, target: string | RegExp): boolean =>
    entries.some((e) => e.userName === user && e.action === action && (typeof target === 'string' ? e.target === target : target.test(e.target)));
  const op = USERS.operator.name;
  expect(has(op, 'message.search', 'ins')).toBe(true);
  expect(has(op, 'message.view', messageId)).toBe(true);
  expect(has(op, 'report.view', 'SIL-LABO/LAB-0001')).toBe(true);
  expect(has(op, 'report.pdf', 'SIL-LABO/LAB-0001 v1')).toBe(true);
  expect(has(op, 'report.narrative', 'SIL-LABO/LAB-0001 v1')).toBe(true);
  expect(has(USERS.viewer.name, 'message.view', messageId)).toBe(true);
  expect(has(USERS.viewer.name, 'report.view', 'SIL-LABO/LAB-0001')).toBe(true);
  // The reprocess itself is audited too (not a patient view: no patient flag).
  const all = ((await (await page.request.get(`${s.base}/api/audit?action=message.reprocess`)).json()) as { entries: AuditRow[] }).entries;
  expect(all.map((e) => [e.userName, e.target, e.detail])).toEqual([[op, messageId, 'requeued']]);
  // The admin's audit page shows them.
  await page.goto(`${s.base}/audit?action=message.view`);
  expect(await page.locator('main table.grid tbody tr').count()).toBeGreaterThanOrEqual(2);
});

test('the indicators page and its CSV extract answer for a viewer (counts only, no patient data)', async () => {
  const page = await loggedIn('viewer');
  await page.goto(`${s.base}/indicators`);
  expect(await text(page, 'h1')).toBe('Ségur indicators (TBB.01, TBB.03)');
  // Nothing went to the DMP nor by MSSanté in this scenario: the page says so rather than showing made-up zeros.
  expect(await text(page, 'main')).toContain('No CR-BIO sent nor failed in these periods.');
  const csv = await page.request.get(`${s.base}/api/indicators.csv?at=2026-03`);
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-type']).toBe('text/csv; charset=utf-8');
  expect(await csv.text()).toBe('period;period_label;period_start;period_end;finess;rpps;indicator;value\r\n');
  const bad = await page.request.get(`${s.base}/api/indicators?at=2026-13`);
  expect([bad.status(), ((await bad.json()) as { code: string }).code]).toEqual([400, 'PSL_CONSOLE_BAD_REQUEST']);
});

test('a 5 MB ORU with a base64 PDF opens at once: segments listed, the long value loaded on demand', async () => {
  const b64 = randomBytes(3_900_000).toString('base64');
  const big = LTW_SAMPLE.replace('|SMP-ORU-0001|', '|CON-BIG-0001|').replace(/(SPM\|)/, `OBX|3|ED|PDF^Compte rendu PDF^L||^application^pdf^Base64^${b64}||||||F\r$1`);
  expect(big.length).toBeGreaterThan(5_000_000);
  await s.send('bulk', big);
  const m = await s.messageIn('CON-BIG-0001', ['done']);
  const page = await loggedIn('operator');
  // Its time to open is measured by `npm run bench -- console`, not asserted here.
  const res = await page.goto(`${s.base}/messages/${m.id}`, { waitUntil: 'load' });
  const html = (await res!.body()).length;
  expect(html).toBeLessThan(200_000);
  const obx = page.locator('details[data-seg="OBX[3]"]');
  expect(await obx.textContent()).toContain(`${b64.length} chars`);
  await obx.locator('button[data-load-field]').click();
  await page.waitForFunction(() => (document.querySelector('details[data-seg="OBX[3]"] pre.long')?.textContent?.length ?? 0) >= 65_536);
  expect(await obx.locator('pre.long').textContent()).toBe(b64.slice(0, 65_536));
});

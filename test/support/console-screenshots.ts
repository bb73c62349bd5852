/**
 * Regenerates the console's screenshots (docs/screenshots/overview.png, message.png,
 * indicators.png) from a real engine and console: test channels, a few result messages (test
 * identities), a LIS that refuses them and an EAI that is down, in Debian's Chromium.
 * Run by scripts/console-screenshots.sh (after the build): node dist/test/support/console-screenshots.js <dir>
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, USERS, startConsoleScenario, type ConsoleScenario } from './console-scenario';
import { decode } from '../../engine/hl7';
import { repoRootOf } from '../../engine/config/reference-data';
import { waitFor } from './wait';
import type { Role } from '../../engine/ops/context';

const FILES = 6;
// Read from the clone (this runs from dist/, where test/support/sample-channels.ts would look in dist/samples).
const LTW_SAMPLE = decode(readFileSync(join(repoRootOf(__dirname), 'samples', 'oru-r01_ltw_biochemistry.hl7'))).text;

/** The sample result as another lab file of another order (`n` 1..99). */
function resultOf(n: number): string {
  const nn = String(n).padStart(2, '0');
  // Two biologists (test RPPS) validate the files in turn (OBR-32): the indicators per RPPS.
  const biologist = n % 2 ? '10101234567&BIOLOGISTE-UN&Anne' : '10107654321&BIOLOGISTE-DEUX&Paul';
  return LTW_SAMPLE.replace('|SMP-ORU-0001|', `|SHOT-ORU-00${nn}|`)
    .replace(/LAB-0001/g, `LAB-01${nn}`)
    .replace(/CMD-0001/g, `CMD-01${nn}`)
    .replace(/^(OBR\|.*\|F)$/m, `$1|||||||${biologist}&&&&&&RPPS&1.2.250.1.71.4.2.1&ISO`);
}

async function traffic(s: ConsoleScenario): Promise<string> {
  for (let n = 1; n <= FILES; n++) await s.send('results', resultOf(n));
  await s.send('bulk', LTW_SAMPLE.replace('|SMP-ORU-0001|', '|SHOT-BULK-0001|'));
  await s.messageIn('SHOT-BULK-0001', ['done']);
  // Every file's documents written and its LIS copy refused: what the overview then shows is settled.
  const store = s.te.engine.messageStore;
  const settled = await waitFor(async () => {
    for (let n = 1; n <= FILES; n++) {
      const m = (await store.searchMessages({ controlId: `SHOT-ORU-00${String(n).padStart(2, '0')}`, limit: 1 }))[0];
      const d = m ? await store.deliveries(m.id) : [];
      if (!['documents', 'lis'].every((name) => d.some((x) => x.destination === name && x.state !== 'pending'))) return false;
    }
    return true;
  }, 180_000, 500);
  if (!settled) throw new Error('the screenshot traffic did not settle within 3 minutes');
  await receipts(s);
  await s.te.engine.pauseChannel('bulk');
  return (await store.searchMessages({ controlId: 'SHOT-ORU-0001', limit: 1 }))[0]!.id;
}

const INS = '248092A20345642'; // the sample's test INS

/** A PFI business acknowledgement (ANS CDA-in-HL7v2 volet) of version 1 of a lab file. */
function zam(kind: 'Z01' | 'Z02', n: number, fillerOrder: string, ok: boolean, address = ''): string {
  const obx =
    kind === 'Z01'
      ? [`OBX|1|CWE|ACK_RECEPTION_DMP^Accusé de réception DMP^AckMetierZAM|${fillerOrder}.v1|${ok ? 'Y' : 'N'}^^expandedYes-NoIndicator||||||F`]
      : [`OBX|1|CWE|ACK_RECEPTION_MSS^Accusé de réception MSSanté^AckMetierZAM|${fillerOrder}.v1|${ok ? 'Y' : 'N'}^^expandedYes-NoIndicator||||||F`, `OBX|2|XTN|DESTINATAIRE_MSS^Destinataire MSSanté^AckMetierZAM||^^X.400^${address}||||||F`];
  return [
    `MSH|^~\\&|PFI|CHU-DEMO|SIL-LABO|LABO-DEMO|20261207100000||ZAM^${kind}^ZAM_Z01|ZAM-${kind}-${n}|P|2.6|||||FRA|UNICODE UTF-8|||2.1^CISIS_CDA_HL7_V2`,
    'EVN||20261207100000',
    ...obx,
    ...(ok ? [] : ['ERR|||207^Application internal error^messageErrorCondition|E|DMPClosed^DMP fermé^DMPERRORCODE']),
  ].join('\r') + '\r';
}

/**
 * Once the PFI took every version, what it says it did: filed in the DMP (the last file refused:
 * the patient's DMP is closed), mailed to the prescriber, and to the patient for half of them.
 */
async function receipts(s: ConsoleScenario): Promise<void> {
  const store = s.te.engine.messageStore;
  const sent = await waitFor(async () => (await store.findVersionDeliveries({ state: 'sent', limit: 100 })).filter((d) => d.target === 'pfi').length >= FILES, 180_000, 500);
  if (!sent) throw new Error('the PFI did not get every version within 3 minutes');
  let n = 0;
  for (let f = 1; f <= FILES; f++) {
    const filler = `LAB-01${String(f).padStart(2, '0')}`;
    await s.send('receipts', zam('Z01', ++n, filler, f < FILES));
    await s.send('receipts', zam('Z02', ++n, filler, true, 'prescripteur.medecin@test.mssante.fr'));
    if (f <= FILES / 2) await s.send('receipts', zam('Z02', ++n, filler, true, `${INS}@patient.mssante.fr`));
  }
  const recorded = await waitFor(async () => (await store.findVersionDeliveries({ limit: 1000 })).filter((d) => d.target.startsWith('pfi>')).length >= n, 60_000, 500);
  if (!recorded) throw new Error('the receipts were not recorded within a minute');
}

async function shoot(page: Page, url: string, file: string, fullPage: boolean): Promise<void> {
  await page.goto(url, { waitUntil: 'networkidle' });
  await page.screenshot({ path: file, fullPage });
  process.stdout.write(`${file}\n`);
}

async function logIn(page: Page, s: ConsoleScenario, role: Role): Promise<void> {
  await page.goto(`${s.base}/login`);
  await page.fill('input[name="name"]', USERS[role].name);
  await page.fill('input[name="password"]', USERS[role].password);
  await Promise.all([page.waitForURL(`${s.base}/`), page.click('button[type="submit"]')]);
}

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? 'docs/screenshots');
  mkdirSync(outDir, { recursive: true });
  const s = await startConsoleScenario({ eaiDown: true, pfi: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const messageId = await traffic(s);
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await logIn(page, s, 'operator');
    await shoot(page, `${s.base}/`, join(outDir, 'overview.png'), true);
    // The message page's first screen and a half: state, deliveries, keys, ACK and the first segments.
    await page.setViewportSize({ width: 1360, height: 1500 });
    await shoot(page, `${s.base}/messages/${messageId}`, join(outDir, 'message.png'), false);
    await page.setViewportSize({ width: 1360, height: 900 });
    await shoot(page, `${s.base}/indicators`, join(outDir, 'indicators.png'), true);
    // CONSOLE_SHOTS_ALL=1: the other pages too, for review (not kept in docs/).
    if (process.env.CONSOLE_SHOTS_ALL) {
      await shoot(page, `${s.base}/messages?channel=results`, join(outDir, 'messages.png'), true);
      await shoot(page, `${s.base}/channels/results`, join(outDir, 'channel.png'), true);
      await shoot(page, `${s.base}/reports/SIL-LABO/LAB-0101`, join(outDir, 'report.png'), true);
      const admin = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      await logIn(admin, s, 'admin');
      await shoot(admin, `${s.base}/audit`, join(outDir, 'audit.png'), true);
      await shoot(admin, `${s.base}/users`, join(outDir, 'users.png'), true);
      const viewer = await browser.newPage({ viewport: { width: 1360, height: 1500 } });
      await logIn(viewer, s, 'viewer');
      await shoot(viewer, `${s.base}/messages/${messageId}`, join(outDir, 'message-viewer.png'), false);
    }
  } finally {
    await browser.close();
    await s.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`console-screenshots: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);

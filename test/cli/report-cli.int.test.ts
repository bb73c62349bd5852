/** `passerelle report <filler order>` as an operator runs it (compiled CLI, a real SQLite store). */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { ReportBook, splitByReport } from '../../engine/reports';
import { SqliteStore } from '../../engine/store/sqlite';
import type { StoredMessage } from '../../engine/store/types';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { runCli, type CliResult } from '../support/cli';

// Test identity only (INS test OID 1.2.250.1.213.1.4.10).
const PID = 'PID|1||123456^^^CHU-DEMO&1.2.250.1.999.1.2&ISO^PI~248092A20345642^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||TEST-DEMO^PATIENTE^^^^^L||19480920|F';

function oru(id: string, obr25: string, obx: string[]): Message {
  return Message.parse(
    [
      `MSH|^~\\&|SIL-LABO|LABO-DEMO|DPI|CHU-DEMO|20261125101500||ORU^R01^ORU_R01|${id}|P|2.5|||||FRA|UNICODE UTF-8`,
      PID,
      `OBR|1|CMD-1^DPI|LAB-0042^SIL-LABO|24321-2^Bilan^LN|||20261125073000||||||||||||||||||${obr25}`,
      ...obx,
    ].join('\r'),
  );
}

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'psl-report-cli-'));
  const store = new SqliteStore({ path: join(dir, 'store.db') });
  await store.init();
  const book = new ReportBook(store);
  const apply = (m: Message): Promise<unknown> => book.apply(splitByReport(reportFromMessage(m), m.controlId, 'LABO-DEMO').updates[0]!);
  await apply(oru('M1', 'P', ['OBX|1|NM|2345-7^Glucose^LN||0.95|g/L|||||F', 'OBX|2|NM|2160-0^Créatinine^LN|||mg/L|||||I']));
  await apply(oru('M2', 'C', ['OBX|1|NM|2345-7^Glucose^LN||1.01|g/L|||||C']));
  await apply(oru('M3', 'P', ['OBX|1|NM|2345-7^Glucose^LN||0.90|g/L|||||P']));
  await store.reserveReportVersion({ lab: 'SIL-LABO', fillerOrder: 'LAB-0042', version: 1, status: 'active', contentHash: 'h', revision: 2 }, 0);
  await store.markReportVersionWritten('SIL-LABO', 'LAB-0042', 1);
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => cli('report', ...args);

const cli = (...args: string[]): Promise<CliResult> =>
  runCli(args, { env: { ...process.env, PASSERELLE_STORE: `sqlite:${join(dir, 'store.db')}`, PASSERELLE_CHANNELS: join(dir, 'channels'), PASSERELLE_ANS_KIT: ANS_KIT_DIR } });

test('versions, observations with their history, pending tests and parked results', async () => {
  const r = await report('LAB-0042');
  expect(r.code).toBe(0);
  const lines = r.stdout.split('\n');
  expect(lines[0]).toMatch(/^report LAB-0042 of SIL-LABO: revision 2, 3 message\(s\), updated \d{4}-/);
  expect(lines).toContainEqual(expect.stringMatching(/^ {2}v1\tactive\twritten\t/));
  expect(lines).toContain('  2345-7 Glucose\t1.01 g/L\tcorrected\t[before: 0.95 g/L final, ended by correction]');
  expect(lines).toContain('  2160-0 Créatinine\t-\tpending');
  expect(lines).toContain('pending: 2160-0 Créatinine');
  expect(lines).toContain('parked for an operator: 1');
  expect(lines).toContainEqual(expect.stringMatching(/^ {2}2345-7\|\|\tlate-lower-status\tfrom M3\t/));
  expect(r.stdout).not.toContain('TEST-DEMO');
  expect(r.stdout).not.toContain('248092A20345642');
});

test('an unknown report is one line on stderr and exit 1', async () => {
  const r = await report('LAB-9999');
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('no report LAB-9999 in the store\n');
});

test('publish: the next version now, whatever the policy; the same content twice makes none', async () => {
  mkdirSync(join(dir, 'channels'), { recursive: true });
  writeFileSync(
    join(dir, 'channels', 'ltw.yaml'),
    `name: ltw\nsource:\n  type: mllp\n  port: 0\nacceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n` +
      `  - name: documents\n    type: reports\n    directory: ${join(dir, 'out')}\n    lab: channels/labs/laboratoire-demo.yaml\n    publish: on-request\n`,
  );
  const first = await cli('publish', 'LAB-0042');
  expect(first.stderr).toBe('');
  expect(first.stdout).toBe('report LAB-0042: v2 (active)\n');
  expect(existsSync(join(dir, 'out', 'LAB-0042', 'v2', 'pro.n3.xml'))).toBe(true);
  expect(await cli('publish', 'LAB-0042')).toMatchObject({ code: 0, stdout: 'report LAB-0042: no new version (same-content)\n' });
  expect(await cli('publish', 'LAB-0042', '--channel', 'other')).toMatchObject({ code: 1, stderr: `no reports destination in channel other in ${join(dir, 'channels')}\n` });
});

test('release: a parked result dropped from the CLI with a note; `report` shows who decided; a second time is refused', async () => {
  const r = await cli('release', 'LAB-0042', 'M3/2345-7||', '--drop', '--note', 'late preliminary, ignore');
  expect(r).toMatchObject({ code: 0, stdout: 'report LAB-0042: parked M3/2345-7|| dropped\n', stderr: '' });
  const shown = await report('LAB-0042');
  expect(shown.stdout).not.toContain('parked for an operator');
  expect(shown.stdout).toMatch(/^operator: drop-parked by cli(:\S+)? at \d{4}-\S+ \(M3\/2345-7\|\|\): late preliminary, ignore$/m);
  expect(await cli('release', 'LAB-0042', 'M3/2345-7||', '--drop')).toMatchObject({ code: 1, stderr: 'report LAB-0042: no parked item M3/2345-7||\n' });
  expect((await cli('release', 'LAB-0042', 'M3/2345-7||', '--drop', '--accept')).code).toBe(1);
});

test('discard, retry and cancel from the CLI: one line each on success, the refusal on stderr (or stdout for lists of ids)', async () => {
  const store = new SqliteStore({ path: join(dir, 'store.db') });
  await store.init();
  let dead: StoredMessage;
  try {
    const raw = Buffer.from('MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125||ORU^R01|D1|P|2.5\r');
    const r = await store.receive({ channel: 'ltw', controlId: 'D1', sender: 'LAB|SITE', messageType: 'ORU^R01', orderingKey: 'D1', charset: 'utf-8', raw, ack: Buffer.from('MSA|AA'), receivedAt: new Date(), state: 'received' }, 0);
    if (!r.duplicate) await r.stored;
    await store.setState(r.id, 'dead', 'PSL_TRANSFORM_FAILED: test');
    dead = (await store.get(r.id))!;
    await store.putVersionDelivery({ lab: 'SIL-LABO', fillerOrder: 'LAB-0042', version: 1, target: 'pfi', state: 'dead', detail: 'PSL_DEST_NAK_ERROR: AE' });
    await store.putVersionDelivery({ lab: 'SIL-LABO', fillerOrder: 'LAB-0042', version: 1, target: 'dmp', state: 'held', detail: 'identity not qualified' });
  } finally {
    await store.close();
  }
  expect(await cli('discard', dead.id, '--reason', 'sent by mistake')).toMatchObject({ code: 0, stdout: `${dead.id}: discarded\n` });
  expect(await cli('discard', dead.id, '--reason', 'again')).toMatchObject({ code: 1, stdout: `${dead.id}: message ${dead.id} is discarded already; only a dead message is discarded\n` });
  expect((await cli('messages', 'ltw', '--state', 'discarded')).stdout).toMatch(new RegExp(`\t${dead.id}\tdiscarded\tD1\tORU\\^R01\t.*\tdiscarded by cli(:\\S+)? at .*: sent by mistake \\(was: PSL_TRANSFORM_FAILED: test\\)`));
  expect(await cli('retry', 'LAB-0042/v1/pfi')).toMatchObject({ code: 0, stdout: "LAB-0042/v1/pfi: queued again; a running engine sends it within 30 s, in its place in the report's line\n" });
  expect(await cli('cancel', 'LAB-0042/v1/pfi')).toMatchObject({ code: 0, stdout: 'LAB-0042/v1/pfi: cancelled\n' });
  expect(await cli('retry', 'LAB-0042/v1/dmp')).toMatchObject({ code: 1, stderr: 'LAB-0042/v1/dmp: held (identity not qualified); a new version is the way out\n' });
  expect((await cli('deliveries', '--report', 'LAB-0042')).stdout).toMatch(/^LAB-0042\/v1\/pfi\tdead\t.*\tcancelled by cli(:\S+)? at \S+ \(was: queued: retried by cli/m);
});

/**
 * Reports under kill -9 (issue 8): 12 reports × 6 messages, each message a newer value of the
 * report's glucose, through a `reports` destination; the engine and Redis (no persistence) are
 * killed part-way, then restarted. Afterwards every message is applied once, every report has
 * versions 1..6 with no gap or repeat, all written, each on disk, and the last one shows the
 * last value. Versions are strictly increasing per report across the crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MllpClient } from '../../engine/mllp';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { freePort, startRedis } from '../support/redis';
import { delay, waitFor } from '../support/wait';
import { portOpen } from '../../bench/fuzz/engine-process';
import { cliEngineEnv } from '../support/engine-env';

jest.setTimeout(300_000);

const CLI = resolve(__dirname, '../../dist/engine/cli/main.js');
const REPO = resolve(__dirname, '../..');
const REPORTS = 12;
const STEPS = 6;
/** Versions written before the kill (of the 36 the first half of the messages makes). */
const KILL_AFTER_VERSIONS = 8;

const value = (step: number): string => (1 + step / 100).toFixed(2);
// Test identity only (INS test OID 1.2.250.1.213.1.4.10).
const message = (r: number, step: number): string =>
  [
    `MSH|^~\\&|SIL-LABO|LABO-DEMO|DPI|CHU-DEMO|20261125101500||ORU^R01^ORU_R01|R${r}-${step}|P|2.5|||||FRA|UNICODE UTF-8`,
    'PID|1||123456^^^CHU-DEMO&1.2.250.1.999.1.2&ISO^PI~248092A20345642^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||TEST-DEMO^PATIENTE^^^^^L||19480920|F|||||||||||||||||||||VALI',
    `ORC|RE|CMD-${r}^DPI|LAB-${r}^SIL-LABO||CM`,
    `OBR|1|CMD-${r}^DPI|LAB-${r}^SIL-LABO|24321-2^Bilan métabolique^LN|||20261125073000|||||||||10003456789^MEDECIN^Prescripteur^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS||||||20261125101000|||F`,
    `OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||${value(step)}|g/L^g/L^UCUM|0.70-1.10|N|||F|||20261125073000|||||202611251${String(step).padStart(2, '0')}000`,
  ].join('\r') + '\r';


test('kill -9 of the engine and Redis while reports are being published: versions 1..6 per report, each once, the last showing the last value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-reports-crash-'));
  const redisPort = await freePort();
  const mllpPort = await freePort();
  const env = cliEngineEnv(dir, redisPort, { PASSERELLE_ANS_KIT: ANS_KIT_DIR });
  mkdirSync(join(dir, 'channels'));
  writeFileSync(
    join(dir, 'channels', 'ltw.yaml'),
    `name: ltw\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${mllpPort}\nacceptance:\n  messageTypes: [ORU^R01]\n` +
      `destinations:\n  - name: documents\n    type: reports\n    directory: ${join(dir, 'out')}\n    lab: ${join(REPO, 'channels', 'labs', 'laboratoire-demo.yaml')}\n` +
      `    ownFillers: [SIL-LABO]\n    fullValidation: false\n    retry:\n      backoffBaseMs: 200\n      backoffMaxMs: 2000\n`,
  );
  const startEngine = (): ChildProcess => {
    const log = openSync(join(dir, 'engine.log'), 'a');
    return spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', log, log], cwd: REPO });
  };
  const noPersistence = ['--save', '', '--appendonly', 'no'];
  let redis: ChildProcess | undefined = await startRedis(redisPort, noPersistence);
  let engine: ChildProcess | undefined = startEngine();
  try {
    expect(await waitFor(() => portOpen(mllpPort), 60_000, 100)).toBe(true);
    let writtenAtKill = -1;
    let reservedAtKill = -1;
    let restarting: Promise<void> | undefined;
    const crashAndRestart = async (): Promise<void> => {
      engine!.kill('SIGKILL');
      redis!.kill('SIGKILL');
      await Promise.all([new Promise((r) => engine!.once('exit', r)), new Promise((r) => redis!.once('exit', r))]);
      const atKill = new Database(join(dir, 'store.db'), { readonly: true });
      writtenAtKill = (atKill.prepare('SELECT count(*) AS n FROM report_versions WHERE written = 1').get() as { n: number }).n;
      reservedAtKill = (atKill.prepare('SELECT count(*) AS n FROM report_versions WHERE written = 0').get() as { n: number }).n;
      atKill.close();
      redis = await startRedis(redisPort, noPersistence);
      engine = startEngine();
      expect(await waitFor(() => portOpen(mllpPort), 60_000, 100)).toBe(true);
    };
    const sendSteps = async (conn: number, from: number, to: number): Promise<void> => {
      const client = new MllpClient({ host: '127.0.0.1', port: mllpPort, responseTimeoutMs: 5000, reconnect: { baseMs: 50, maxMs: 500 } });
      try {
        for (let step = from; step < to; step++) {
          for (let r = conn; r < REPORTS; r += 2) {
            for (let attempt = 0; ; attempt++) {
              if (attempt > 300) throw new Error(`R${r}-${step}: no AA`);
              try {
                if (/\rMSA\|AA\|/.test((await client.send(Buffer.from(message(r, step)))).toString())) break;
              } catch {
                await (restarting ?? delay(100)); // the same message again (same MSH-10)
              }
            }
          }
        }
      } finally {
        await client.close();
      }
    };
    // Half the messages in; the kill comes once some of their versions are written, not all.
    await Promise.all([sendSteps(0, 0, STEPS / 2), sendSteps(1, 0, STEPS / 2)]);
    const live = new Database(join(dir, 'store.db'), { readonly: true });
    const written = live.prepare('SELECT count(*) AS n FROM report_versions WHERE written = 1');
    expect(await waitFor(() => (written.get() as { n: number }).n >= KILL_AFTER_VERSIONS, 120_000, 20)).toBe(true);
    live.close();
    restarting = crashAndRestart();
    await restarting;
    await Promise.all([sendSteps(0, STEPS / 2, STEPS), sendSteps(1, STEPS / 2, STEPS)]);
    // The kill came while versions were still being published: it tested what it says.
    expect(writtenAtKill).toBeGreaterThanOrEqual(KILL_AFTER_VERSIONS);
    expect(writtenAtKill).toBeLessThan((REPORTS * STEPS) / 2);

    const db = new Database(join(dir, 'store.db'), { readonly: true });
    try {
      const delivered = db.prepare(`SELECT count(*) AS n, sum(d.state = 'dead') AS dead FROM deliveries d WHERE d.destination = 'documents' AND d.state IN ('delivered', 'dead')`);
      const done = await waitFor(() => (delivered.get() as { n: number }).n >= REPORTS * STEPS, 180_000, 250);
      expect(delivered.get()).toEqual({ n: REPORTS * STEPS, dead: 0 });
      expect(done).toBe(true);
      for (let r = 0; r < REPORTS; r++) {
        const versions = db
          .prepare(`SELECT version, status, written FROM report_versions WHERE lab = 'SIL-LABO' AND filler_order = ? ORDER BY version`)
          .all(`LAB-${r}`) as { version: number; status: string; written: number }[];
        expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(versions.every((v) => v.written === 1 && v.status === 'completed')).toBe(true);
        const state = JSON.parse((db.prepare(`SELECT state FROM reports WHERE lab = 'SIL-LABO' AND filler_order = ?`).get(`LAB-${r}`) as { state: string }).state) as { messages: string[] };
        expect(state.messages).toHaveLength(STEPS); // each message applied once
        for (let v = 1; v <= STEPS; v++) expect(existsSync(join(dir, 'out', `LAB-${r}`, `v${v}`, 'pro.n3.xml'))).toBe(true);
        const last = readFileSync(join(dir, 'out', `LAB-${r}`, 'v6', 'pro.n3.xml'), 'utf8');
        expect(last).toContain(`value="${value(STEPS - 1)}"`);
      }
    } finally {
      db.close();
    }
    process.stdout.write(`reports crash test: ${writtenAtKill} of ${REPORTS * STEPS} versions written and ${reservedAtKill} reserved unwritten at the kill, all ${REPORTS * STEPS} after the restart, 1..${STEPS} per report\n`);
  } finally {
    engine?.kill('SIGKILL');
    redis?.kill('SIGKILL');
  }
});

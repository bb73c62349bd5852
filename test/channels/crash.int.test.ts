/**
 * Done-means check: kill -9 of the engine AND of Redis in the middle of a send, then restart
 * both. Three runs:
 *  - Redis keeps nothing (no RDB, no AOF), 10,000 messages, the SQLite store at NORMAL (intake
 *    journal: ACKed rows may be in the journal only at the kill): the message store alone must
 *    make every ACKed message reach its destinations;
 *  - the MLLP destination is down before the kill and back only after the restart (4,000
 *    messages): the file destination must not wait for it, and it catches up once back;
 *  - Redis on AOF everysec, killed together with the engine (4,000 messages): it comes back with
 *    its jobs (minus up to a second of writes) and whatever they say, nothing is lost or doubled.
 * In each: every ACKed message is in the file destination within 60 s of the end of the send
 * (which runs on across the restart), exactly one file per message, order per key kept at the
 * MLLP peer, nothing dead-lettered. MLLP re-deliveries after the crash carry the same MSH-10.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { MllpClient } from '../../engine/mllp';
import { DownstreamReceiver } from '../../bench/downstream-receiver';
import { freePort, startRedis } from '../support/redis';
import { delay, waitFor } from '../support/wait';
import { portOpen } from '../../bench/fuzz/engine-process';
import { cliEngineEnv } from '../support/engine-env';

const CONNECTIONS = 4;
const CLI = resolve(__dirname, '../../dist/engine/cli/main.js');

const message = (conn: number, i: number): string =>
  [
    `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|C${conn}-${i}|P|2.5`,
    `PID|1||${1000 + (i % 25)}^^^HOSP&1.2.250.1.999.1.2&ISO^PI||TEST^CRASH`,
    `ORC|RE|ORD-${conn}-${i % 25}`,
    `OBR|1|ORD-${conn}-${i % 25}||2345-7^Glucose^LN`,
    `OBX|1|NM|2345-7^Glucose^LN||${i}|g/L|||||F`,
  ].join('\r') + '\r';

async function dbSize(port: number): Promise<number> {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  try {
    return await r.dbsize();
  } finally {
    r.disconnect();
  }
}


interface Variant {
  total: number;
  killAt: number;
  /** Close the MLLP peer once this many are ACKed (before the kill); reopen it after the restart. */
  eaiDownAt?: number;
  /** redis-server persistence arguments, given the run's directory. */
  redisArgs: (dir: string) => string[];
  /** PASSERELLE_SQLITE_SYNC (default FULL); NORMAL takes messages in through the intake journal. */
  sqliteSync?: 'FULL' | 'NORMAL';
}

const NO_PERSISTENCE = (): string[] => ['--save', '', '--appendonly', 'no'];
const AOF_EVERYSEC = (dir: string): string[] => ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir];

async function crashRun(v: Variant): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'psl-crash-'));
  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir);
  const redisPort = await freePort();
  const mllpPort = await freePort();
  const receiver = new DownstreamReceiver(await freePort(), true);
  await receiver.up();
  const env = cliEngineEnv(dir, redisPort, { PASSERELLE_SQLITE_SYNC: v.sqliteSync ?? 'FULL' });
  const startEngine = (): ChildProcess => {
    const log = openSync(join(dir, 'engine.log'), 'a');
    return spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', log, log] });
  };
  mkdirSync(join(dir, 'channels'));
  // Store id in the file name: a message stored twice (dedupe lost in the crash) leaves two files.
  // maxAttempts stays at its default (10) through the second run's outage: an outage of the whole
  // destination uses up no message's attempts.
  writeFileSync(
    join(dir, 'channels', 'ltw.yaml'),
    `name: ltw\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${mllpPort}\nacceptance:\n  messageTypes: [ORU^R01]\nordering:\n  key: placer-order\n  partitions: 4\n` +
      `destinations:\n  - name: archive\n    type: file\n    directory: ${join(dir, 'out')}\n    fileName: \${MSH-10}_\${id}.hl7\n` +
      `  - name: eai\n    type: mllp\n    host: 127.0.0.1\n    port: ${receiver.port}\n    responseTimeoutMs: 2000\n    retry:\n      backoffBaseMs: 100\n      backoffMaxMs: 1000\n      retryAmbiguous: true\n`,
  );
  let redis: ChildProcess | undefined = await startRedis(redisPort, v.redisArgs(redisDir));
  let engine: ChildProcess | undefined = startEngine();
  try {
    expect(await waitFor(() => portOpen(mllpPort), 30_000, 100)).toBe(true);
    const acked = new Set<string>();
    let killed = false;
    let keysAfterRestart = -1;
    let restartedAt = 0;
    let restarting: Promise<void> | undefined;

    const crashAndRestart = async (): Promise<void> => {
      engine!.kill('SIGKILL');
      redis!.kill('SIGKILL');
      await Promise.all([new Promise((r) => engine!.once('exit', r)), new Promise((r) => redis!.once('exit', r))]);
      await delay(200);
      redis = await startRedis(redisPort, v.redisArgs(redisDir)); // same persistence: AOF is replayed
      keysAfterRestart = await dbSize(redisPort);
      engine = startEngine();
      expect(await waitFor(() => portOpen(mllpPort), 30_000, 100)).toBe(true);
      restartedAt = Date.now();
    };

    const sendAll = async (conn: number): Promise<void> => {
      const client = new MllpClient({ host: '127.0.0.1', port: mllpPort, responseTimeoutMs: 3000, reconnect: { baseMs: 50, maxMs: 500 } });
      try {
        for (let i = conn; i < v.total; i += CONNECTIONS) {
          const text = message(conn, i);
          const id = `C${conn}-${i}`;
          for (let attempt = 0; ; attempt++) {
            if (attempt > 200) throw new Error(`${id}: no AA after 200 attempts`);
            try {
              const ack = (await client.send(Buffer.from(text))).toString();
              if (/\rMSA\|AA\|/.test(ack) && ack.includes(`|${id}\r`)) {
                acked.add(id);
                break;
              }
            } catch {
              await (restarting ?? delay(100)); // resend the same message (same MSH-10)
            }
          }
          if (v.eaiDownAt !== undefined && acked.size >= v.eaiDownAt && receiver.isUp && !killed) await receiver.down();
          if (!killed && acked.size >= v.killAt) {
            killed = true;
            restarting = crashAndRestart();
          }
        }
      } finally {
        await client.close();
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => sendAll(c)));
    await restarting;
    expect(killed).toBe(true);
    expect(acked.size).toBe(v.total);
    // The run tested what it says: Redis came back empty, or with its jobs from the AOF.
    if (v.redisArgs === AOF_EVERYSEC) expect(keysAfterRestart).toBeGreaterThan(0);
    else expect(keysAfterRestart).toBe(0);

    // The file destination: everything within 60 s, whatever the MLLP peer is doing.
    const outDir = join(dir, 'out');
    const files = (): string[] => readdirSync(outDir).filter((f) => f.endsWith('.hl7') && !f.startsWith('.'));
    const controlIds = (): Set<string> => new Set(files().map((f) => f.slice(0, f.indexOf('_'))));
    const archived = await waitFor(() => controlIds().size === v.total, 60_000, 250);
    expect(controlIds().size).toBe(v.total);
    expect(archived).toBe(true);
    const archiveS = (Date.now() - restartedAt) / 1000;
    if (v.eaiDownAt !== undefined) {
      expect(receiver.distinct).toBeLessThan(v.total); // the archive did not wait for it
      await receiver.up();
    }
    const complete = await waitFor(() => receiver.distinct === v.total, v.eaiDownAt !== undefined ? 120_000 : 60_000, 250);
    expect(receiver.distinct).toBe(v.total);
    expect(complete).toBe(true);

    // Files: exactly one per MSH-10, each exactly the message (re-deliveries rewrote the same file).
    const all = files();
    expect(all.length).toBe(v.total);
    for (const f of all) {
      const id = f.slice(0, f.indexOf('_'));
      const [c, i] = id.slice(1).split('-').map(Number);
      expect(readFileSync(join(outDir, f), 'utf8')).toBe(message(c!, i!));
    }
    // MLLP: every re-delivery carries the same MSH-10 and the same content.
    for (const [id, text] of receiver.texts) {
      const [c, i] = id.slice(1).split('-').map(Number);
      expect(text).toBe(message(c!, i!));
    }
    // Order: per placer order, first deliveries come in send order, across the crash (and the outage).
    const seen = new Set<string>();
    const lastByKey = new Map<string, number>();
    for (const id of receiver.arrivals) {
      if (seen.has(id)) continue;
      seen.add(id);
      const [c, i] = id.slice(1).split('-').map(Number);
      const key = `${c}-${i! % 25}`;
      expect(i!).toBeGreaterThan(lastByKey.get(key) ?? -1);
      lastByKey.set(key, i!);
    }
    // Nothing dead-lettered, everything done (the operator's view).
    const listed = spawnSync(process.execPath, [CLI, 'messages', 'ltw', '--state', 'dead'], { env, encoding: 'utf8' });
    expect(listed.stdout.trim()).toBe(`done=${v.total}`);
    process.stdout.write(
      `crash test (${v.total}): file destination complete ${archiveS.toFixed(1)} s after the restart; ` +
        `${receiver.arrivals.length - v.total} MLLP re-deliveries (same MSH-10) after kill -9\n`,
    );
  } finally {
    engine?.kill('SIGKILL');
    redis?.kill('SIGKILL');
    await receiver.down();
  }
}

describe('kill -9 of the engine and of Redis during a send', () => {
  test('Redis without persistence, store at NORMAL (intake journal), 10,000 messages: every ACKed message is delivered, nothing twice, per-order sequence kept', async () => {
    await crashRun({ total: 10_000, killAt: 4_000, redisArgs: NO_PERSISTENCE, sqliteSync: 'NORMAL' });
  }, 600_000);

  test('MLLP destination down from before the kill to after the restart, 4,000 messages: the file destination completes, the MLLP one catches up', async () => {
    await crashRun({ total: 4_000, killAt: 1_600, eaiDownAt: 1_000, redisArgs: NO_PERSISTENCE });
  }, 600_000);

  test('Redis on AOF everysec killed with the engine, 4,000 messages: nothing lost, nothing twice, order kept', async () => {
    await crashRun({ total: 4_000, killAt: 1_600, redisArgs: AOF_EVERYSEC });
  }, 600_000);
});

/**
 * Done-means check: kill -9 of the engine AND of Redis in the middle of a 10,000-message send,
 * then restart both. Redis keeps nothing (no RDB, no AOF): the message store alone must make
 * every ACKed message reach its destinations, and no effect may happen twice — files are
 * rewritten identically, MLLP re-deliveries carry the same MSH-10.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, openSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { freePort, startRedis } from '../support/redis';
import { delay, waitFor } from '../support/wait';

const TOTAL = 10_000;
const CONNECTIONS = 4;
const KILL_AT = 4_000;
const CLI = resolve(__dirname, '../../dist/engine/cli/main.js');

const message = (conn: number, i: number): string =>
  [
    `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|C${conn}-${i}|P|2.5`,
    `PID|1||${1000 + (i % 25)}^^^HOSP&1.2.250.1.999.1.2&ISO^PI||TEST^CRASH`,
    `ORC|RE|ORD-${conn}-${i % 25}`,
    `OBR|1|ORD-${conn}-${i % 25}||2345-7^Glucose^LN`,
    `OBX|1|NM|2345-7^Glucose^LN||${i}|g/L|||||F`,
  ].join('\r') + '\r';

function portOpen(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
}

describe('kill -9 of the engine and of Redis during a 10,000-message send', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-crash-'));
  let redisPort: number;
  let mllpPort: number;
  let redis: ChildProcess | undefined;
  let engine: ChildProcess | undefined;
  let receiver: MllpServer;
  const delivered: string[] = []; // MSH-10 in arrival order at the downstream MLLP peer
  const deliveredText = new Map<string, string>();

  const startEngine = (): ChildProcess => {
    const log = openSync(join(dir, 'engine.log'), 'a');
    return spawn(process.execPath, [CLI, 'start'], {
      env: {
        ...process.env,
        PASSERELLE_CHANNELS: join(dir, 'channels'),
        PASSERELLE_VAR: join(dir, 'var'),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        PASSERELLE_EMBEDDED_REDIS: '0',
        PASSERELLE_STORE: `sqlite:${join(dir, 'store.db')}`,
        PASSERELLE_WATCH: '0',
        PASSERELLE_RECOVERY_MS: '2000',
        PASSERELLE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', log, log],
    });
  };

  beforeAll(async () => {
    redisPort = await freePort();
    mllpPort = await freePort();
    receiver = new MllpServer({
      host: '127.0.0.1',
      port: 0,
      handler: async (payload) => {
        const text = payload.toString('utf8');
        const id = text.split('\r')[0]!.split('|')[9]!;
        delivered.push(id);
        deliveredText.set(id, text);
        return Buffer.from(`MSH|^~\\&|DOWN|STREAM|PSL|HOSP|20261125120000||ACK^R01^ACK|A${id}|P|2.5\rMSA|AA|${id}\r`);
      },
    });
    const { port: downstream } = await receiver.listen();
    mkdirSync(join(dir, 'channels'));
    writeFileSync(
      join(dir, 'channels', 'ltw.yaml'),
      `name: ltw\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${mllpPort}\nacceptance:\n  messageTypes: [ORU^R01]\nordering:\n  key: placer-order\n  partitions: 4\n` +
        `destinations:\n  - name: archive\n    type: file\n    directory: ${join(dir, 'out')}\n    fileName: \${MSH-10}.hl7\n` +
        `  - name: eai\n    type: mllp\n    host: 127.0.0.1\n    port: ${downstream}\n    responseTimeoutMs: 2000\n    retry:\n      backoffBaseMs: 100\n      backoffMaxMs: 1000\n      retryAmbiguous: true\n`,
    );
    redis = await startRedis(redisPort);
    engine = startEngine();
    expect(await waitFor(() => portOpen(mllpPort), 30_000, 100)).toBe(true);
  });

  afterAll(async () => {
    engine?.kill('SIGKILL');
    redis?.kill('SIGKILL');
    await receiver?.close({ drainDeadlineMs: 100 });
  });

  test('every ACKed message is delivered, nothing twice, per-order sequence kept', async () => {
    const acked = new Set<string>();
    let killed = false;
    let restarting: Promise<void> | undefined;

    const crashAndRestart = async (): Promise<void> => {
      engine!.kill('SIGKILL');
      redis!.kill('SIGKILL');
      await Promise.all([new Promise((r) => engine!.once('exit', r)), new Promise((r) => redis!.once('exit', r))]);
      await delay(200);
      redis = await startRedis(redisPort); // empty: no persistence
      engine = startEngine();
      expect(await waitFor(() => portOpen(mllpPort), 30_000, 100)).toBe(true);
    };

    const sendAll = async (conn: number): Promise<void> => {
      const client = new MllpClient({ host: '127.0.0.1', port: mllpPort, responseTimeoutMs: 3000, reconnect: { baseMs: 50, maxMs: 500 } });
      try {
        for (let i = conn; i < TOTAL; i += CONNECTIONS) {
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
          if (!killed && acked.size >= KILL_AT) {
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
    expect(acked.size).toBe(TOTAL);

    const outDir = join(dir, 'out');
    const files = (): string[] => readdirSync(outDir).filter((f) => f.endsWith('.hl7') && !f.startsWith('.'));
    const complete = await waitFor(() => files().length === TOTAL && new Set(delivered).size === TOTAL, 240_000, 500);
    expect({ files: files().length, mllp: new Set(delivered).size }).toEqual({ files: TOTAL, mllp: TOTAL });
    expect(complete).toBe(true);

    // Files: one per MSH-10, each exactly the message (re-deliveries rewrote the same bytes).
    for (const id of acked) {
      const [c, i] = id.slice(1).split('-').map(Number);
      expect(readFileSync(join(outDir, `${id}.hl7`), 'utf8')).toBe(message(c!, i!));
    }
    // MLLP: every re-delivery carries the same MSH-10 and the same content.
    for (const [id, text] of deliveredText) {
      const [c, i] = id.slice(1).split('-').map(Number);
      expect(text).toBe(message(c!, i!));
    }
    // Order: per placer order, first deliveries come in send order, across the crash.
    const seen = new Set<string>();
    const lastByKey = new Map<string, number>();
    for (const id of delivered) {
      if (seen.has(id)) continue;
      seen.add(id);
      const [c, i] = id.slice(1).split('-').map(Number);
      const key = `${c}-${i! % 25}`;
      expect(i!).toBeGreaterThan(lastByKey.get(key) ?? -1);
      lastByKey.set(key, i!);
    }
    process.stdout.write(`crash test: ${delivered.length - TOTAL} MLLP re-deliveries (same MSH-10) after kill -9\n`);
  }, 600_000);
});

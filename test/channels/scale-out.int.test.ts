/**
 * Scale-out: one listener process and two worker processes share one Redis and one PostgreSQL
 * store. 1,000 messages over 50 placer orders; the downstream peer answers AR (retry later) at
 * random to 10% of first attempts. Every order's results must reach the peer in arrival order,
 * and both worker processes must have delivered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { deletePrefix, freePort } from '../support/redis';
import { testPgUrl } from '../support/pg';
import { waitFor } from '../support/wait';
import { prng } from '../support/random';

const TOTAL = 1000;
const KEYS = 50;
const SENDERS = 5;
const CLI = resolve(__dirname, '../../dist/engine/cli/main.js');


const portOpen = (port: number): Promise<boolean> =>
  new Promise((r) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });

test('two worker processes keep per-order sequence and share the work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-scale-'));
  const prefix = `pslt-${randomUUID().slice(0, 8)}`;
  const schema = `psl_test_${randomUUID().slice(0, 8)}`;
  const pgUrl = await testPgUrl();
  const random = prng(42);
  const accepted: { id: string; conn: string }[] = [];
  const attempts = new Map<string, number>();
  const receiver = new MllpServer({
    host: '127.0.0.1',
    port: 0,
    handler: async (payload, conn) => {
      const id = payload.toString('utf8').split('\r')[0]!.split('|')[9]!;
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      const code = n === 1 && random() < 0.1 ? 'AR' : 'AA';
      if (code === 'AA') accepted.push({ id, conn: conn.id });
      return Buffer.from(`MSH|^~\\&|DOWN|X|PSL|H|20261125||ACK^R01^ACK|K|P|2.5\rMSA|${code}|${id}\r`);
    },
  });
  const downstream = (await receiver.listen()).port;
  const listenPort = await freePort();
  mkdirSync(join(dir, 'channels'));
  writeFileSync(
    join(dir, 'channels', 'ltw.yaml'),
    `name: ltw\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${listenPort}\nacceptance:\n  messageTypes: [ORU^R01]\nordering:\n  partitions: 8\n` +
      `destinations:\n  - name: eai\n    type: mllp\n    host: 127.0.0.1\n    port: ${downstream}\n    retry:\n      backoffBaseMs: 20\n      backoffMaxMs: 200\n`,
  );
  const procs: ChildProcess[] = [];
  const start = (role: string): ChildProcess => {
    const log = openSync(join(dir, `${role}-${procs.length}.log`), 'a');
    const p = spawn(process.execPath, [CLI, 'start', '--role', role], {
      env: {
        ...process.env,
        PASSERELLE_CHANNELS: join(dir, 'channels'),
        PASSERELLE_VAR: join(dir, 'var'),
        PASSERELLE_EMBEDDED_REDIS: '0',
        PASSERELLE_PREFIX: prefix,
        PASSERELLE_STORE: `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`,
        PASSERELLE_WATCH: '0',
        PASSERELLE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', log, log],
    });
    procs.push(p);
    return p;
  };
  try {
    start('worker');
    start('worker');
    start('listener');
    expect(await waitFor(() => portOpen(listenPort), 30_000, 100)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500)); // both workers registered and holding partitions

    await Promise.all(
      Array.from({ length: SENDERS }, async (_, s) => {
        const c = new MllpClient({ host: '127.0.0.1', port: listenPort });
        try {
          for (let i = 0; i < TOTAL; i++) {
            const key = i % KEYS;
            if (key % SENDERS !== s) continue; // one sender per order: arrival order = send order
            const text = `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|M${i}|P|2.5\rPID|1||${key}^^^HOSP^PI\rORC|RE|ORD${key}\rOBR|1|ORD${key}\rOBX|1|NM|2345-7^Glucose^LN||${i}|g/L|||||F\r`;
            expect((await c.send(Buffer.from(text))).toString()).toContain(`MSA|AA|M${i}`);
          }
        } finally {
          await c.close();
        }
      }),
    );
    expect(await waitFor(() => new Set(accepted.map((a) => a.id)).size === TOTAL, 120_000, 200)).toBe(true);

    // Per order: accepted deliveries in send order, each message once.
    const byKey = new Map<number, number[]>();
    for (const { id } of accepted) {
      const i = Number(id.slice(1));
      byKey.set(i % KEYS, [...(byKey.get(i % KEYS) ?? []), i]);
    }
    for (const [key, seq] of byKey) {
      expect({ key, seq }).toEqual({ key, seq: [...seq].sort((a, b) => a - b) });
      expect(new Set(seq).size).toBe(seq.length);
    }
    expect([...attempts.values()].filter((n) => n > 1).length).toBeGreaterThan(20); // retries happened
    // Each worker process holds its own connection to the peer: both delivered.
    const perConnection = new Map<string, number>();
    for (const a of accepted) perConnection.set(a.conn, (perConnection.get(a.conn) ?? 0) + 1);
    expect(perConnection.size).toBeGreaterThanOrEqual(2);
    for (const n of perConnection.values()) expect(n).toBeGreaterThan(TOTAL / 10);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await receiver.close({ drainDeadlineMs: 100 });
    await deletePrefix(prefix);
    const pg = new Client({ connectionString: pgUrl });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pg.end();
  }
}, 240_000);

/**
 * SIGTERM with documents waiting to render: the engine process drains within its deadline
 * whatever is queued, logs "engine stopped" and exits 0; work in flight at the deadline goes
 * back to its queue (nothing is dead-lettered) and is finished after a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { MllpClient } from '../../engine/mllp';
import { ANS_KIT_DIR, TEST_CACHE_DIR } from '../support/ans-kit';
import { LAB_PROFILE_FILE } from '../support/lab-profile';
import { deletePrefix, freePort } from '../support/redis';
import { waitFor } from '../support/wait';

const CLI = resolve(__dirname, '../../dist/engine/cli/main.js');
const SAMPLE = readFileSync(resolve(__dirname, '../../samples/oru-r01_biochemistry.hl7'), 'utf8');
const COUNT = 40;

const portOpen = (port: number): Promise<boolean> =>
  new Promise((r) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });

describe('SIGTERM while documents wait to render', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-drain-'));
  const prefix = `pslt-${randomUUID().slice(0, 8)}`;
  let port = 0;
  let engine: ChildProcess | undefined;

  const start = (): ChildProcess =>
    spawn(process.execPath, [CLI, 'start'], {
      env: {
        ...process.env,
        PASSERELLE_CHANNELS: join(dir, 'channels'),
        PASSERELLE_VAR: join(dir, 'var'),
        REDIS_URL: 'redis://127.0.0.1:6379',
        PASSERELLE_EMBEDDED_REDIS: '0',
        PASSERELLE_PREFIX: prefix,
        PASSERELLE_STORE: `sqlite:${join(dir, 'store.db')}`,
        PASSERELLE_WATCH: '0',
        PASSERELLE_ANS_KIT: ANS_KIT_DIR,
        PASSERELLE_CACHE_DIR: TEST_CACHE_DIR,
        PASSERELLE_LOG_FILE: join(dir, 'engine.log'),
      },
      stdio: ['ignore', openSync(join(dir, 'stdio.log'), 'a'), openSync(join(dir, 'stdio.log'), 'a')],
    });

  const exited = (p: ChildProcess): Promise<{ code: number | null; signal: string | null }> =>
    new Promise((r) => p.once('exit', (code, signal) => r({ code, signal })));

  const logLines = (): Array<{ message: string; [k: string]: unknown }> =>
    existsSync(join(dir, 'engine.log'))
      ? readFileSync(join(dir, 'engine.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { message: string })
      : [];

  beforeAll(async () => {
    port = await freePort();
    mkdirSync(join(dir, 'channels'));
    writeFileSync(
      join(dir, 'channels', 'results.yaml'),
      `name: results\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${port}\nacceptance:\n  messageTypes: [ORU^R01]\n` +
        `destinations:\n  - name: crbio\n    type: crbio\n    directory: ${join(dir, 'crbio')}\n    profiles: [pro, patient]\n    lab: ${LAB_PROFILE_FILE}\n` +
        `  - name: archive\n    type: file\n    directory: ${join(dir, 'archive')}\n`,
    );
  });

  afterAll(async () => {
    engine?.kill('SIGKILL');
    await deletePrefix(prefix);
  });

  test('the engine exits 0 with "engine stopped" inside the deadline; nothing is dead-lettered; the rest is done after a restart', async () => {
    engine = start();
    expect(await waitFor(() => portOpen(port), 60_000, 100)).toBe(true);
    const client = new MllpClient({ host: '127.0.0.1', port });
    for (let i = 0; i < COUNT; i++) {
      const id = `DRAIN-${i}`;
      const ack = (await client.send(Buffer.from(SAMPLE.replace('SMP-ORU-BIO-0001', id).replace(/CMD-2001/g, `CMD-2001-${i % 8}`), 'utf8'))).toString();
      expect(ack).toContain(`MSA|AA|${id}`);
    }
    await client.close();
    // Rendering has started and plenty is still waiting.
    const sets = (): number => (existsSync(join(dir, 'crbio')) ? readdirSync(join(dir, 'crbio')).filter((f) => f.startsWith('DRAIN-')).length : 0);
    expect(await waitFor(() => sets() >= 1, 60_000, 50)).toBe(true);
    expect(sets()).toBeLessThan(COUNT);

    const exit = exited(engine);
    engine.kill('SIGTERM');
    const { code } = await exit;
    engine = undefined;
    // Exit 1 would be the hard timer (deadline + 5 s) or a failed stop.
    expect(code).toBe(0);
    expect(logLines().some((l) => l.message === 'engine stopped')).toBe(true);

    const db = new Database(join(dir, 'store.db'), { readonly: true });
    const states = db.prepare("SELECT state, COUNT(*) AS n FROM messages WHERE channel = 'results' GROUP BY state").all() as Array<{ state: string; n: number }>;
    db.close();
    expect(states.find((s) => s.state === 'dead')).toBeUndefined();
    expect(states.reduce((n, s) => n + s.n, 0)).toBe(COUNT);

    // Restarted, the engine finishes what the drain left.
    engine = start();
    expect(await waitFor(() => sets() === COUNT, 240_000, 200)).toBe(true);
    const stop = exited(engine);
    engine.kill('SIGTERM');
    expect((await stop).code).toBe(0);
    engine = undefined;
  }, 400_000);
});

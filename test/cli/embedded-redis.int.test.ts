/**
 * The embedded default: with nothing answering at REDIS_URL, `passerelle start` runs its own
 * redis-server there (data and append-only file under var/redis) and stops it on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MllpClient } from '../../engine/mllp';
import { redisAnswers } from '../../engine/runtime/redis';
import { freePort } from '../support/redis';
import { waitFor } from '../support/wait';

test('starts a private redis-server when none answers, and stops it with the engine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-embedded-'));
  const redisPort = await freePort();
  const mllpPort = await freePort();
  mkdirSync(join(dir, 'channels'));
  writeFileSync(
    join(dir, 'channels', 'ltw.yaml'),
    `name: ltw\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${mllpPort}\nacceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: ${join(dir, 'out')}\n`,
  );
  const engine = spawn(process.execPath, [resolve(__dirname, '../../dist/engine/cli/main.js'), 'start'], {
    cwd: dir,
    env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, PASSERELLE_CHANNELS: 'channels', PASSERELLE_VAR: 'var', PASSERELLE_STORE: 'sqlite:var/store/m.db', PASSERELLE_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((r) => engine.once('exit', (code) => r(code)));
  try {
    const c = new MllpClient({ host: '127.0.0.1', port: mllpPort, connectTimeoutMs: 500 });
    const up = await waitFor(async () => {
      try {
        return (await c.send(Buffer.from('MSH|^~\\&|A|B|C|D|20261125||ORU^R01|E1|P|2.5\rPID|1||1^^^H^PI\r'))).toString().includes('MSA|AA|E1');
      } catch {
        return false;
      }
    }, 20_000, 200);
    await c.close();
    expect(up).toBe(true);
    expect(await redisAnswers({ host: '127.0.0.1', port: redisPort })).toBe(true);
    expect(await waitFor(() => existsSync(join(dir, 'out', 'E1.hl7')), 10_000)).toBe(true);
    expect(readdirSync(join(dir, 'var', 'redis')).some((f) => f.startsWith('appendonly'))).toBe(true);
  } finally {
    engine.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(await waitFor(async () => !(await redisAnswers({ host: '127.0.0.1', port: redisPort }, 300)), 5000)).toBe(true);
}, 60_000);

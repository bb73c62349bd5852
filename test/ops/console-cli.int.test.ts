/**
 * `passerelle start` (the compiled CLI, as `npm test` builds it) opens the console once the
 * engine runs: first admin's password in its file (the log names the file only), pages and
 * their stylesheet served, and SIGTERM closes the console before the engine stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initialPasswordFile } from '../../engine/ops/auth/first-admin';
import { deletePrefix, freePort, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';
import { Client } from './console-harness';

const CLI = resolve(__dirname, '../../dist/engine/cli/main.js');

test('the console of `passerelle start`: first login, a page, its stylesheet, a clean stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-console-cli-'));
  const [httpPort, mllpPort] = [await freePort(), await freePort()];
  const prefix = freshPrefix();
  mkdirSync(join(dir, 'channels'));
  writeFileSync(join(dir, 'channels', 'ltw.yaml'), `name: ltw\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${mllpPort}\nacceptance:\n  messageTypes: [ORU^R01]\n`);
  const logFile = join(dir, 'engine.log');
  const engine: ChildProcess = spawn(process.execPath, [CLI, 'start'], {
    env: {
      ...process.env,
      PASSERELLE_CHANNELS: join(dir, 'channels'),
      PASSERELLE_VAR: join(dir, 'var'),
      PASSERELLE_EMBEDDED_REDIS: '0',
      PASSERELLE_PREFIX: prefix,
      PASSERELLE_STORE: `sqlite:${join(dir, 'store.db')}`,
      PASSERELLE_WATCH: '0',
      PASSERELLE_LOG_FILE: logFile,
      PASSERELLE_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    },
    stdio: ['ignore', openSync(join(dir, 'stdio.log'), 'a'), openSync(join(dir, 'stdio.log'), 'a')],
  });
  const exited = new Promise<number | null>((r) => engine.once('exit', (code) => r(code)));
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    const up = await waitFor(async () => (await fetch(`${base}/api/health/live`).catch(() => undefined))?.status === 200, 30_000, 200);
    expect(up).toBe(true);
    const file = initialPasswordFile(join(dir, 'var'));
    const password = readFileSync(file, 'utf8').trim();
    const log = readFileSync(logFile, 'utf8');
    const line = log.split('\n').find((l) => l.includes('console: first user'));
    expect(JSON.parse(line!)).toMatchObject({ level: 'info', file });
    expect(log).not.toContain(password);
    expect(JSON.parse(log.split('\n').find((l) => l.includes('console listening'))!)).toMatchObject({ port: httpPort });

    const c = new Client(base);
    expect((await c.get('/')).headers.get('location')).toBe('/login?next=%2F');
    expect((await c.login('admin', password)).status).toBe(200);
    expect((await c.post('/api/password', { current: password, password: 'a-new-admin-password' })).status).toBe(200);
    expect(existsSync(file)).toBe(false);
    const overview = await c.get('/');
    expect(overview.status).toBe(200);
    expect(overview.text).toContain('ltw');
    const css = await c.get('/static/console.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await c.get('/static/%2e%2e/console.ts')).status).toBe(404);
    expect((await c.get('/static/%2e%2e%2f%2e%2e%2fpackage.json')).status).toBe(404);
    expect((await c.get('/api/channels')).json<{ channels: { name: string; state: string }[] }>().channels).toEqual([
      expect.objectContaining({ name: 'ltw', state: 'running' }),
    ]);
  } finally {
    engine.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(await fetch(`${base}/api/health/live`).then(() => 'answered', () => 'closed')).toBe('closed');
  await deletePrefix(prefix);
});

/**
 * Failures around the channels must not end the process: a kit folder that is not a kit at
 * reload, an error on a listening socket (EMFILE on accept); and connections turned away over
 * the limit are logged (rate-limited, with a count), never silently.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { MllpClient } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { capturingLogger as captureLogger } from '../support/log-capture';
import { LAB_PROFILE_FILE } from '../support/lab-profile';
import { waitFor } from '../support/wait';

const oru = (id: string): Buffer =>
  Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5\rPID|1||7^^^HOSP^PI||TEST^FAULT\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`);
const fileChannel = (name: string, extra = ''): string =>
  channelYaml(name, `${extra}acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: \${DIR}/out-${name}\n`);

const engines: TestEngine[] = [];
const clients: MllpClient[] = [];
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const te of engines) await te.stop();
});

test('a kit folder that is not a kit, met at reload, is logged; the channel takes messages in, later reloads and stop() work', async () => {
  const notAKit = mkdtempSync(join(tmpdir(), 'psl-notakit-'));
  writeFileSync(join(notAKit, 'README.txt'), 'not an ANS kit');
  const cap = captureLogger();
  const te = await startTestEngine({ 'plain.yaml': fileChannel('plain') }, { ansKitDir: notAKit, logger: cap.logger });
  engines.push(te);
  const crbio = channelYaml(
    'docs',
    `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: crbio\n    type: crbio\n    directory: \${DIR}/crbio\n    lab: ${LAB_PROFILE_FILE}\n`,
  );
  writeFileSync(join(te.dir, 'channels', 'docs.yaml'), crbio.replace(/\$\{DIR\}/g, te.dir));
  await expect(te.engine.reload()).resolves.toBeUndefined();
  expect(cap.records.some((r) => r.level === 'warn' && r.message.startsWith('ANS kit unusable') && r.code === 'PSL_VALIDATION_KIT_MISSING')).toBe(true);
  const c = new MllpClient({ host: '127.0.0.1', port: te.port('docs') });
  clients.push(c);
  expect((await c.send(oru('K1'))).toString()).toContain('MSA|AA|K1');

  // The next reload still applies changes.
  writeFileSync(join(te.dir, 'channels', 'second.yaml'), fileChannel('second').replace(/\$\{DIR\}/g, te.dir));
  await expect(te.engine.reload()).resolves.toBeUndefined();
  expect(te.engine.channel('second')).toBeDefined();
  await c.close();
  await expect(te.engine.stop()).resolves.toBeUndefined();
  engines.pop();
  expect(cap.records.some((r) => r.message === 'engine stopped')).toBe(true);
});

test('an error on the listening socket (EMFILE on accept) is logged and the channel keeps answering', async () => {
  const cap = captureLogger();
  const te = await startTestEngine({ 'a.yaml': fileChannel('a') }, { logger: cap.logger });
  engines.push(te);
  const server = (te.engine.channel('a') as unknown as { server: EventEmitter }).server;
  const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' });
  expect(() => server.emit('error', emfile)).not.toThrow();
  expect(cap.records.find((r) => r.message.startsWith('listener error'))).toMatchObject({ level: 'error', channel: 'a', code: 'PSL_LISTENER_ERROR', reason: 'EMFILE' });
  const c = new MllpClient({ host: '127.0.0.1', port: te.port('a') });
  clients.push(c);
  expect((await c.send(oru('E1'))).toString()).toContain('MSA|AA|E1');
});

test('connections over maxConnections are logged, a few lines with counts, not one line each', async () => {
  const cap = captureLogger();
  const te = await startTestEngine({ 'lim.yaml': fileChannel('lim', '  maxConnections: 2\n') }, { logger: cap.logger });
  engines.push(te);
  const port = te.port('lim');
  const open = async (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  const kept = [await open(), await open()];
  expect(await waitFor(() => te.engine.channel('lim')!.connectionCount() === 2, 5000)).toBe(true);
  const extra: net.Socket[] = [];
  for (let i = 0; i < 12; i++) {
    const s = await open();
    s.on('error', () => undefined);
    extra.push(s);
  }
  // Every extra connection is closed by the engine.
  expect(await waitFor(() => extra.every((s) => s.destroyed || s.readableEnded), 5000)).toBe(true);
  for (const s of [...kept, ...extra]) s.destroy();
  await te.stop();
  engines.pop();
  const lines = cap.records.filter((r) => r.message === 'connections refused');
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(lines.length).toBeLessThanOrEqual(3);
  expect(lines.every((r) => r.level === 'warn' && r.channel === 'lim' && r.reason === 'maxConnections' && r.code === 'PSL_CONNECTION_REFUSED')).toBe(true);
  expect(lines.reduce((n, r) => n + Number(r.count), 0)).toBe(12);
});

/**
 * Channels driven from the console's API on a real engine: pause holds messages (still ACKed)
 * and resume releases them; a stop holds across reloads until a start; each change audited;
 * /api/channels and /api/queues say what is going on.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MllpClient } from '../../engine/mllp';
import { channelYaml } from '../support/engine-harness';
import { waitFor, delay } from '../support/wait';
import { Client, adminClient, startTestConsole, userClient, type TestConsole } from './console-harness';

const oru = (id: string): string =>
  `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5\rPID|1||7^^^HOSP^PI||TEST^PAUSE\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`;

let tc: TestConsole;
let admin: Client;
const clients: MllpClient[] = [];

beforeAll(async () => {
  tc = await startTestConsole({
    'held.yaml': channelYaml('held', 'acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: ${DIR}/held-out\n'),
  });
  admin = await adminClient(tc);
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await tc?.stop();
});

const sender = (): MllpClient => {
  const c = new MllpClient({ host: '127.0.0.1', port: tc.te.port('held') });
  clients.push(c);
  return c;
};
// Files written (the destination writes a hidden temporary name first, then renames it).
const written = (): string[] => (existsSync(join(tc.te.dir, 'held-out')) ? readdirSync(join(tc.te.dir, 'held-out')).filter((f) => !f.startsWith('.')).sort() : []);
const stateOf = async (controlId: string): Promise<string | undefined> =>
  (await tc.te.engine.messageStore.list('held', undefined, 100)).find((m) => m.controlId === controlId)?.state;
type ChannelView = { name: string; state: string; stoppedBy?: string; configVersion: string; source: { port?: number; connections: number }; destinations: { name: string; failing: boolean }[] };
const channel = async (): Promise<ChannelView> => (await admin.get('/api/channels')).json<{ channels: ChannelView[] }>().channels.find((c) => c.name === 'held')!;

test('pause holds the queues while the listener keeps ACKing; resume releases the messages', async () => {
  const c = sender();
  expect((await c.send(Buffer.from(oru('P0')))).toString()).toContain('MSA|AA|P0');
  expect(await waitFor(() => written().includes('P0.hl7'), 10_000)).toBe(true);

  const paused = await admin.post('/api/channels/held/pause');
  expect(paused.status).toBe(200);
  expect(paused.json<{ channel: ChannelView }>().channel.state).toBe('paused');
  for (const id of ['P1', 'P2', 'P3']) expect((await c.send(Buffer.from(oru(id)))).toString()).toContain(`MSA|AA|${id}`);
  const view = await channel();
  expect(view).toMatchObject({ state: 'paused', source: { connections: 1 } });

  // Held: stored, not processed, nothing written, jobs waiting in Redis.
  await delay(1500);
  expect(await Promise.all(['P1', 'P2', 'P3'].map(stateOf))).toEqual(['received', 'received', 'received']);
  expect(written()).toEqual(['P0.hl7']);
  const queues = (await admin.get('/api/queues')).json<{ channels: { name: string; state: string; inbound: { counts: Record<string, number>; oldestAgeSeconds: number; jobs: { waiting: number } } }[] }>();
  const held = queues.channels.find((q) => q.name === 'held')!;
  expect(held.state).toBe('paused');
  expect(held.inbound.counts.received).toBe(3);
  expect(held.inbound.oldestAgeSeconds).toBeGreaterThan(1);
  expect(held.inbound.jobs.waiting).toBeGreaterThanOrEqual(1);

  expect((await admin.post('/api/channels/held/resume')).json<{ channel: ChannelView }>().channel.state).toBe('running');
  expect(await waitFor(() => written().length === 4, 10_000)).toBe(true);
  expect(written()).toEqual(['P0.hl7', 'P1.hl7', 'P2.hl7', 'P3.hl7']);
  // The file is written just before the delivery is recorded.
  expect(await waitFor(async () => (await Promise.all(['P1', 'P2', 'P3'].map(stateOf))).every((st) => st === 'done'), 10_000)).toBe(true);
});

test('a pause survives a reload that restarts the channel', async () => {
  await admin.post('/api/channels/held/pause');
  // The file changed: the channel restarts with the new configuration, still paused.
  const { appendFileSync } = await import('node:fs');
  appendFileSync(join(tc.te.config.channelsDir, 'held.yaml'), '# touched\n');
  const before = (await channel()).configVersion;
  await tc.te.engine.reload();
  const after = await channel();
  expect(after.configVersion).not.toBe(before);
  expect(after.state).toBe('paused');
  const c = sender();
  expect((await c.send(Buffer.from(oru('R1')))).toString()).toContain('MSA|AA|R1');
  await delay(1000);
  expect(await stateOf('R1')).toBe('received');
  await admin.post('/api/channels/held/resume');
  expect(await waitFor(() => written().includes('R1.hl7'), 10_000)).toBe(true);
});

test('a stopped channel stays stopped across reloads until an operator starts it', async () => {
  const port = tc.te.port('held');
  const stopped = await admin.post('/api/channels/held/stop');
  expect(stopped.json<{ channel: ChannelView }>().channel).toMatchObject({ state: 'stopped', stoppedBy: 'operator' });
  const probe = new MllpClient({ host: '127.0.0.1', port, connectTimeoutMs: 500, responseTimeoutMs: 500, reconnect: { baseMs: 50, maxMs: 50 } });
  clients.push(probe);
  await expect(probe.send(Buffer.from(oru('S0')))).rejects.toThrow();

  await tc.te.engine.reload();
  expect(await channel()).toMatchObject({ state: 'stopped', stoppedBy: 'operator' });
  // Pausing (like reprocessing) needs the channel running here.
  expect((await admin.post('/api/channels/held/pause')).json().code).toBe('PSL_CHANNEL_NOT_RUNNING');

  const started = await admin.post('/api/channels/held/start');
  expect(started.status).toBe(200);
  expect(started.json<{ channel: ChannelView }>().channel.state).toBe('running');
  const c = sender();
  expect((await c.send(Buffer.from(oru('S1')))).toString()).toContain('MSA|AA|S1');
  expect(await waitFor(() => written().includes('S1.hl7'), 10_000)).toBe(true);
});

test('unknown channels are 404; a viewer cannot control channels; every attempt is audited', async () => {
  const unknown = await admin.post('/api/channels/nope/stop');
  expect(unknown.status).toBe(404);
  expect(unknown.json().code).toBe('PSL_CHANNEL_UNKNOWN');
  const viewer = await userClient(tc, admin, 'viv', 'viewer');
  expect((await viewer.post('/api/channels/held/pause')).status).toBe(403);
  expect((await channel()).state).toBe('running');
  expect((await viewer.get('/api/channels')).status).toBe(200);

  const rows = (await admin.get('/api/audit?action=channel.')).json<{ entries: { action: string; target: string; detail: string; userName: string }[] }>().entries;
  const trail = rows.reverse().map((r) => `${r.action} ${r.target} ${r.detail}`);
  expect(trail).toEqual([
    'channel.pause held ok',
    'channel.resume held ok',
    'channel.pause held ok',
    'channel.resume held ok',
    'channel.stop held ok',
    'channel.pause held refused: PSL_CHANNEL_NOT_RUNNING',
    'channel.start held ok',
    'channel.stop nope refused: PSL_CHANNEL_UNKNOWN',
  ]);
  expect(rows.every((r) => r.userName === 'admin')).toBe(true);
});

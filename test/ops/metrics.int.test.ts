/**
 * /metrics, /api/queues and readiness for a channel with one destination down (an MLLP port
 * nobody listens on) and one refusing every message (AE): the scrape, read by a Prometheus
 * text-format parser, shows the depth, the oldest age and the dead deliveries per destination.
 */
import { Message } from '../../engine/hl7';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { Console } from '../../engine/ops/console';
import { consoleConfigFromEnv } from '../../engine/ops/config';
import { silentLogger } from '../../engine/runtime/logger';
import { channelYaml } from '../support/engine-harness';
import { freePort } from '../support/redis';
import { waitFor } from '../support/wait';
import { Client, adminClient, startTestConsole, type TestConsole } from './console-harness';

interface Family {
  name: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}
// The package ships no types; its one export is the parser.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => Family[];

const oru = (id: string): string =>
  `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5\rPID|1||${id}^^^HOSP^PI||TEST^METRICS\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`;

let tc: TestConsole;
let admin: Client;
let refuser: MllpServer;
let sender: MllpClient;
let viewerToken: string;

beforeAll(async () => {
  refuser = new MllpServer({
    host: '127.0.0.1',
    port: 0,
    handler: async (frame) => {
      const m = Message.parse(frame.toString('utf8'));
      return Buffer.from(`MSH|^~\\&|DOWN|X|||20261125||ACK^R01^ACK|K|P|2.5\rMSA|AE|${m.controlId}\rERR||||E|||||refused by test\r`);
    },
  });
  const { port: refusing } = await refuser.listen();
  const closed = await freePort();
  const retry = '    retry:\n      maxAttempts: 3\n      backoffBaseMs: 50\n      backoffMaxMs: 200\n';
  tc = await startTestConsole({
    'lab.yaml': channelYaml(
      'lab',
      'acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n' +
        `  - name: down\n    type: mllp\n    host: 127.0.0.1\n    port: ${closed}\n    connectTimeoutMs: 300\n${retry}` +
        `  - name: nak\n    type: mllp\n    host: 127.0.0.1\n    port: ${refusing}\n${retry}`,
    ),
  });
  admin = await adminClient(tc);
  await admin.post('/api/users', { name: 'prometheus', role: 'viewer', password: 'prometheus-pass-1' });
  viewerToken = (await admin.post('/api/tokens', { user: 'prometheus', label: 'scrape' })).json<{ token: string }>().token;
  sender = new MllpClient({ host: '127.0.0.1', port: tc.te.port('lab') });
  for (const id of ['M1', 'M2', 'M3']) expect((await sender.send(Buffer.from(oru(id)))).toString()).toContain(`MSA|AA|${id}`);
  // Every message refused by `nak` (dead there), all three waiting for `down`, whose breaker is open.
  const settled = await waitFor(async () => {
    const s = await tc.te.engine.messageStore.channelStats('lab', ['down', 'nak']);
    const d = (n: string) => s.destinations.find((x) => x.destination === n);
    const failing = tc.te.engine.channelStatuses()[0]!.destinations.find((x) => x.name === 'down')!.failing;
    return d('nak')?.dead === 3 && d('down')?.open === 3 && failing;
  }, 20_000);
  expect(settled).toBe(true);
});

afterAll(async () => {
  await sender?.close();
  await tc?.stop();
  await refuser?.close({ drainDeadlineMs: 100 });
});

const sample = (families: Family[], name: string, labels: Record<string, string>): number | undefined => {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m === undefined ? undefined : Number(m.value);
};

test('/metrics: queue depth, oldest age and dead deliveries per destination, message states, process metrics', async () => {
  const res = await new Client(tc.url, undefined, viewerToken).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const families = parsePrometheus(res.text);
  const lab = { channel: 'lab' };
  expect(sample(families, 'passerelle_destination_queue_depth', { ...lab, destination: 'down' })).toBe(3);
  expect(sample(families, 'passerelle_destination_queue_depth', { ...lab, destination: 'nak' })).toBe(0);
  expect(sample(families, 'passerelle_destination_dead', { ...lab, destination: 'nak' })).toBe(3);
  expect(sample(families, 'passerelle_destination_dead', { ...lab, destination: 'down' })).toBe(0);
  expect(sample(families, 'passerelle_destination_failing', { ...lab, destination: 'down' })).toBe(1);
  expect(sample(families, 'passerelle_destination_oldest_open_age_seconds', { ...lab, destination: 'down' })).toBeGreaterThan(0);
  expect(sample(families, 'passerelle_messages', { ...lab, state: 'dead' })).toBe(3);
  expect(sample(families, 'passerelle_messages_received_recent', { ...lab, window: '5m' })).toBe(3);
  expect(sample(families, 'passerelle_channel_state', { ...lab, state: 'running' })).toBe(1);
  expect(sample(families, 'passerelle_queue_jobs', { ...lab, stage: 'dest.down', state: 'active' })).toBeGreaterThanOrEqual(0);
  expect(families.find((f) => f.name === 'passerelle_destination_queue_depth')?.type).toBe('GAUGE');
  expect(sample(families, 'passerelle_metrics_store_errors', {})).toBe(0);
  expect(families.some((f) => f.name === 'process_cpu_user_seconds_total')).toBe(true);
});

test('/metrics needs a token or a session, unless PASSERELLE_METRICS_PUBLIC', async () => {
  const anonymous = await new Client(tc.url).get('/metrics');
  expect(anonymous.status).toBe(401);
  expect(anonymous.json().code).toBe('unauthenticated');
  expect((await admin.get('/metrics')).status).toBe(200);
  const open = await tc.another({ metricsPublic: true });
  const res = await new Client(open.url).get('/metrics');
  expect(res.status).toBe(200);
  expect(sample(parsePrometheus(res.text), 'passerelle_destination_dead', { channel: 'lab', destination: 'nak' })).toBe(3);
});

test('/api/queues: depth, ages, breaker and the last failures with their reasons', async () => {
  const q = (await new Client(tc.url, undefined, viewerToken).get('/api/queues')).json<{
    channels: { name: string; destinations: { name: string; failing: boolean; open: number; dead: number; oldestAgeSeconds: number; lastFailures: { detail: string; state: string }[] }[] }[];
    versionDeliveries: unknown[] | null;
  }>();
  const lab = q.channels.find((c) => c.name === 'lab')!;
  const down = lab.destinations.find((d) => d.name === 'down')!;
  const nak = lab.destinations.find((d) => d.name === 'nak')!;
  expect(down).toMatchObject({ failing: true, open: 3, dead: 0 });
  expect(down.oldestAgeSeconds).toBeGreaterThan(0);
  expect(down.lastFailures[0]?.detail).toMatch(/^PSL_DEST_CONNECT/);
  expect(nak).toMatchObject({ failing: false, open: 0, dead: 3 });
  expect(nak.lastFailures.map((f) => f.state)).toContain('dead');
  expect(nak.lastFailures.every((f) => f.detail.startsWith('PSL_DEST_NAK_ERROR'))).toBe(true);
  expect(Array.isArray(q.versionDeliveries)).toBe(true);
});

test('health: live always; ready names the failing destination, 503 only without Redis or store', async () => {
  const anonymous = new Client(tc.url);
  expect((await anonymous.get('/api/health/live')).json()).toEqual({ status: 'ok' });
  const ready = await anonymous.get('/api/health/ready');
  expect(ready.status).toBe(200);
  expect(ready.json()).toEqual({ status: 'degraded', failing: ['lab/down'] });

  // A console whose Redis does not answer is not ready.
  const noRedis = new Console({
    config: consoleConfigFromEnv({}, { addr: '127.0.0.1:0' }),
    engineConfig: { ...tc.te.config, redisUrl: `redis://127.0.0.1:${await freePort()}` },
    store: tc.te.engine.messageStore,
    engine: tc.te.engine,
    logger: silentLogger(),
  });
  await noRedis.start();
  try {
    const res = await new Client(noRedis.url!).get('/api/health/ready');
    expect(res.status).toBe(503);
    expect(res.json()).toEqual({ status: 'failing', failing: ['redis', 'lab/down'] });
  } finally {
    await noRedis.stop();
  }
});

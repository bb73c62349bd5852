/**
 * Fault isolation through a real engine (Redis, SQLite, MLLP sockets): one destination down for
 * every message must not hold up the other, must not dead-letter its backlog, and must deliver
 * all of it, in order per key and once, when it comes back.
 */
import { existsSync, mkdtempSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { Message } from '../../engine/hl7';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { encodeJobId } from '../../engine/queue';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { capturingLogger } from '../support/log-capture';
import { waitFor, delay } from '../support/wait';
import { testPgUrl } from '../support/pg';
import { Client } from 'pg';

const KEYS = ['K0', 'K1', 'K2', 'K3'];
const N = 40;
const oru = (id: string, key: string): string =>
  `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5\rPID|1||7^^^HOSP^PI||TEST^ISO\rOBR|1|${key}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`;

/** An MLLP peer that ACKs AA and records control ids in arrival order. */
function peer(port: number): { server: MllpServer; seen: string[] } {
  const seen: string[] = [];
  const server = new MllpServer({
    host: '127.0.0.1',
    port,
    handler: async (payload) => {
      const m = Message.parse(payload.toString('utf8'));
      seen.push(m.controlId);
      return Buffer.from(`MSH|^~\\&|DOWN|X|||20261125||ACK^R01^ACK|K${seen.length}|P|2.5\rMSA|AA|${m.controlId}\r`);
    },
  });
  return { server, seen };
}

const sent: { id: string; key: string }[] = [];
for (let i = 0; i < N; i++) sent.push({ id: `ISO${String(i).padStart(3, '0')}`, key: KEYS[i % KEYS.length]! });
const perKey = (ids: string[]): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const id of ids) (out[sent.find((s) => s.id === id)!.key] ??= []).push(id);
  return out;
};

describe.each(['sqlite', 'postgres'] as const)('%s store', (kind) => {
  let te: TestEngine;
  let healthy: ReturnType<typeof peer>;
  let dir: string;
  let client: MllpClient;
  const { logger, records } = capturingLogger();
  const schema = `psl_test_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    healthy = peer(0);
    const { port } = await healthy.server.listen();
    // The lis destination writes under a path whose parent is a regular file: every write fails
    // (PSL_DEST_IO) until the test removes it.
    dir = mkdtempSync(join(tmpdir(), 'psl-iso-'));
    const pgUrl = kind === 'postgres' ? await testPgUrl() : '';
    writeFileSync(join(dir, 'blocked'), 'not a directory');
    const retry = (max: number) => `    retry:\n      maxAttempts: ${max}\n      backoffBaseMs: 20\n      backoffMaxMs: 200\n`;
    te = await startTestEngine(
      {
        'iso.yaml': channelYaml(
          'iso',
          `acceptance:\n  messageTypes: [ORU^R01]\nordering:\n  partitions: 4\ndestinations:\n` +
            `  - name: archive\n    type: mllp\n    host: 127.0.0.1\n    port: ${port}\n${retry(3)}` +
            `  - name: lis\n    type: file\n    directory: \${DIR}/blocked/lis\n${retry(2)}`,
        ),
      },
      { logger, dir, store: kind === 'postgres' ? `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}` : undefined },
    );
    client = new MllpClient({ host: '127.0.0.1', port: te.port('iso') });
  });

  afterAll(async () => {
    await client?.close();
    await te?.stop();
    await healthy?.server.close({ drainDeadlineMs: 100 });
    if (kind === 'postgres') {
      const pg = new Client({ connectionString: await testPgUrl() });
      await pg.connect();
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pg.end();
    }
  });

  const store = () => te.engine.messageStore;
  const maxLisAttempts = async (): Promise<number> => {
    let max = 0;
    for (const m of await store().list('iso', undefined, 200)) {
      const d = (await store().deliveries(m.id)).find((x) => x.destination === 'lis');
      max = Math.max(max, d?.attempts ?? 0);
    }
    return max;
  };

  test('the healthy destination delivers everything, in order per key, while the other is down', async () => {
    for (const s of sent) expect((await client.send(Buffer.from(oru(s.id, s.key)))).toString()).toContain(`MSA|AA|${s.id}`);
    expect(await waitFor(() => healthy.seen.length >= N, 30_000)).toBe(true);
    expect(healthy.seen).toHaveLength(N);
    expect(new Set(healthy.seen).size).toBe(N);
    expect(perKey(healthy.seen)).toEqual(perKey(sent.map((s) => s.id)));
  });

  test('while down, the backlog is not dead-lettered, however long the outage', async () => {
    // maxAttempts is 2: without the breaker the first messages would be dead after two failures.
    expect(await waitFor(async () => (await maxLisAttempts()) >= 4, 30_000, 200)).toBe(true);
    expect(te.engine.channel('iso')!.pipeline.health.get('lis')!.failing).toBe(true);
    const counts = await store().counts('iso');
    expect(counts).toMatchObject({ dead: 0, routed: N, done: 0 });
  });

  test('a recovery scan re-adds nothing while Redis holds the jobs, and exactly a job Redis lost', async () => {
    const pipeline = te.engine.channel('iso')!.pipeline;
    expect(await pipeline.recover()).toBe(0);
    // Lose one waiting job (the last message: never the head of its line).
    const last = (await store().list('iso', undefined, 1))[0]!;
    const q = pipeline.destinationQueues.get('lis')!;
    const bull = new Queue(q.queueName(q.partitionOf(last.orderingKey)), { connection: { host: '127.0.0.1', port: 6379 }, prefix: te.config.prefix });
    try {
      const job = await bull.getJob(encodeJobId(`${last.id}.lis`));
      expect(job).toBeDefined();
      await job!.remove();
    } finally {
      await bull.close();
    }
    expect(await pipeline.recover()).toBe(1);
    expect(await pipeline.recover()).toBe(0);
  });

  test('back up: the failing destination delivers its whole backlog in order per key, once; one failing and one recovered event', async () => {
    unlinkSync(join(dir, 'blocked'));
    expect(await waitFor(async () => (await store().counts('iso')).done === N, 60_000, 100)).toBe(true);
    await delay(300); // nothing more may arrive
    expect(readdirSync(join(dir, 'blocked', 'lis')).sort()).toEqual(sent.map((s) => `${s.id}.hl7`));
    // The engine logs each delivery as it completes; per key they run one at a time.
    const lis = records.filter((r) => r.message === 'delivered' && r.destination === 'lis').map((r) => String(r.controlId));
    expect(lis).toHaveLength(N);
    expect(new Set(lis).size).toBe(N);
    expect(perKey(lis)).toEqual(perKey(sent.map((s) => s.id)));
    expect(healthy.seen).toHaveLength(N);
    expect((await store().counts('iso')).dead).toBe(0);
    const events = records.filter((r) => r.message === 'destination failing' || r.message === 'destination recovered');
    expect(events.map((e) => [e.level, e.message, e.channel, e.destination, e.code])).toEqual([
      ['warn', 'destination failing', 'iso', 'lis', 'PSL_DEST_IO'],
      ['info', 'destination recovered', 'iso', 'lis', 'PSL_DEST_IO'],
    ]);
    expect(await te.engine.channel('iso')!.pipeline.recover()).toBe(0);
    expect(await store().openDeliveries('iso', 0, '', 10)).toEqual([]);
    expect(existsSync(join(dir, 'blocked', 'lis'))).toBe(true);
  });
});

test('a store of the previous version (routed messages without open deliveries) is repaired at start and delivered in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-iso-old-'));
  writeFileSync(join(dir, 'blocked'), 'not a directory');
  const channels = {
    'old.yaml': channelYaml(
      'old',
      `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: \${DIR}/blocked/out\n    retry:\n      backoffBaseMs: 20\n      backoffMaxMs: 100\n`,
    ),
  };
  const first = await startTestEngine(channels, { dir });
  const ids = ['OLD1', 'OLD2', 'OLD3'];
  const c = new MllpClient({ host: '127.0.0.1', port: first.port('old') });
  try {
    for (const id of ids) await c.send(Buffer.from(oru(id, 'K9')));
  } finally {
    await c.close();
  }
  expect(await waitFor(async () => (await first.engine.messageStore.counts('old')).routed === 3, 10_000)).toBe(true);
  const prefix = first.config.prefix;
  await first.stop(); // also drops its Redis keys: the jobs are gone too
  const db = new Database(join(dir, 'store.db'));
  db.exec('DELETE FROM open_deliveries'); // as an earlier version left the database
  db.close();
  unlinkSync(join(dir, 'blocked'));
  const { logger, records } = capturingLogger();
  const second = await startTestEngine(channels, { dir, prefix, logger });
  try {
    expect(await waitFor(async () => (await second.engine.messageStore.counts('old')).done === 3, 15_000)).toBe(true);
    expect(readdirSync(join(dir, 'blocked', 'out')).sort()).toEqual(ids.map((id) => `${id}.hl7`));
    expect(records.filter((r) => r.message === 'delivered').map((r) => r.controlId)).toEqual(ids);
  } finally {
    await second.stop();
  }
});

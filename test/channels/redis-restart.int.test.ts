/**
 * Redis dies (kill -9, no persistence: every job is lost) and comes back while the engine keeps
 * running and keeps ACKing (the store is the source of truth). Every message must still be
 * delivered, each order's results in arrival order, with no restart of the engine.
 */
import { type ChildProcess } from 'node:child_process';
import { Message } from '../../engine/hl7';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { freePort, killHard, startRedis } from '../support/redis';
import { delay, waitFor } from '../support/wait';

const TOTAL = 300;
const KEYS = 6;

let te: TestEngine | undefined;
let redis: ChildProcess | undefined;
let peer: MllpServer | undefined;

afterAll(async () => {
  await te?.stop();
  if (redis) await killHard(redis);
  await peer?.close({ drainDeadlineMs: 100 });
});

test('a Redis restart without persistence loses no message and keeps per-order sequence', async () => {
  const delivered: string[] = [];
  peer = new MllpServer({
    host: '127.0.0.1',
    port: 0,
    handler: async (payload) => {
      const id = Message.parse(payload.toString()).controlId;
      await delay(5); // a slow peer: a backlog builds up in Redis
      delivered.push(id);
      return Buffer.from(`MSH|^~\\&|D|D|P|P|20261125||ACK^R01^ACK|K|P|2.5\rMSA|AA|${id}\r`);
    },
  });
  const downstream = (await peer.listen()).port;
  const redisPort = await freePort();
  redis = await startRedis(redisPort);
  te = await startTestEngine(
    {
      'ltw.yaml': channelYaml(
        'ltw',
        `acceptance:\n  messageTypes: [ORU^R01]\nordering:\n  partitions: 3\ndestinations:\n  - name: eai\n    type: mllp\n    host: 127.0.0.1\n    port: ${downstream}\n    retry:\n      backoffBaseMs: 50\n      backoffMaxMs: 500\n`,
      ),
    },
    { redisUrl: `redis://127.0.0.1:${redisPort}` },
  );
  const client = new MllpClient({ host: '127.0.0.1', port: te.port('ltw') });
  try {
    for (let i = 0; i < TOTAL; i++) {
      if (i === TOTAL / 2) {
        await killHard(redis);
        await delay(300);
        redis = await startRedis(redisPort); // empty
      }
      const text = `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|R${i}|P|2.5\rPID|1||${i % KEYS}^^^H^PI\rORC|RE|K${i % KEYS}\rOBR|1|K${i % KEYS}\rOBX|1|NM|2345-7^Glucose^LN||${i}|g/L|||||F\r`;
      expect((await client.send(Buffer.from(text))).toString()).toContain(`MSA|AA|R${i}`);
    }
  } finally {
    await client.close();
  }
  const all = await waitFor(() => new Set(delivered).size === TOTAL, 90_000, 200);
  expect(new Set(delivered).size).toBe(TOTAL);
  expect(all).toBe(true);
  const lastByKey = new Map<number, number>();
  const seen = new Set<string>();
  for (const id of delivered) {
    if (seen.has(id)) continue;
    seen.add(id);
    const i = Number(id.slice(1));
    expect({ id, after: lastByKey.get(i % KEYS) ?? -1 }).toEqual({ id, after: expect.any(Number) });
    expect(i).toBeGreaterThan(lastByKey.get(i % KEYS) ?? -1);
    lastByKey.set(i % KEYS, i);
  }
}, 150_000);

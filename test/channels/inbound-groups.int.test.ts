/**
 * Inbound groups (docs/design.md "Inbound groups"): the messages committed together go on the
 * inbound queue as one job per partition, and every guarantee of one-message jobs still holds —
 * order per key, a failure dead-letters only its message, recovery re-adds exactly what no live
 * job carries. Real Redis and SQLite.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { channelSchema } from '../../engine/config/channel-schema';
import { Pipeline } from '../../engine/channels/pipeline';
import type { Destination } from '../../engine/delivery';
import { PasserelleError } from '../../engine/errors';
import type { Message } from '../../engine/hl7';
import { silentLogger } from '../../engine/runtime/logger';
import { SqliteStore, type StoredMessage } from '../../engine/store';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const prefix = freshPrefix();
const redis = new Redis({ ...REDIS, maxRetriesPerRequest: 1 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-groups-'));
let store: SqliteStore;
const pipelines: Pipeline[] = [];
/** Control ids in the order the transform saw them, per channel. */
const seen = new Map<string, string[]>();
/** Control ids whose transform fails, and how. */
const failing = new Map<string, 'permanent' | 'transient'>();

const sink: Destination = { name: 'out', deliver: async () => 'kept', close: async () => undefined };

function pipeline(channel: string, partitions: number, consume: boolean): Pipeline {
  const config = channelSchema.parse({
    name: channel,
    source: { type: 'mllp', port: 0 },
    acceptance: { messageTypes: ['ORU^R01'] },
    ordering: { partitions },
    destinations: [{ name: 'out', type: 'file', directory: '/unused' }],
  });
  const p = new Pipeline({
    channel: config,
    store,
    destinations: [sink],
    transform: (msg: Message) => {
      seen.set(channel, [...(seen.get(channel) ?? []), msg.controlId]);
      const how = failing.get(msg.controlId);
      if (how === 'permanent') throw new PasserelleError('PSL_TRANSFORM_FAILED', 'refused by the test');
      if (how === 'transient') throw new PasserelleError('PSL_STORE_UNAVAILABLE', 'down for the test');
      return msg;
    },
    connection: REDIS,
    prefix,
    consume,
    logger: silentLogger(),
  });
  pipelines.push(p);
  return p;
}

/** Receives messages (control id, ordering key) in this order; returns them as stored. */
async function receive(channel: string, items: [string, string][]): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for (const [controlId, orderingKey] of items) {
    const raw = Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261207120000||ORU^R01^ORU_R01|${controlId}|P|2.5\rPID|1||7^^^HOSP^PI\r`);
    const r = await store.receive(
      { channel, controlId, sender: 'LAB|SITE', messageType: 'ORU^R01', orderingKey, charset: 'utf-8', raw, ack: Buffer.from('MSA|AA'), receivedAt: new Date(), state: 'received' },
      0,
    );
    out.push((await store.get(r.id))!);
  }
  return out;
}

/** One consuming pipeline on one partition (so the messages share one group), fed `items`; waits until each is done or dead. */
async function oneGroup(channel: string, items: [string, string][], timeoutMs: number): Promise<{ p: Pipeline; ms: StoredMessage[] }> {
  const p = pipeline(channel, 1, true);
  await p.start();
  const ms = await receive(channel, items);
  await p.enqueue(ms.map((m) => ({ id: m.id, orderingKey: m.orderingKey })));
  expect(await waitFor(allFinal(ms), timeoutMs)).toBe(true);
  return { p, ms };
}

const stateOf = async (m: StoredMessage): Promise<string | undefined> => (await store.get(m.id))?.state;
const allFinal = (ms: StoredMessage[]) => async (): Promise<boolean> =>
  (await Promise.all(ms.map(stateOf))).every((s) => s === 'done' || s === 'dead');
const membersLeft = (channel: string): Promise<number> => redis.hlen(`${prefix}:${channel}.in:members`);

beforeAll(async () => {
  store = new SqliteStore({ path: path.join(dir, 'store.db') });
  await store.init();
});

afterAll(async () => {
  await Promise.all(pipelines.map((p) => p.stop(2000)));
  await store.close();
  await deletePrefix(prefix);
  redis.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('messages committed together become one job per partition, and run once each, in order per key', async () => {
  const producer = pipeline('g1', 2, false);
  await producer.start();
  const keys = ['order:A', 'order:B', 'order:C', 'order:D', 'order:E'];
  const ms = await receive('g1', Array.from({ length: 40 }, (_, i) => [`G1-${i}`, keys[i % keys.length]!] as [string, string]));
  await producer.enqueue(ms.map((m) => ({ id: m.id, orderingKey: m.orderingKey })));

  const partitions = new Set(ms.map((m) => producer.inbound.partitionOf(m.orderingKey)));
  expect((await producer.inbound.counts()).waiting).toBe(partitions.size);
  expect(await producer.recover()).toBe(0); // each message is carried by a live group job

  const consumer = pipeline('g1', 2, true);
  await consumer.start();
  expect(await waitFor(allFinal(ms), 20_000)).toBe(true);
  expect(await Promise.all(ms.map(stateOf))).toEqual(ms.map(() => 'done'));
  const order = seen.get('g1')!;
  expect([...order].sort()).toEqual(ms.map((m) => m.controlId).sort()); // each once
  for (const k of keys) {
    const expected = ms.filter((m) => m.orderingKey === k).map((m) => m.controlId);
    expect(order.filter((c) => expected.includes(c))).toEqual(expected);
  }
  expect(await waitFor(async () => (await membersLeft('g1')) === 0, 5000)).toBe(true);
});

test('a message that fails for good is dead-lettered alone; the rest of its group goes on', async () => {
  failing.set('G2-PERM', 'permanent');
  const { p, ms } = await oneGroup('g2', [['G2-1', 'order:X'], ['G2-PERM', 'order:X'], ['G2-2', 'order:X'], ['G2-3', 'order:Y']], 20_000);
  expect(await Promise.all(ms.map(stateOf))).toEqual(['done', 'dead', 'done', 'done']);
  expect((await store.get(ms[1]!.id))!.reason).toMatch(/^PSL_TRANSFORM_FAILED: refused by the test/);
  expect(seen.get('g2')).toEqual(['G2-1', 'G2-PERM', 'G2-2', 'G2-3']);

  // Its job completed (the others went on): a reprocess still runs it again.
  failing.delete('G2-PERM');
  expect(await p.reprocess(ms[1]!.id)).toEqual(['in']);
  expect(await waitFor(async () => (await stateOf(ms[1]!)) === 'done', 10_000)).toBe(true);
  expect(seen.get('g2')).toEqual(['G2-1', 'G2-PERM', 'G2-2', 'G2-3', 'G2-PERM']);
});

test('a message whose retries run out is dead-lettered; the messages after it in its group still run, in key order', async () => {
  failing.set('G3-FLAKY', 'transient');
  // 5 attempts with backoff ≈ 7.5 s
  const { p, ms } = await oneGroup('g3', [['G3-1', 'order:K'], ['G3-FLAKY', 'order:K'], ['G3-2', 'order:K'], ['G3-3', 'order:L']], 30_000);
  expect(await Promise.all(ms.map(stateOf))).toEqual(['done', 'dead', 'done', 'done']);
  expect((await store.get(ms[1]!.id))!.reason).toMatch(/^PSL_STORE_UNAVAILABLE: down for the test/);
  const order = seen.get('g3')!;
  expect(order.filter((c) => c === 'G3-FLAKY')).toHaveLength(5);
  expect(order.filter((c) => c !== 'G3-FLAKY')).toEqual(['G3-1', 'G3-2', 'G3-3']);
  expect(order.indexOf('G3-2')).toBeGreaterThan(order.lastIndexOf('G3-FLAKY')); // K's line waited for it
  expect(await p.recover()).toBe(0);
  expect(await waitFor(async () => (await membersLeft('g3')) === 0, 5000)).toBe(true);
});

test('recovery re-adds, grouped, exactly the messages whose jobs Redis lost', async () => {
  const producer = pipeline('g4', 4, false);
  await producer.start();
  const ms = await receive('g4', Array.from({ length: 30 }, (_, i) => [`G4-${i}`, `order:${i % 7}`] as [string, string]));
  await producer.enqueue(ms.slice(0, 20).map((m) => ({ id: m.id, orderingKey: m.orderingKey })));
  // The last 10 never reached Redis (a crash between commit and enqueue).
  expect(await producer.recover()).toBe(10);
  expect(await producer.recover()).toBe(0);
  // Redis loses everything (restart without persistence): all 30 come back.
  await redis.del(...(await redis.keys(`${prefix}:g4.in*`)));
  expect(await producer.recover()).toBe(30);
  const partitions = new Set(ms.map((m) => producer.inbound.partitionOf(m.orderingKey)));
  expect((await producer.inbound.counts()).waiting).toBe(partitions.size);

  const consumer = pipeline('g4', 4, true);
  await consumer.start();
  expect(await waitFor(allFinal(ms), 20_000)).toBe(true);
  expect(await Promise.all(ms.map(stateOf))).toEqual(ms.map(() => 'done'));
  const order = seen.get('g4')!;
  expect(order).toHaveLength(30);
  for (let k = 0; k < 7; k++) {
    const expected = ms.filter((m) => m.orderingKey === `order:${k}`).map((m) => m.controlId);
    expect(order.filter((c) => expected.includes(c))).toEqual(expected);
  }
});

test('member entries left by a crash are swept at start-up, and never hide a message from recovery', async () => {
  const producer = pipeline('g5', 1, false);
  await producer.start();
  const ms = await receive('g5', [['G5-1', 'order:Z'], ['G5-2', 'order:Z'], ['G5-3', 'order:Z']]);
  await producer.enqueue(ms.map((m) => ({ id: m.id, orderingKey: m.orderingKey })));
  const hash = `${prefix}:g5.in:members`;
  expect(await redis.hlen(hash)).toBe(2); // the first message's job key derives from its own id
  // The job vanishes but its entries stay (a crash between its end and their removal), and an
  // entry of a message long done points at a job Redis no longer has.
  const jobKeys = await redis.keys(`${prefix}:g5.in.p0:j*`);
  expect(jobKeys).toHaveLength(1);
  await redis.del(jobKeys[0]!, `${prefix}:g5.in.p0:wait`);
  await redis.hset(hash, 'long-done-message', `${prefix}:g5.in.p0:jlong-gone-job`);

  expect(await producer.recover({ repair: true })).toBe(3); // the stale entries did not hide them
  expect(await redis.hexists(hash, 'long-done-message')).toBe(0);
  expect(await redis.hlen(hash)).toBe(2); // the new job's entries
  expect(await producer.recover()).toBe(0);
});

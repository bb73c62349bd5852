/**
 * Store faults outside intake (a killed PostgreSQL backend, SQLite busy, a store closed during
 * shutdown) are transient: the job that met them is retried, its message is not dead-lettered.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { channelSchema } from '../../engine/config/channel-schema';
import { Pipeline } from '../../engine/channels/pipeline';
import type { Destination, OutboundMessage } from '../../engine/delivery';
import { retryClassOf, errorCodeOf } from '../../engine/errors';
import { silentLogger } from '../../engine/runtime/logger';
import { PgStore, SqliteStore, type InboundMessage, type MessageStore } from '../../engine/store';
import { testPgUrl } from '../support/pg';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const rnd = (): string => randomBytes(5).toString('hex');
const tmp = (): string => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'psl-faults-')), 'store.db');

const inbound = (channel: string, controlId: string): InboundMessage => ({
  channel,
  controlId,
  sender: 'LAB|SITE',
  messageType: 'ORU^R01',
  orderingKey: `K-${controlId}`,
  charset: 'utf-8',
  raw: Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${controlId}|P|2.5\rPID|1||7^^^HOSP^PI\r`),
  ack: Buffer.from('MSA|AA'),
  receivedAt: new Date(),
  state: 'received',
});

const failure = async (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

describe('SQLite', () => {
  test('a closed store fails every operation with a transient code, not a raw Error', async () => {
    const s = new SqliteStore({ path: tmp() });
    await s.init();
    const { id } = (await s.receive(inbound('c', 'A1'), 0)) as { id: string };
    await s.close();
    for (const p of [s.get(id), s.setState(id, 'routed'), s.setDelivery(id, 'd', 'delivered', 'x', true), s.earlierPending('c', 'k', 10, 5, 'd'), s.getContent(id, 'out')]) {
      const e = await failure(p);
      expect(errorCodeOf(e)).toBe('PSL_STORE_TRANSIENT');
      expect(retryClassOf(e)).toBe('transient');
    }
  });

  test('a write meeting a lock held by another process (SQLITE_BUSY) is transient; a bad argument stays permanent', async () => {
    const file = tmp();
    const s = new SqliteStore({ path: file, busyTimeoutMs: 0 });
    await s.init();
    const { id } = (await s.receive(inbound('c', 'B1'), 0)) as { id: string };
    const other = new Database(file);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const e = await failure(s.setState(id, 'processing'));
      expect(errorCodeOf(e)).toBe('PSL_STORE_TRANSIENT');
      expect(retryClassOf(e)).toBe('transient');
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    await s.setState(id, 'processing');
    expect((await s.get(id))?.state).toBe('processing');
    const bad = await failure(s.setState(id, 'bogus' as never));
    expect(bad).toBeInstanceOf(TypeError);
    expect(retryClassOf(bad)).toBe('permanent');
    await s.close();
  });
});

describe('PostgreSQL', () => {
  let url = '';
  let schema = '';
  let store: PgStore | undefined;
  const prefix = freshPrefix();
  let pipeline: Pipeline | undefined;

  beforeAll(async () => {
    url = await testPgUrl();
    schema = `psl_test_${rnd()}`;
  });

  afterAll(async () => {
    await pipeline?.stop(2000);
    await store?.close();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
    await deletePrefix(prefix);
  });

  test('a closed store fails with a transient code', async () => {
    const s = new PgStore({ connectionString: url, schema });
    await s.init();
    await s.close();
    const e = await failure(s.get('nope'));
    expect(errorCodeOf(e)).toBe('PSL_STORE_TRANSIENT');
  });

  test('the store backend killed (pg_terminate_backend) while a destination job runs: the message is retried and delivered, not dead-lettered', async () => {
    store = new PgStore({ connectionString: url, schema, poolSize: 4 });
    await store.init();
    const s: MessageStore = store;
    const admin = new Client({ connectionString: url });
    await admin.connect();
    const locker = new Client({ connectionString: url });
    await locker.connect();
    let calls = 0;
    let terminated = 0;
    // First delivery: while it "sends", another session locks the deliveries table, so the
    // pipeline's next store write (recording the delivery) waits on the lock; that waiting
    // backend is then terminated, as a PostgreSQL restart would do to it.
    const dest: Destination = {
      name: 'peer',
      async deliver(_out: OutboundMessage): Promise<string> {
        calls++;
        if (calls === 1) {
          await locker.query('BEGIN');
          await locker.query(`LOCK TABLE "${schema}".deliveries IN ACCESS EXCLUSIVE MODE`);
          void (async () => {
            for (let i = 0; i < 200 && terminated === 0; i++) {
              const r = await admin.query(
                `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
                  WHERE application_name = 'passerelle' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
              );
              terminated += r.rowCount ?? 0;
              await new Promise((r2) => setTimeout(r2, 25));
            }
            await locker.query('ROLLBACK');
          })();
        }
        return 'sent';
      },
      async close() {},
    };
    const config = channelSchema.parse({
      name: 'faults',
      source: { type: 'mllp', port: 0 },
      acceptance: { messageTypes: ['ORU^R01'] },
      destinations: [{ name: 'peer', type: 'file', directory: '/unused', retry: { maxAttempts: 5, backoffBaseMs: 20, backoffMaxMs: 100 } }],
    });
    pipeline = new Pipeline({ channel: config, store: s, destinations: [dest], connection: REDIS, prefix, consume: true, logger: silentLogger() });
    await pipeline.start();
    const r = await s.receive(inbound('faults', 'PG1'), 0);
    await pipeline.enqueue([{ id: r.id, orderingKey: 'K-PG1' }]);

    expect(await waitFor(async () => (await s.get(r.id))?.state === 'done', 20_000)).toBe(true);
    expect(terminated).toBeGreaterThan(0);
    expect(calls).toBe(2);
    expect((await s.getDelivery(r.id, 'peer'))?.state).toBe('delivered');
    await admin.end();
    await locker.end();
  });
});

/** Two consumer processes share the partitions; per-key order holds across them and retries. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { OrderedQueue } from '../../engine/queue/ordered-queue';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const SCRIPT = join(__dirname, '../../dist/test/support/queue-worker.js');
const JOBS = 1000;
const KEYS = 50;
const N = 8;

function startWorker(prefix: string, member: string, seed: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SCRIPT], {
    env: {
      ...process.env,
      QW_PREFIX: prefix,
      QW_NAME: 'mp',
      QW_PARTITIONS: String(N),
      QW_MEMBER: member,
      QW_SEED: String(seed),
      QW_REDIS_PORT: String(REDIS.port),
      QW_LEASE_MS: '1500',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${member} did not start`)), 15_000);
    child.once('exit', (code) => reject(new Error(`${member} exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

describe('OrderedQueue with two consumer processes', () => {
  const prefix = freshPrefix();
  const children: ChildProcess[] = [];
  const redis = new Redis({ ...REDIS });
  let producer: OrderedQueue | undefined;

  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c)));
    await producer?.stop();
    await deletePrefix(prefix);
    redis.disconnect();
  });

  it('keeps per-key order across processes, loses nothing, and both processes work', async () => {
    expect(existsSync(SCRIPT)).toBe(true); // built by `npm run build` (tsc -p tsconfig.build.json)
    children.push(await startWorker(prefix, 'proc-1', 1));
    children.push(await startWorker(prefix, 'proc-2', 2));
    const owners = async (): Promise<string[]> =>
      Promise.all(Array.from({ length: N }, (_, i) => redis.get(`${prefix}:lease:mp:${i}`).then((v) => v ?? '')));
    const split = await waitFor(async () => {
      const o = await owners();
      return o.filter((m) => m === 'proc-1').length === N / 2 && o.filter((m) => m === 'proc-2').length === N / 2;
    }, 15_000, 100);
    expect(split).toBe(true);

    producer = new OrderedQueue({ name: 'mp', connection: REDIS, prefix, partitions: N, consume: false, processor: async () => undefined });
    await producer.start();
    const seqOf = new Map<string, number>();
    const jobs = [];
    for (let n = 0; n < JOBS; n++) {
      const key = `key-${n % KEYS}`;
      const seq = seqOf.get(key) ?? 0;
      seqOf.set(key, seq + 1);
      jobs.push({ orderingKey: key, id: `m${n}`, data: { seq: String(seq) } });
    }
    for (let k = 0; k < JOBS; k += 100) await producer.addBulk(jobs.slice(k, k + 100));

    const total = async (): Promise<number> => {
      const lens = await Promise.all([...seqOf.keys()].map((key) => redis.llen(`${prefix}:test:done:${key}`)));
      return lens.reduce((s, n) => s + n, 0);
    };
    expect(await waitFor(async () => (await total()) >= JOBS, 45_000, 100)).toBe(true);

    const perMember = new Map<string, number>();
    for (const [key, n] of seqOf) {
      const entries = await redis.lrange(`${prefix}:test:done:${key}`, 0, -1);
      const seqs = entries.map((e) => Number(e.split('|')[0]));
      expect({ key, seqs }).toEqual({ key, seqs: Array.from({ length: n }, (_, i) => i) });
      for (const e of entries) {
        const m = e.split('|')[1];
        perMember.set(m, (perMember.get(m) ?? 0) + 1);
      }
    }
    expect(await total()).toBe(JOBS);
    expect(perMember.get('proc-1') ?? 0).toBeGreaterThan(0);
    expect(perMember.get('proc-2') ?? 0).toBeGreaterThan(0);
    const c = await producer.counts();
    expect(c).toMatchObject({ waiting: 0, active: 0, failed: 0 });
  });
});

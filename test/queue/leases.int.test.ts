/** Partition leases: a second instance gets a share, and takes everything when the first stops. */
import { Redis } from 'ioredis';
import { OrderedQueue } from '../../engine/queue/ordered-queue';
import type { OrderedJob } from '../../engine/queue/types';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { delay, waitFor } from '../support/wait';

const N = 8;

describe('OrderedQueue partition leases', () => {
  const prefix = freshPrefix();
  const instances: OrderedQueue[] = [];
  const redis = new Redis({ ...REDIS });

  afterAll(async () => {
    await Promise.all(instances.map((q) => q.stop({ drainDeadlineMs: 2000 })));
    await deletePrefix(prefix);
    redis.disconnect();
  });

  it('hands partitions over without breaking per-key order', async () => {
    const done = new Map<string, number[]>();
    const byMember = new Map<string, number>();
    const make = (memberId: string): OrderedQueue => {
      const q = new OrderedQueue({
        name: 'lease',
        connection: REDIS,
        prefix,
        partitions: N,
        leaseMs: 1500,
        memberId,
        backoff: { baseMs: 5, maxMs: 20 },
        processor: async (job: OrderedJob) => {
          await delay(2);
          const list = done.get(job.orderingKey) ?? [];
          list.push(Number(job.data.seq));
          done.set(job.orderingKey, list);
          byMember.set(memberId, (byMember.get(memberId) ?? 0) + 1);
        },
      });
      instances.push(q);
      return q;
    };
    // A producer-only instance feeds jobs during the whole hand-over.
    const producer = new OrderedQueue({ name: 'lease', connection: REDIS, prefix, partitions: N, consume: false, processor: async () => undefined });
    instances.push(producer);
    await producer.start();
    const a = make('member-a');
    await a.start();
    expect((await a.counts()).ownedPartitions).toHaveLength(N);

    const seqOf = new Map<string, number>();
    let added = 0;
    let feeding = true;
    const feeder = (async () => {
      while (feeding && added < 3000) {
        const key = `k${added % 20}`;
        const seq = seqOf.get(key) ?? 0;
        seqOf.set(key, seq + 1);
        await producer.add(key, `job-${added}`, { seq: String(seq) });
        added++;
        if (added % 20 === 0) await delay(10);
      }
    })();

    const b = make('member-b');
    await b.start();
    const split = await waitFor(async () => {
      const [ca, cb] = await Promise.all([a.counts(), b.counts()]);
      return ca.ownedPartitions.length === N / 2 && cb.ownedPartitions.length === N / 2;
    }, 10_000);
    expect(split).toBe(true);
    const [ca, cb] = await Promise.all([a.counts(), b.counts()]);
    expect([...ca.ownedPartitions, ...cb.ownedPartitions].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The lease keys say the same.
    for (const i of cb.ownedPartitions) expect(await redis.get(`${prefix}:lease:lease:${i}`)).toBe('member-b');

    await a.stop({ drainDeadlineMs: 5000 });
    expect(await waitFor(async () => (await b.counts()).ownedPartitions.length === N, 10_000)).toBe(true);
    for (let i = 0; i < N; i++) expect(await redis.get(`${prefix}:lease:lease:${i}`)).toBe('member-b');

    feeding = false;
    await feeder;
    expect(added).toBeGreaterThan(100);
    expect((await producer.counts()).ownedPartitions).toEqual([]);
    const expected = [...seqOf.values()].reduce((s, n) => s + n, 0);
    const doneCount = (): number => [...done.values()].reduce((s, l) => s + l.length, 0);
    expect(await waitFor(() => doneCount() >= added, 20_000)).toBe(true);
    expect(byMember.get('member-a') ?? 0).toBeGreaterThan(0);
    expect(byMember.get('member-b') ?? 0).toBeGreaterThan(0);
    for (const [key, n] of seqOf) {
      expect(done.get(key)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(doneCount()).toBe(expected);
  });
});

/** Per-key order under injected transient failures, in one process. */
import { PasserelleError } from '../../engine/errors';
import { OrderedQueue } from '../../engine/queue/ordered-queue';
import type { OrderedJob } from '../../engine/queue/types';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';
import { prng } from '../support/random';

const JOBS = 1000;
const KEYS = 50;

describe('OrderedQueue ordering (one process)', () => {
  const prefix = freshPrefix();
  let q: OrderedQueue | undefined;

  afterAll(async () => {
    await q?.stop({ drainDeadlineMs: 2000 });
    await deletePrefix(prefix);
  });

  it('processes every key in arrival order across transient retries', async () => {
    const rnd = prng(42);
    const done = new Map<string, number[]>();
    const attempts = new Map<string, number>();
    let failures = 0;
    let total = 0;
    q = new OrderedQueue({
      name: 'order',
      connection: REDIS,
      prefix,
      partitions: 8,
      leaseMs: 3000,
      maxAttempts: 10,
      backoff: { baseMs: 5, maxMs: 50 },
      processor: async (job: OrderedJob) => {
        attempts.set(job.id, (attempts.get(job.id) ?? 0) + 1);
        if (job.attempt === 1 && rnd() < 0.1) {
          failures++;
          throw new PasserelleError('PSL_TEST_TRANSIENT', 'injected');
        }
        const list = done.get(job.orderingKey) ?? [];
        list.push(Number(job.data.seq));
        done.set(job.orderingKey, list);
        total++;
      },
    });
    await q.start();
    expect((await q.counts()).ownedPartitions).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const seqOf = new Map<string, number>();
    const jobs = [];
    for (let n = 0; n < JOBS; n++) {
      const key = `k${n % KEYS}`;
      const seq = seqOf.get(key) ?? 0;
      seqOf.set(key, seq + 1);
      jobs.push({ orderingKey: key, id: `msg-${n}:dest`, data: { seq: String(seq) } });
    }
    // Half one by one, half in bulk.
    for (const j of jobs.slice(0, JOBS / 2)) await q.add(j.orderingKey, j.id, j.data);
    await q.addBulk(jobs.slice(JOBS / 2));

    expect(await waitFor(() => total >= JOBS, 45_000)).toBe(true);
    expect(failures).toBeGreaterThan(20);
    for (let k = 0; k < KEYS; k++) {
      const key = `k${k}`;
      const n = seqOf.get(key) ?? 0;
      expect(done.get(key)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(total).toBe(JOBS);
    // Only the injected failures were retried.
    const retried = [...attempts.values()].filter((a) => a > 1).length;
    expect(retried).toBe(failures);
    expect(await waitFor(async () => (await q!.counts()).completed === JOBS, 5000)).toBe(true);
    const c = await q.counts();
    expect(c).toMatchObject({ waiting: 0, active: 0, failed: 0, delayed: 0 });
  });

  it('re-adding an existing job id is a no-op, and oversized jobs are refused', async () => {
    const before = (await q!.counts()).completed;
    await q!.add('k0', 'msg-0:dest', { seq: '0' });
    await expect(q!.add('k0', 'big', { blob: 'x'.repeat(70 * 1024) })).rejects.toMatchObject({ code: 'PSL_QUEUE_JOB_TOO_LARGE' });
    await expect(q!.add('', 'x')).rejects.toMatchObject({ code: 'PSL_QUEUE_JOB_INVALID' });
    const c = await q!.counts();
    expect(c.completed).toBe(before);
    expect(c.waiting + c.active).toBe(0);
  });
});

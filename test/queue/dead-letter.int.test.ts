/** Dead-letter: permanent errors, exhausted retries, onDead, listDead, reprocess. */
import { PasserelleError } from '../../engine/errors';
import { OrderedQueue } from '../../engine/queue/ordered-queue';
import type { OrderedJob } from '../../engine/queue/types';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

describe('OrderedQueue dead-letter', () => {
  const prefix = freshPrefix();
  let q: OrderedQueue | undefined;

  afterAll(async () => {
    await q?.stop({ drainDeadlineMs: 2000 });
    await deletePrefix(prefix);
  });

  it('dead-letters permanent and exhausted jobs, lets the line move on, and reprocesses', async () => {
    const processed: string[] = [];
    const attempts = new Map<string, number[]>();
    const dead: Array<{ id: string; err: unknown }> = [];
    let healed = false;
    q = new OrderedQueue({
      name: 'dl',
      connection: REDIS,
      prefix,
      partitions: 4,
      leaseMs: 3000,
      maxAttempts: 3,
      backoff: { baseMs: 5, maxMs: 20 },
      processor: async (job: OrderedJob) => {
        attempts.set(job.id, [...(attempts.get(job.id) ?? []), job.attempt]);
        if (job.id === 'a1') throw new PasserelleError('PSL_DEST_NAK_ERROR', 'AE from peer');
        if (job.id === 'b1' && !healed) throw new PasserelleError('PSL_DEST_CONNECT', 'peer down');
        if (job.id === 'c1') throw new PasserelleError('PSL_DEST_ACK_TIMEOUT', 'no ACK');
        processed.push(job.id);
      },
      onDead: async (job, err) => {
        dead.push({ id: job.id, err });
      },
    });
    await q.start();
    for (const id of ['a1', 'a2', 'a3']) await q.add('A', id, {});
    for (const id of ['b1', 'b2']) await q.add('B', id, {});
    for (const id of ['c1', 'c2']) await q.add('C', id, {});

    expect(await waitFor(() => processed.length >= 4, 15_000)).toBe(true);
    expect(processed.filter((id) => id.startsWith('a'))).toEqual(['a2', 'a3']);
    expect(processed.filter((id) => id.startsWith('b'))).toEqual(['b2']);
    expect(processed.filter((id) => id.startsWith('c'))).toEqual(['c2']);
    // permanent: once; exhausted transient: maxAttempts; ambiguous without retryAmbiguous: once
    expect(attempts.get('a1')).toEqual([1]);
    expect(attempts.get('b1')).toEqual([1, 2, 3]);
    expect(attempts.get('c1')).toEqual([1]);
    expect(dead.map((d) => d.id).sort()).toEqual(['a1', 'b1', 'c1']);
    expect((dead.find((d) => d.id === 'b1')?.err as PasserelleError).code).toBe('PSL_DEST_CONNECT');

    expect(await waitFor(async () => (await q!.counts()).failed === 3, 5000)).toBe(true);
    const list = await q.listDead(10);
    const byId = new Map(list.map((d) => [d.id, d]));
    expect(byId.get('a1')).toMatchObject({ key: 'A', reason: 'PSL_DEST_NAK_ERROR: AE from peer' });
    expect(byId.get('b1')).toMatchObject({ key: 'B', reason: 'PSL_DEST_CONNECT: peer down' });
    expect(byId.get('c1')).toMatchObject({ key: 'C', reason: 'PSL_DEST_ACK_TIMEOUT: no ACK' });
    expect(byId.get('a1')!.failedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(await q.listDead(1)).toHaveLength(1);

    // reprocess: runs again from attempt 1, and leaves the dead-letter set
    healed = true;
    expect(await q.reprocess('b1')).toBe(true);
    expect(await waitFor(() => processed.includes('b1'), 10_000)).toBe(true);
    expect(attempts.get('b1')).toEqual([1, 2, 3, 1]);
    expect(dead.filter((d) => d.id === 'b1')).toHaveLength(1);
    expect(await waitFor(async () => (await q!.counts()).failed === 2, 5000)).toBe(true);
    expect((await q.listDead(10)).map((d) => d.id).sort()).toEqual(['a1', 'c1']);
    expect(await q.reprocess('nope')).toBe(false);
    expect(await q.reprocess('a2')).toBe(false); // completed, not dead
  });
});

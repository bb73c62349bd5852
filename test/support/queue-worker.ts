/**
 * A consumer process for the queue integration tests (test/queue/multi-process.int.test.ts).
 *
 * Env: QW_PREFIX, QW_NAME, QW_PARTITIONS, QW_MEMBER, QW_REDIS_PORT, QW_LEASE_MS, QW_FAIL_RATE.
 * Every completed job is recorded as RPUSH `<prefix>:test:done:<key>` "<seq>|<member>".
 * Prints "ready" once started; stops cleanly on SIGTERM.
 */
import { Redis } from 'ioredis';
import { PasserelleError } from '../../engine/errors';
import { OrderedQueue } from '../../engine/queue/ordered-queue';

async function main(): Promise<void> {
  const env = process.env;
  const prefix = env.QW_PREFIX ?? 'psl';
  const member = env.QW_MEMBER ?? `w${process.pid}`;
  const connection = { host: '127.0.0.1', port: Number(env.QW_REDIS_PORT ?? 6379) };
  const failRate = Number(env.QW_FAIL_RATE ?? 0.1);
  let seed = Number(env.QW_SEED ?? process.pid) >>> 0;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const recorder = new Redis(connection);
  const q = new OrderedQueue({
    name: env.QW_NAME ?? 'mp',
    connection,
    prefix,
    partitions: Number(env.QW_PARTITIONS ?? 8),
    leaseMs: Number(env.QW_LEASE_MS ?? 1500),
    memberId: member,
    backoff: { baseMs: 5, maxMs: 50 },
    processor: async (job) => {
      if (job.attempt === 1 && rnd() < failRate) throw new PasserelleError('PSL_TEST_TRANSIENT', 'injected');
      await recorder.rpush(`${prefix}:test:done:${job.orderingKey}`, `${job.data.seq}|${member}`);
    },
    onError: (err, context) => {
      if (env.QW_DEBUG) process.stderr.write(`[${member}] ${context}: ${String(err)}\n`);
    },
  });
  await q.start();
  process.stdout.write('ready\n');
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void q
      .stop({ drainDeadlineMs: 5000 })
      .then(() => recorder.quit())
      .finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`queue-worker failed: ${String(err)}\n`);
  process.exit(1);
});

/**
 * Fault isolation benchmark (`npm run bench -- isolation`): BENCH_ISOLATION_TOTAL messages
 * (default 100,000) over BENCH_ISOLATION_KEYS ordering keys (default 1,000) through one channel
 * with the real Pipeline, OrderedQueue, Redis and SQLite store, and three file destinations.
 * Messages are put in through the store (as intake does after its commit) before the consumers
 * start, so what is timed is the pipeline alone:
 *  - baseline: all three destinations healthy;
 *  - outage: the third one fails for every message (its directory sits under a regular file);
 * then the third one comes back and drains its backlog. Prints each healthy destination's
 * deliveries/s in both runs and their ratio (target ≥ 0.9), the drain time, and whether order per
 * key held with nothing delivered twice or dead-lettered.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BENCH_REDIS_URL, deletePrefix } from './redis-keys';
import { Pipeline } from '../engine/channels/pipeline';
import { channelSchema } from '../engine/config/channel-schema';
import { FileDestination, type Destination, type OutboundMessage } from '../engine/delivery';
import { SqliteStore } from '../engine/store';
import { Writable } from 'node:stream';
import winston from 'winston';

const TOTAL = Number(process.env.BENCH_ISOLATION_TOTAL ?? 100_000);
const KEYS = Number(process.env.BENCH_ISOLATION_KEYS ?? 1000);
const FSYNC = process.env.BENCH_ISOLATION_FSYNC !== '0';
const REDIS = { host: '127.0.0.1', port: 6379 };

const oru = (i: number): string =>
  `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|B${i}|P|2.5\r` +
  `PID|1||${1000 + (i % KEYS)}^^^HOSP^PI||TEST^BENCH\rORC|RE|K${i % KEYS}\rOBR|1|K${i % KEYS}\r` +
  `OBX|1|NM|2345-7^Glucose^LN||1.05|g/L|0.70-1.10|N|||F\rOBX|2|NM|2160-0^Creatinine^LN||9.8|mg/L|7-12|N|||F\r`;

/** Wraps a destination: counts deliveries, checks order per key and duplicates. */
class Recorder implements Destination {
  delivered = 0;
  duplicates = 0;
  outOfOrder = 0;
  firstAt = 0;
  doneAt = 0;
  private readonly seen = new Uint8Array(TOTAL);
  private readonly lastOfKey = new Int32Array(KEYS).fill(-1);
  constructor(private readonly inner: Destination) {}
  get name(): string {
    return this.inner.name;
  }
  async deliver(out: OutboundMessage): Promise<string> {
    const detail = await this.inner.deliver(out);
    const i = Number(out.controlId.slice(1));
    if (this.seen[i]) this.duplicates++;
    else {
      this.seen[i] = 1;
      this.delivered++;
    }
    const k = i % KEYS;
    if (this.lastOfKey[k]! > i) this.outOfOrder++;
    this.lastOfKey[k] = i;
    this.firstAt ||= performance.now();
    if (this.delivered === TOTAL) this.doneAt = performance.now();
    return detail;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}


const until = async (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 3600_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

interface RunResult {
  rates: Record<string, number>;
  drain?: { firstMs: number; allMs: number; rate: number };
  problems: string[];
  failingEvents: number;
  recoveredEvents: number;
  heapMb: number;
}

async function run(outage: boolean): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'psl-bench-iso-'));
  const prefix = `pslbench-${randomUUID().slice(0, 8)}`;
  const store = new SqliteStore({ path: join(dir, 'store.db'), synchronous: 'NORMAL' });
  await store.init();
  const blocker = join(dir, 'blocked');
  if (outage) writeFileSync(blocker, 'not a directory');
  const retry = { backoffBaseMs: 200, backoffMaxMs: 2000 };
  const channel = channelSchema.parse({
    name: 'bench',
    source: { type: 'mllp', port: 0 },
    acceptance: { messageTypes: ['ORU^R01'] },
    destinations: [
      { name: 'archive', type: 'file', directory: join(dir, 'archive'), retry },
      { name: 'pfi', type: 'file', directory: join(dir, 'pfi'), retry },
      { name: 'dmp', type: 'file', directory: join(blocker, 'dmp'), retry },
    ],
  });
  const recorders = channel.destinations.map(
    (d) => new Recorder(new FileDestination({ name: d.name, directory: (d as { directory: string }).directory, fsync: FSYNC })),
  );
  // The engine's info-level log (as in production), counted rather than written.
  const events = { failing: 0, recovered: 0 };
  const sink = new Writable({
    objectMode: true,
    write(info: { message?: string }, _enc, cb) {
      if (info.message === 'destination failing') events.failing++;
      if (info.message === 'destination recovered') events.recovered++;
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'info', transports: [new winston.transports.Stream({ stream: sink })] });
  const pipeline = new Pipeline({ channel, store, destinations: recorders, connection: REDIS, prefix, consume: true, logger });
  const problems: string[] = [];
  try {
    // Load: committed as intake does, then enqueued in commit order.
    for (let at = 0; at < TOTAL; at += 1000) {
      const batch = [];
      for (let i = at; i < Math.min(TOTAL, at + 1000); i++) {
        batch.push(
          store.receive(
            { channel: 'bench', controlId: `B${i}`, sender: 'LAB|SITE', messageType: 'ORU^R01', orderingKey: `order:K${i % KEYS}`, charset: 'utf-8', raw: Buffer.from(oru(i)), ack: Buffer.from('ACK'), receivedAt: new Date(), state: 'received' },
            0,
          ),
        );
      }
      const ids = await Promise.all(batch);
      await pipeline.enqueue(ids.map((r, j) => ({ id: r.id, orderingKey: `order:K${(at + j) % KEYS}` })));
    }
    const t0 = performance.now();
    await pipeline.start();
    const healthy = outage ? recorders.slice(0, 2) : recorders;
    await until(() => healthy.every((r) => r.doneAt > 0), 'healthy destinations');
    const rates: Record<string, number> = {};
    for (const r of healthy) rates[r.name] = TOTAL / ((r.doneAt - t0) / 1000);
    const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    let drain: RunResult['drain'];
    if (outage) {
      const failing = recorders[2]!;
      if (failing.delivered > 0) problems.push(`dmp delivered ${failing.delivered} while failing`);
      const t1 = performance.now();
      unlinkSync(blocker);
      await until(() => failing.doneAt > 0, 'the failing destination to drain');
      drain = { firstMs: failing.firstAt - t1, allMs: failing.doneAt - t1, rate: TOTAL / ((failing.doneAt - t1) / 1000) };
    }
    await until(async () => (await store.counts('bench')).done === TOTAL, 'every message done', 60_000).catch((e: Error) => problems.push(e.message));
    const counts = await store.counts('bench');
    if (counts.dead) problems.push(`${counts.dead} dead-lettered`);
    for (const r of recorders) {
      if (r.outOfOrder) problems.push(`${r.name}: ${r.outOfOrder} out of order`);
      if (r.duplicates) problems.push(`${r.name}: ${r.duplicates} delivered twice`);
      if (r.delivered !== TOTAL) problems.push(`${r.name}: ${r.delivered} of ${TOTAL} delivered`);
    }
    return { rates, drain, problems, failingEvents: events.failing, recoveredEvents: events.recovered, heapMb };
  } finally {
    await pipeline.stop(5000);
    await store.close();
    await deletePrefix(BENCH_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchIsolation(): Promise<void> {
  // BENCH_ISOLATION_ROUNDS > 1 alternates baseline and outage runs and takes medians (noisy machines).
  const rounds = Math.max(1, Number(process.env.BENCH_ISOLATION_ROUNDS ?? 1));
  process.stdout.write(
    `\nisolation: ${TOTAL} messages, ${KEYS} keys, 3 file destinations (fsync ${FSYNC ? 'on' : 'off'}), SQLite + Redis, ${rounds} round(s) (node ${process.version})\n`,
  );
  const bases: RunResult[] = [];
  const outs: RunResult[] = [];
  for (let r = 0; r < rounds; r++) {
    bases.push(await run(false));
    outs.push(await run(true));
  }
  for (const name of ['archive', 'pfi']) {
    const b = median(bases.map((x) => x.rates[name]!));
    const o = median(outs.map((x) => x.rates[name]!));
    process.stdout.write(`  ${name.padEnd(8)} all healthy ${b.toFixed(0).padStart(6)} deliveries/s   dmp failing ${o.toFixed(0).padStart(6)} deliveries/s   ratio ${(o / b).toFixed(2)}\n`);
  }
  const problems = [...bases, ...outs].flatMap((x) => x.problems);
  for (const [i, out] of outs.entries()) {
    const d = out.drain!;
    process.stdout.write(
      `  round ${i + 1}: dmp back: first delivery after ${(d.firstMs / 1000).toFixed(1)} s, whole backlog (${TOTAL}) after ${(d.allMs / 1000).toFixed(1)} s (${d.rate.toFixed(0)} deliveries/s); ` +
        `events: ${out.failingEvents} "destination failing", ${out.recoveredEvents} "destination recovered"; heap after the outage ${out.heapMb.toFixed(0)} MB (baseline ${bases[i]!.heapMb.toFixed(0)} MB)\n`,
    );
  }
  process.stdout.write(`  order per key, once, nothing dead: ${problems.length === 0 ? 'yes' : problems.join('; ')}\n`);
}

if (require.main === module) {
  benchIsolation().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String((e as Error).stack) + '\n');
      process.exit(1);
    },
  );
}

/**
 * Where the CPU of one ingested message goes (issue 7): the ceiling and the engine (SQLite
 * NORMAL with the intake journal) of bench/ingest.ts, in alternating runs on 8 connections.
 * Per thread of the server (/proc/<pid>/task/<tid>/stat), Redis (the redis-server answering on
 * 127.0.0.1:6379, read through /proc when it runs on this machine) and the client
 * (process.cpuUsage), in µs per message. Linux only. `npm run bench -- ingest-cpu`;
 * BENCH_CPU_RUNS (default 3), BENCH_CPU_TOTAL (default 40,000) and BENCH_CPU_WARMUP (default
 * 10,000, as bench/ingest.ts: past V8's optimizing of the intake path) change the size.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { load, startServer } from './ingest';
import { BENCH_REDIS_URL, deletePrefix } from './redis-keys';

const RUNS = Number(process.env.BENCH_CPU_RUNS ?? 3);
const TOTAL = Number(process.env.BENCH_CPU_TOTAL ?? 40_000);
const WARMUP = Number(process.env.BENCH_CPU_WARMUP ?? 10_000);
const CONNECTIONS = 8;
/** Linux reports CPU time in clock ticks of 10 ms (USER_HZ 100). */
const TICK_US = 10_000;

/** User + system ticks of one /proc stat line (fields 14 and 15). */
function ticksOf(statLine: string): number {
  const f = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, ticksOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

async function redisPid(): Promise<number | undefined> {
  const r = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const pid = Number(/process_id:(\d+)/.exec(await r.info('server'))?.[1]);
    return pid && readdirSync('/proc').includes(String(pid)) ? pid : undefined;
  } finally {
    r.disconnect();
  }
}

interface Sample { msgsPerSec: number; threads: number[]; redis?: number; client: number }

async function sample(mode: 'ceiling' | 'engine', redis: number | undefined): Promise<Sample> {
  const prefix = `pslbench-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'psl-ingest-cpu-'));
  const { child, port } = await startServer(mode, prefix, mode === 'ceiling' ? '' : 'sqlite-normal', dir, mode);
  try {
    await load(port, CONNECTIONS, WARMUP, 'warm');
    const t0 = threadTicks(child.pid!);
    const r0 = redis ? ticksOf(readFileSync(`/proc/${redis}/stat`, 'utf8')) : 0;
    const c0 = process.cpuUsage();
    const s = await load(port, CONNECTIONS, TOTAL, 'run');
    const c1 = process.cpuUsage(c0);
    const r1 = redis ? ticksOf(readFileSync(`/proc/${redis}/stat`, 'utf8')) : 0;
    const t1 = threadTicks(child.pid!);
    const per = (ticks: number): number => (ticks * TICK_US) / s.messages;
    const threads = [...t1].map(([tid, n]) => per(n - (t0.get(tid) ?? 0))).filter((x) => x > 0).sort((a, b) => b - a);
    return { msgsPerSec: s.messages / s.seconds, threads, redis: redis ? per(r1 - r0) : undefined, client: (c1.user + c1.system) / s.messages };
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await deletePrefix(BENCH_REDIS_URL, prefix);
  }
}

export async function benchIngestCpu(): Promise<void> {
  const redis = await redisPid();
  process.stdout.write(`\ningest CPU per message: ${TOTAL} ORU on ${CONNECTIONS} connections, ${RUNS} alternating runs (µs of CPU per message; threads largest first)\n`);
  for (let run = 0; run < RUNS; run++) {
    for (const mode of ['engine', 'ceiling'] as const) {
      const x = await sample(mode, redis);
      const server = x.threads.reduce((a, b) => a + b, 0);
      const all = server + (x.redis ?? 0) + x.client;
      const top = x.threads.filter((t) => t >= 1).map((t) => t.toFixed(0)).join(' + ');
      process.stdout.write(
        `  ${mode.padEnd(8)} ${Math.round(x.msgsPerSec).toString().padStart(6)} msgs/s  all ${all.toFixed(0).padStart(4)}:  server ${server.toFixed(0)} (${top}), ` +
          `Redis ${x.redis === undefined ? 'n/a' : x.redis.toFixed(0)}, client ${x.client.toFixed(0)}\n`,
      );
    }
  }
}

/**
 * `npm run bench -- scale`: one listener process and 1, then 2, worker processes
 * (`passerelle start --role listener|worker`, README "Scaling out") on one Redis and one
 * PostgreSQL (a fresh database per run), document stage included: the channel archives each
 * message (file) and renders its CR-BIO set (crbio, ANS kit from PASSERELLE_ANS_KIT, else
 * ../shared/ans). N result messages (the ORU/OUL samples, each with its own MSH-10 and order
 * number) are sent over 4 connections; the figure is messages done end to end per second, from
 * the first send to the last message done in the store. Per-process CPU comes from
 * /proc/<pid>/stat (all threads of the process), Redis's from its pid, PostgreSQL's from the
 * backends of the run's database; the machine's busy share from /proc/stat, so the limit can be
 * named (cores, Redis, store). Environment: BENCH_SCALE_TOTAL (default 400),
 * BENCH_SCALE_RENDER_THREADS (render threads per worker process, default 1),
 * PASSERELLE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test), REDIS_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { BENCH_REDIS_URL, deletePrefix } from './redis-keys';
import { MllpClient } from '../engine/mllp';

const ROOT = resolve(__dirname, '..', '..');
const TOTAL = Number(process.env.BENCH_SCALE_TOTAL ?? 400);
const RENDER_THREADS = Number(process.env.BENCH_SCALE_RENDER_THREADS ?? 1);
const PG_URL = process.env.PASSERELLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONNECTIONS = 4;
const HZ = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s

interface RunResult {
  workers: number;
  msgsPerSec: number;
  seconds: number;
  done: number;
  dead: number;
  /** CPU share of one core, per process name. */
  cpu: Record<string, number>;
  /** Busy share of all cores of the machine (every process, ours or not). */
  machineBusy: number;
}

function procTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

/** Sample messages with a fresh MSH-10 and order number each, bytes otherwise as in samples/. */
function messages(n: number, tag: string): Buffer[] {
  const dir = join(ROOT, 'samples');
  const samples = readdirSync(dir)
    .filter((f) => /^o(ru|ul)-r\d\d.*\.hl7$/.test(f))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'latin1').replace(/\r?\n/g, '\r'));
  return Array.from({ length: n }, (_, i) => {
    const lines = samples[i % samples.length]!.split('\r').map((line) => {
      const sep = line[3] ?? '|';
      const f = line.split(sep);
      if (line.startsWith('MSH')) f[9] = `${tag}-${i}`;
      else if ((line.startsWith('ORC') || line.startsWith('OBR')) && f[2]) f[2] = `${tag}O${i}^DPI`;
      return f.join(sep);
    });
    return Buffer.from(lines.join('\r'), 'latin1');
  });
}

function startEngine(role: 'listener' | 'worker', env: NodeJS.ProcessEnv, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'engine', 'cli', 'main.js'), 'start', '--role', role], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((res, rej) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      if (out.length < 100_000) out += String(d);
      if (out.includes('engine started')) res(child);
    });
    child.stderr!.on('data', (d) => (err += String(d)));
    child.once('exit', (code) => rej(new Error(`${name} exited (${code}) before starting: ${(err || out).slice(-2000)}`)));
  });
}

async function pgBackends(db: string): Promise<Map<number, number>> {
  const c = new Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE (datname = $1 AND pid <> pg_backend_pid())
          OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
      [db],
    );
    return new Map(r.rows.map((x) => [x.pid, procTicks(x.pid)]));
  } finally {
    await c.end();
  }
}

async function waitDone(db: Client, schema: string, n: number, deadlineMs: number): Promise<{ done: number; dead: number }> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await db.query<{ done: string; dead: string }>(
      `SELECT count(*) FILTER (WHERE state = 'done') AS done, count(*) FILTER (WHERE state = 'dead') AS dead FROM "${schema}".messages`,
    );
    const done = Number(r.rows[0]!.done);
    const dead = Number(r.rows[0]!.dead);
    if (done + dead >= n || Date.now() > until) return { done, dead };
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function send(port: number, msgs: Buffer[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 60_000 });
      try {
        while (next < msgs.length) {
          const m = msgs[next++]!;
          const ack = (await client.send(m)).toString('latin1');
          if (!/MSA\|AA\|/.test(ack)) throw new Error(`not accepted: ${ack.replace(/\r/g, ' | ').slice(0, 300)}`);
        }
      } finally {
        await client.close();
      }
    }),
  );
}

async function run(workers: number, kitDir: string): Promise<RunResult> {
  const id = randomUUID().slice(0, 8);
  const dbName = `psl_scale_${id}`;
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(PG_URL);
  url.pathname = `/${dbName}`;
  const storeUrl = url.toString();
  const dir = mkdtempSync(join(tmpdir(), 'psl-scale-'));
  const port = await freePort();
  mkdirSync(join(dir, 'channels'));
  writeFileSync(
    join(dir, 'channels', 'results.yaml'),
    [
      'name: results',
      'source:',
      '  type: mllp',
      '  host: 127.0.0.1',
      `  port: ${port}`,
      'acceptance:',
      '  messageTypes: [ORU^R01, OUL^R22]',
      "  versions: ['2.3', '2.4', '2.5', '2.6']",
      'ordering:',
      '  key: placer-order',
      '  partitions: 8',
      'destinations:',
      '  - name: archive',
      '    type: file',
      `    directory: ${join(dir, 'out', 'archive')}`,
      '  - name: crbio',
      '    type: crbio',
      `    directory: ${join(dir, 'out', 'crbio')}`,
      "    version: '2024.01'",
      '    profiles: [pro]',
      `    lab: ${join(ROOT, 'channels', 'labs', 'laboratoire-demo.yaml')}`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    PASSERELLE_CHANNELS: join(dir, 'channels'),
    PASSERELLE_VAR: join(dir, 'var'),
    PASSERELLE_STORE: storeUrl,
    PASSERELLE_PREFIX: `pslscale-${id}`,
    PASSERELLE_EMBEDDED_REDIS: '0',
    PASSERELLE_WATCH: '0',
    PASSERELLE_ANS_KIT: kitDir,
    PASSERELLE_LOG_LEVEL: 'info',
    PASSERELLE_RENDER_THREADS: String(RENDER_THREADS),
    REDIS_URL,
  };
  const procs: { name: string; child: ChildProcess }[] = [];
  const redis = new Redis(REDIS_URL);
  const db = new Client({ connectionString: storeUrl });
  try {
    // The listener first: it creates the schema.
    procs.push({ name: 'listener', child: await startEngine('listener', env, 'listener') });
    for (let w = 0; w < workers; w++) procs.push({ name: `worker ${w + 1}`, child: await startEngine('worker', env, `worker ${w + 1}`) });
    await db.connect();
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);

    // Warm-up: every sample once through every stage (fonts, rule sets, JIT) in every worker.
    const warm = messages(13 * 2 * workers, `W${id}`);
    await send(port, warm);
    await waitDone(db, 'passerelle', warm.length, 300_000);

    const msgs = messages(TOTAL, `R${id}`);
    const before = new Map(procs.map((p) => [p.name, procTicks(p.child.pid!)]));
    const redisBefore = procTicks(redisPid);
    const pgBefore = await pgBackends(dbName);
    const m0 = machineTicks();
    const t0 = performance.now();
    await send(port, msgs);
    const { done, dead } = await waitDone(db, 'passerelle', warm.length + msgs.length, 120_000 + TOTAL * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const m1 = machineTicks();
    const pgAfter = await pgBackends(dbName);
    const cpu: Record<string, number> = {};
    for (const p of procs) cpu[p.name] = (procTicks(p.child.pid!) - before.get(p.name)!) / HZ / seconds;
    cpu.redis = (procTicks(redisPid) - redisBefore) / HZ / seconds;
    let pgTicks = 0;
    for (const [pid, t] of pgAfter) pgTicks += t - (pgBefore.get(pid) ?? 0);
    cpu.postgresql = pgTicks / HZ / seconds;
    return {
      workers,
      msgsPerSec: (done - warm.length) / seconds,
      seconds,
      done: done - warm.length,
      dead,
      cpu,
      machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
    };
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    await db.end().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await deletePrefix(BENCH_REDIS_URL, `pslscale-${id}`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The resource at its ceiling, from the CPU figures. */
function limitOf(r: RunResult, cores: number): string {
  const ours = Object.values(r.cpu).reduce((a, b) => a + b, 0);
  const others = Math.max(0, r.machineBusy * cores - ours);
  if (r.machineBusy >= 0.9) {
    return (
      `cores (machine ${Math.round(r.machineBusy * 100)} % busy over ${cores} cores: these processes ${Math.round(ours * 100)} % of a core, ` +
      `everything else ${Math.round(others * 100)} %${others > 0.3 ? ' — other load shares the machine, rerun on a quiet one' : ''})`
    );
  }
  if (r.cpu.redis! >= 0.9) return 'Redis (one core)';
  if (r.cpu.postgresql! >= 0.9 * cores) return 'the store (PostgreSQL)';
  const busiest = Object.entries(r.cpu).sort((a, b) => b[1] - a[1])[0]!;
  return `none at its ceiling; busiest: ${busiest[0]} at ${Math.round(busiest[1] * 100)} % of a core`;
}

export async function benchScale(): Promise<RunResult[]> {
  const kitDir = resolve(process.env.PASSERELLE_ANS_KIT ?? join(ROOT, '..', 'shared', 'ans'));
  if (!existsSync(join(kitDir, 'schematrons'))) {
    throw new Error(`scale: no ANS kit at ${kitDir} (set PASSERELLE_ANS_KIT; README "ANS kit"): the document stage is part of this benchmark`);
  }
  const cores = readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length;
  const results: RunResult[] = [];
  for (const workers of [1, 2]) results.push(await run(workers, kitDir));
  process.stdout.write(
    `\nscale: ${TOTAL} result messages (samples/), 4 connections, archive + CR-BIO destinations, ` +
      `1 listener + N workers (${RENDER_THREADS} render thread(s) each), PostgreSQL store, ${cores} cores (node ${process.version})\n`,
  );
  for (const r of results) {
    const cpu = Object.entries(r.cpu).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(', ');
    process.stdout.write(
      `  ${r.workers} worker(s): ${r.msgsPerSec.toFixed(1)} msgs/s end to end (${r.done} done, ${r.dead} dead, ${r.seconds.toFixed(1)} s)\n` +
        `    CPU (share of one core): ${cpu}; machine ${Math.round(r.machineBusy * 100)} % busy\n` +
        `    limit: ${limitOf(r, cores)}\n`,
    );
  }
  const ratio = results[1]!.msgsPerSec / results[0]!.msgsPerSec;
  process.stdout.write(`  2 workers / 1 worker: ${ratio.toFixed(2)}×\n`);
  return results;
}

if (require.main === module) {
  benchScale().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String((e as Error).stack) + '\n');
      process.exit(1);
    },
  );
}

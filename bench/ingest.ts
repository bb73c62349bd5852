/**
 * Ingest benchmark: 40k ORU (4 KB) over 1 and 8 connections, each connection sending the next
 * message when the previous ACK arrived, after a warm-up of 10k per server. Same run, same machine:
 *  - ceiling: bare net server that ACKs after a BullMQ add (no durability);
 *  - engine, SQLite synchronous NORMAL with the intake journal (the default at NORMAL: ACK once
 *    the group is appended to the journal, rows indexed into SQLite just after by a background
 *    thread; survives any crash of the engine process: the recommended fast durable mode);
 *  - engine, SQLite synchronous FULL, group commits in the writer thread (the default at FULL;
 *    one fsync per group: survives power loss);
 *  - to compare: sqlite-normal-nojournal (NORMAL, group commits on the event loop),
 *    sqlite-full-journal (FULL through the journal, fdatasync per append);
 *  - engine, PostgreSQL (synchronous_commit on: one round trip and one WAL flush per group), when
 *    PASSERELLE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) answers.
 * Prints msgs/s, p50/p99 ACK latency and the ratio to the ceiling (see benchIngest for how the
 * modes share a busy machine fairly). BENCH_INGEST_ROUNDS (default 8), BENCH_INGEST_MODES (comma
 * list of the names above: ceiling, sqlite-normal, sqlite-full, sqlite-normal-nojournal, sqlite-full-journal, postgres),
 * BENCH_INGEST_TOTAL (default 40,000) and BENCH_INGEST_WARMUP (default 10,000) shorten a run.
 *
 * Why a warm-up of 10k messages per server: it measures a running engine, not one that just
 * started. V8 goes on optimizing the engine's intake path for ~30k messages after start
 * (`--trace-opt --trace-deopt` on the engine server, in successive 10k after the first 4k: 122,
 * 42, 30, then 16 functions optimized; 8, 7, 1, then 0 deopts). Over 40k messages on 8
 * connections after a warm-up of 4k, V8's helper threads spent ≈ 18 µs of CPU per message
 * (`perf record`: TurboFan's compiler) and the event loop 82–92; after a warm-up of 40k, ≈ 9
 * and 73, while the index thread went from 36–40 to 47–67 (a bigger database). The bare
 * ceiling has little code to compile. Every server gets the same warm-up: it is not in the
 * engine's favour alone.
 * Slices of 5k messages (40k over 8 rounds) rather than 4k over 5: this 2-core machine's speed
 * moves within a second, and each round's ratio with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_REDIS_URL, deletePrefix } from './redis-keys';
import { Client } from 'pg';
import { MllpClient } from '../engine/mllp';
import { oru4k } from './fixtures/oru';

const TOTAL = Number(process.env.BENCH_INGEST_TOTAL ?? 40_000);
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 8);
const WARMUP = Number(process.env.BENCH_INGEST_WARMUP ?? Math.min(10_000, TOTAL / 4));
const PG_URL = process.env.PASSERELLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const LABELS: Record<string, string> = {
  ceiling: 'ceiling (no durability)',
  'sqlite-normal': 'SQLite NORMAL, journal',
  'sqlite-normal-nojournal': 'SQLite NORMAL, no journal',
  'sqlite-full': 'SQLite FULL, thread',
  'sqlite-full-journal': 'SQLite FULL, journal',
  postgres: 'PostgreSQL',
};

async function pgReachable(): Promise<boolean> {
  const c = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function dropSchema(schema: string): Promise<void> {
  const c = new Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => c.end());
}

interface RunResult { mode: string; connections: number; msgsPerSec: number; p50: number; p99: number; ratio: number; ratioMin: number; ratioMax: number }

export function startServer(mode: string, prefix: string, store: string, dir: string, label: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [resolve(__dirname, 'ingest-server.js'), mode, prefix, store, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    let out = '';
    let ready = false;
    child.stdout!.on('data', (d) => {
      if (ready) return void process.stderr.write(String(d).replace(/^(?=.)/gm, `[${label}] `)); // the engine's warnings and errors
      out += String(d);
      const m = /READY (\d+)/.exec(out);
      if (m) {
        ready = true;
        res({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => rej(new Error(`${mode} server exited ${code}`)));
  });
}

interface Slice { messages: number; seconds: number; latencies: number[] }

export async function load(port: number, connections: number, total: number, tag: string): Promise<Slice> {
  const base = oru4k();
  const latencies: number[] = [];
  const perConn = Math.ceil(total / connections);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 30_000 });
      try {
        for (let i = 0; i < perConn; i++) {
          const id = `${tag}-${c}-${i}`;
          const msg = Buffer.from(base.replace('|MSG00001|', `|${id}|`).replace('CMD001^DPI', `CMD${c}x${i % 50}^DPI`));
          const s = performance.now();
          const ack = (await client.send(msg)).toString();
          latencies.push(performance.now() - s);
          if (!ack.includes(`MSA|AA|${id}`)) throw new Error(`unexpected ACK for ${id}: ${ack.slice(0, 600).replace(/\r/g, "\\r")}`);
        }
      } finally {
        await client.close();
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { messages: perConn * connections, seconds: secs, latencies };
}

function quantile(sorted: number[], p: number): number {
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}


/**
 * The machine may be shared: every mode's server runs at once and the load goes to them in
 * interleaved slices (ROUNDS rounds, each mode once per round, order rotated), so a change in
 * background load hits every mode alike. The ratio printed is the median of the per-round
 * ratios to the ceiling (range beside it); msgs/s and latencies are over all slices.
 */
export async function benchIngest(): Promise<RunResult[]> {
  const wanted = (process.env.BENCH_INGEST_MODES ?? 'ceiling,sqlite-normal,sqlite-full,sqlite-normal-nojournal,sqlite-full-journal,postgres').split(',');
  if (!wanted.includes('ceiling')) wanted.unshift('ceiling'); // ratios need it
  const withPg = wanted.includes('postgres') && (await pgReachable());
  const modes = wanted.filter((m) => m !== 'postgres' || withPg);
  const results: RunResult[] = [];
  for (const connections of [1, 8]) {
    const servers: { mode: string; prefix: string; schema: string; child: ChildProcess; port: number; dir: string }[] = [];
    try {
      for (const mode of modes) {
        const prefix = `pslbench-${randomUUID().slice(0, 8)}`;
        const schema = prefix.replace(/-/g, '_');
        const store = mode === 'postgres' ? `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}` : mode;
        const dir = mkdtempSync(join(tmpdir(), 'psl-ingest-bench-'));
        const { child, port } = await startServer(mode === 'ceiling' ? 'ceiling' : 'engine', prefix, mode === 'ceiling' ? '' : store, dir, mode);
        servers.push({ mode, prefix, schema, child, port, dir });
        await load(port, connections, WARMUP, `warm${connections}`); // warm-up
      }
      const slices = new Map<string, Slice[]>(modes.map((m) => [m, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < servers.length; k++) {
          const s = servers[(k + round) % servers.length]!;
          slices.get(s.mode)!.push(await load(s.port, connections, TOTAL / ROUNDS, `r${round}c${connections}`));
        }
      }
      const rate = (x: Slice): number => x.messages / x.seconds;
      const ceil = slices.get('ceiling')!;
      for (const mode of modes) {
        const mine = slices.get(mode)!;
        const ratios = mine.map((x, i) => rate(x) / rate(ceil[i]!));
        const lat = mine.flatMap((x) => x.latencies).sort((a, b) => a - b);
        const messages = mine.reduce((n, x) => n + x.messages, 0);
        const seconds = mine.reduce((n, x) => n + x.seconds, 0);
        results.push({
          mode, connections, msgsPerSec: Math.round(messages / seconds), p50: quantile(lat, 0.5), p99: quantile(lat, 0.99),
          ratio: median(ratios), ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios),
        });
      }
    } finally {
      for (const s of servers) {
        s.child.kill('SIGKILL');
        if (s.child.exitCode === null && s.child.signalCode === null) await new Promise((r) => s.child.once('exit', r));
        rmSync(s.dir, { recursive: true, force: true });
        await deletePrefix(BENCH_REDIS_URL, s.prefix);
        if (s.mode === 'postgres') await dropSchema(s.schema).catch(() => undefined);
      }
    }
  }
  process.stdout.write(
    `\ningest: ${TOTAL} ORU of ${Buffer.byteLength(oru4k())} bytes per mode and connection count, sequential send/ACK per connection, ` +
      `${ROUNDS} interleaved rounds (node ${process.version})\n`,
  );
  if (!withPg && wanted.includes('postgres')) process.stdout.write(`  (PostgreSQL skipped: nothing answers at ${PG_URL.replace(/:[^:@/]+@/, ':***@')})\n`);
  for (const connections of [1, 8]) {
    process.stdout.write(`\n${connections} connection(s)                    msgs/s    p50 ms   p99 ms   ratio to ceiling: median (range over rounds)\n`);
    for (const r of results.filter((x) => x.connections === connections)) {
      process.stdout.write(
        `  ${(LABELS[r.mode] ?? r.mode).padEnd(26)} ${String(r.msgsPerSec).padStart(7)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)}   ` +
          `${r.ratio.toFixed(2)} (${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)})\n`,
      );
    }
  }
  return results;
}

if (require.main === module) {
  benchIngest().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String((e as Error).stack) + '\n');
      process.exit(1);
    },
  );
}

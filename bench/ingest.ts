/**
 * Ingest benchmark: 20k ORU (4 KB) over 1 and 8 connections, each connection sending the next
 * message when the previous ACK arrived. Same run, same machine:
 *  - ceiling: bare net server that ACKs after a BullMQ add (no durability);
 *  - engine, SQLite synchronous NORMAL, group commit in the writer thread (survives kill -9 of
 *    the engine: the recommended durable mode);
 *  - engine, SQLite synchronous FULL, same (one fsync per group: survives power loss);
 *  - engine, SQLite NORMAL with the commits on the event loop (PASSERELLE_SQLITE_INTAKE_THREAD=0);
 *  - engine, PostgreSQL (synchronous_commit on: one round trip and one WAL flush per group), when
 *    PASSERELLE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) answers.
 * Prints msgs/s, p50/p99 ACK latency and the ratio to the ceiling. BENCH_INGEST_MODES (comma
 * list of the names above: ceiling, sqlite-normal, sqlite-full, sqlite-normal-inline, postgres)
 * and BENCH_INGEST_TOTAL shorten a run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { MllpClient } from '../engine/mllp';
import { oru4k } from './fixtures/oru';

const TOTAL = Number(process.env.BENCH_INGEST_TOTAL ?? 20_000);
const PG_URL = process.env.PASSERELLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const LABELS: Record<string, string> = {
  ceiling: 'ceiling (no durability)',
  'sqlite-normal': 'SQLite NORMAL, thread',
  'sqlite-full': 'SQLite FULL, thread',
  'sqlite-normal-inline': 'SQLite NORMAL, on loop',
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

interface RunResult { mode: string; connections: number; msgsPerSec: number; p50: number; p99: number }

function startServer(mode: string, prefix: string, store: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [resolve(__dirname, 'ingest-server.js'), mode, prefix, store], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = /READY (\d+)/.exec(out);
      if (m) res({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => rej(new Error(`${mode} server exited ${code}`)));
  });
}

async function load(port: number, connections: number, total: number, tag: string): Promise<{ msgsPerSec: number; p50: number; p99: number }> {
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
          if (!ack.includes(`MSA|AA|${id}`)) throw new Error(`unexpected ACK for ${id}: ${ack.slice(0, 200)}`);
        }
      } finally {
        await client.close();
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2));
  return { msgsPerSec: Math.round((perConn * connections) / secs), p50: q(0.5), p99: q(0.99) };
}

async function cleanup(prefix: string): Promise<void> {
  const r = new Redis({ host: '127.0.0.1', port: 6379 });
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await r.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  r.disconnect();
}

export async function benchIngest(): Promise<RunResult[]> {
  const wanted = (process.env.BENCH_INGEST_MODES ?? 'ceiling,sqlite-normal,sqlite-full,sqlite-normal-inline,postgres').split(',');
  if (!wanted.includes('ceiling')) wanted.unshift('ceiling'); // ratios need it
  const withPg = wanted.includes('postgres') && (await pgReachable());
  const modes = wanted.filter((m) => m !== 'postgres' || withPg);
  const results: RunResult[] = [];
  for (const connections of [1, 8]) {
    for (const mode of modes) {
      const prefix = `pslbench-${randomUUID().slice(0, 8)}`;
      const schema = prefix.replace(/-/g, '_');
      const store = mode === 'postgres' ? `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}` : mode;
      const { child, port } = await startServer(mode === 'ceiling' ? 'ceiling' : 'engine', prefix, mode === 'ceiling' ? '' : store);
      try {
        await load(port, connections, Math.min(2000, TOTAL / 10), `warm${connections}`); // warm-up
        const r = await load(port, connections, TOTAL, `run${connections}`);
        results.push({ mode, connections, ...r });
      } finally {
        child.kill('SIGKILL');
        await cleanup(prefix);
        if (mode === 'postgres') await dropSchema(schema).catch(() => undefined);
      }
    }
  }
  process.stdout.write(`\ningest: ${TOTAL} ORU of ${Buffer.byteLength(oru4k())} bytes, sequential send/ACK per connection (node ${process.version})\n`);
  if (!withPg && wanted.includes('postgres')) process.stdout.write(`  (PostgreSQL skipped: nothing answers at ${PG_URL.replace(/:[^:@/]+@/, ':***@')})\n`);
  for (const connections of [1, 8]) {
    const ceil = results.find((r) => r.connections === connections && r.mode === 'ceiling')!;
    process.stdout.write(`\n${connections} connection(s)\n`);
    for (const r of results.filter((x) => x.connections === connections)) {
      const ratio = (r.msgsPerSec / ceil.msgsPerSec).toFixed(2);
      process.stdout.write(`  ${(LABELS[r.mode] ?? r.mode).padEnd(24)} ${String(r.msgsPerSec).padStart(6)} msgs/s  p50 ${r.p50} ms  p99 ${r.p99} ms  ratio to ceiling ${ratio}\n`);
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

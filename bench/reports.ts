/**
 * Reports benchmark (`npm run bench -- reports`, issue 8): BENCH_REPORTS_COUNT reports (default
 * 2,000) × 3 messages each (partial, final, correction of one OBX) through the real listener
 * (MLLP, 4 connections, each report's messages in order on one connection) of one engine:
 *  - per message: a `crbio` destination renders one document set per message (before issue 8);
 *  - reports: a `reports` destination applies each message to its report and publishes the next
 *    version (v1 active, v2 completed, v3 the correction).
 * Same engine, same render threads, inline validation only (fullValidation off) in both. Prints
 * messages/s from the first send to the last document written, the ratio (target ≥ 0.8), how
 * much the database grew per message in each mode (pages in use), and the size of a report's
 * state. Both modes first take 20 reports of warm-up.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { Engine } from '../engine/engine';
import { engineConfigFromEnv } from '../engine/config/engine-config';
import { resolveAnsKit, repoRootOf } from '../engine/config/reference-data';
import { createLogger } from '../engine/runtime/logger';
import { decode } from '../engine/hl7';
import { MllpClient } from '../engine/mllp';
import { BENCH_REDIS_URL, deletePrefix } from './redis-keys';

const REPORTS = Number(process.env.BENCH_REPORTS_COUNT ?? 2000);
const CONNECTIONS = 4;
/** Reports sent through each mode before the measured runs. */
const WARMUP = 20;
const REPO = resolve(__dirname, '..', '..');
const BASE = decode(readFileSync(join(REPO, 'samples', 'oru-r01_ltw_biochemistry.hl7'))).text;
const GLU = 'OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||0.95|g/L^g/L^UCUM|0.70-1.10|N|||F|||20261125073000|||||20261125100500';
const CREA = (value: string, status: string, at: string): string =>
  `OBX|2|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN||${value}|mg/L^mg/L^UCUM|5.0-9.0|N|||${status}|||20261125073000|||||${at}`;

/** Message `step` (0 partial, 1 final, 2 correction) of report `r`, for `mode`'s channel. */
function message(mode: string, r: number, step: number): Buffer {
  const obx = [[GLU, CREA('', 'I', '')], [GLU, CREA('9.8', 'F', '20261125100500')], [CREA('8.9', 'C', '20261125143000')]][step]!;
  const obr25 = ['P', 'F', 'C'][step]!;
  const out: string[] = [];
  for (const l of BASE.split('\r').filter((x) => x !== '')) {
    if (l.startsWith('MSH|')) out.push(l.replace('|SMP-ORU-0001|', `|${mode[0]}${r}-${step}|`));
    else if (l.startsWith('ORC|') || l.startsWith('OBR|')) {
      const x = l.replace(/CMD-0001/g, `CMD-${r}`).replace(/LAB-0001/g, `LAB-${r}`);
      out.push(l.startsWith('OBR|') ? x.replace(/\|F$/, `|${obr25}`) : x);
    } else if (l.startsWith('OBX|') || l.startsWith('NTE|')) continue;
    else if (l.startsWith('SPM|')) out.push(...obx, l);
    else out.push(l);
  }
  return Buffer.from(out.join('\r'), 'utf8');
}

/** Bytes the database uses (pages in use, WAL included), as a reader sees it now. */
function storeBytes(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const r = db.prepare('SELECT (page_count - freelist_count) * page_size AS n FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()').get() as { n: number };
    return r.n;
  } finally {
    db.close();
  }
}

/** Sends reports [from, to) and waits until every message's document or version is written. */
async function run(engine: Engine, mode: 'per-message' | 'reports', dbFile: string, from: number, to: number): Promise<{ seconds: number; perSec: number; bytesPerMessage: number }> {
  const port = engine.channel(mode)!.port!;
  const before = storeBytes(dbFile);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 60_000 });
      try {
        for (let r = from + c; r < to; r += CONNECTIONS) for (let step = 0; step < 3; step++) await client.send(message(mode, r, step));
      } finally {
        await client.close();
      }
    }),
  );
  const db = new Database(dbFile, { readonly: true });
  const done = db.prepare<[string], { n: number; dead: number }>(
    `SELECT count(*) AS n, sum(d.state = 'dead') AS dead FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.channel = ? AND d.destination = 'documents' AND d.state IN ('delivered', 'dead')`,
  );
  try {
    for (;;) {
      const { n, dead } = done.get(mode)!;
      if (dead > 0) throw new Error(`${mode}: ${dead} message(s) dead-lettered (passerelle messages ${mode} --state dead)`);
      if (n >= to * 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    db.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const messages = (to - from) * 3;
  return { seconds, perSec: messages / seconds, bytesPerMessage: (storeBytes(dbFile) - before) / messages };
}

export async function benchReports(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'psl-bench-reports-'));
  const prefix = `pslbench-${randomUUID().slice(0, 8)}`;
  const lab = join(REPO, 'channels', 'labs', 'laboratoire-demo.yaml');
  mkdirSync(join(dir, 'channels'));
  const destination = (type: string, extra: string): string =>
    `destinations:\n  - name: documents\n    type: ${type}\n    directory: ${join(dir, type)}\n    lab: ${lab}\n    fullValidation: false\n${extra}`;
  const channel = (name: string, dest: string): string =>
    `name: ${name}\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: 0\nacceptance:\n  messageTypes: [ORU^R01]\n${dest}`;
  writeFileSync(join(dir, 'channels', 'per-message.yaml'), channel('per-message', destination('crbio', '')));
  writeFileSync(join(dir, 'channels', 'reports.yaml'), channel('reports', destination('reports', '    ownFillers: [SIL-LABO]\n')));
  const dbFile = join(dir, 'store.db');
  const engine = new Engine(
    engineConfigFromEnv({}, {
      channelsDir: join(dir, 'channels'),
      varDir: join(dir, 'var'),
      embeddedRedis: false,
      redisUrl: BENCH_REDIS_URL,
      prefix,
      store: `sqlite:${dbFile}`,
      ansKitDir: resolveAnsKit({ root: repoRootOf(__dirname) }),
      watchChannels: false,
    }),
    createLogger({ level: 'warn' }),
  );
  await engine.start();
  try {
    // Warm-up of both (render threads, rule sets, JIT), then the measured runs.
    await run(engine, 'per-message', dbFile, 0, WARMUP);
    await run(engine, 'reports', dbFile, 0, WARMUP);
    const per = await run(engine, 'per-message', dbFile, WARMUP, WARMUP + REPORTS);
    const rep = await run(engine, 'reports', dbFile, WARMUP, WARMUP + REPORTS);
    const db = new Database(dbFile, { readonly: true });
    const v = db.prepare(`SELECT count(*) AS n, sum(status = 'active') AS active FROM report_versions`).get() as { n: number; active: number };
    const st = db.prepare('SELECT avg(length(state)) AS avg FROM reports').get() as { avg: number };
    db.close();
    process.stdout.write(
      `\nreports: ${REPORTS} reports × 3 messages (partial, final, correction) over ${CONNECTIONS} connections, one engine, inline validation (node ${process.version})\n` +
        `  one document set per message   ${per.perSec.toFixed(1).padStart(7)} msgs/s (${per.seconds.toFixed(1)} s), database +${Math.round(per.bytesPerMessage)} B/msg\n` +
        `  reports, one version per change ${rep.perSec.toFixed(1).padStart(7)} msgs/s (${rep.seconds.toFixed(1)} s), database +${Math.round(rep.bytesPerMessage)} B/msg, ` +
        `${v.n - WARMUP * 3} versions (${v.active - WARMUP} active), report state ${Math.round(st.avg)} B each\n` +
        `  ratio reports / per message: ${(rep.perSec / per.perSec).toFixed(2)} (target ≥ 0.8)\n`,
    );
  } finally {
    await engine.stop();
    await deletePrefix(BENCH_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchReports().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String((e as Error).stack) + '\n');
      process.exit(1);
    },
  );
}

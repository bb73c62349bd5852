/**
 * MLLP/HL7 fuzzer: mutated frames of the HL7 sample corpus through the real listener of a real
 * engine process over several connections, and through the parser in-process. Frame n of seed
 * S is the same bytes on every run (its own PRNG stream), whatever the interleaving.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { MllpClient } from '../../engine/mllp';
import { SqliteStore } from '../../engine/store/sqlite';
import { loadCorpus } from './corpus';
import { ConnectionDriver, ackCode, newTally, type Tally } from './connection-driver';
import { EngineProcess } from './engine-process';
import { mutate, prng, wireBytes, type FuzzFrame } from './mutate';
import { probeParser } from './parser-probe';
import { deletePrefix } from '../redis-keys';

export interface FuzzOptions {
  frames: number;
  seed: number;
  connections?: number;
  /** In-sync frames in flight per connection. */
  window?: number;
  /** No answer and no close for this long = a hang. */
  timeoutMs?: number;
  rssLimitMb?: number;
  /** Working directory (store, logs, findings); a temporary one by default. */
  dir?: string;
  redisUrl?: string;
  port?: number;
  /** Also drive the parser in-process with every frame. */
  parser?: boolean;
  /** Extra top-level YAML for the fuzzed channel (limits, refusals). */
  channelExtra?: string;
  crbio?: { kitDir: string; lab: string };
  /**
   * source.nakRate.perSecond of the fuzzed channel. Default 10,000: the fuzzer measures the
   * engine, not the throttle (the channel default, 20/s per connection, would pace the run).
   */
  nakPerSecond?: number;
  /** The fuzzed channel's refusal quota (channel defaults unless `channelExtra` sets `refusals`). */
  refusalQuota?: { maxCount: number; maxBytes: number };
  progress?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  frames: number;
  tally: Tally;
  seconds: number;
  framesPerSecond: number;
  engineExit?: { code: number | null; signal: string | null };
  crashes: number;
  maxRssMb: number;
  storeBytes: number;
  counts: Record<string, number>;
  refusals?: { count: number; bytes: number; dropped: number };
  parserFindings: { frame: number; error: string }[];
  finalAck: string;
  failures: string[];
  dir: string;
}

/** Frame `n` of seed `seed`: deterministic and independent of the others. */
export function fuzzFrame(corpus: { bytes: Buffer }[], seed: number, n: number): { frame: FuzzFrame; rng: () => number } {
  const rng = prng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0);
  const base = corpus[Math.floor(rng() * corpus.length)]!.bytes;
  return { frame: mutate(rng, base), rng };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const net = require('node:net') as typeof import('node:net');
    const srv = net.createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address() as import('node:net').AddressInfo;
      srv.close(() => res(a.port));
    });
  });
}

function validMessage(id: string): Buffer {
  const text = readFileSync(resolve(__dirname, '../..', __dirname.includes('/dist/') ? '..' : '.', 'samples/oru-r01_ltw_biochemistry.hl7'), 'utf8');
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l !== '');
  const msh = lines[0]!.split('|');
  msh[9] = id;
  lines[0] = msh.join('|');
  return Buffer.from(lines.join('\r') + '\r', 'utf8');
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const corpus = loadCorpus();
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'psl-fuzz-'));
  mkdirSync(dir, { recursive: true });
  const connections = o.connections ?? 4;
  const window = o.window ?? 4;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const rssLimitMb = o.rssLimitMb ?? 500;
  const port = o.port ?? (await freePort());
  const redisUrl = o.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `pslfuzz-${randomUUID().slice(0, 8)}`;
  const engine = new EngineProcess({
    dir,
    port,
    redisUrl,
    prefix,
    channelExtra: o.channelExtra,
    crbio: o.crbio,
    nakPerSecond: o.nakPerSecond ?? 10_000,
  });
  await engine.start();
  const tally = newTally();
  const parserFindings: FuzzReport['parserFindings'] = [];
  const failures: string[] = [];
  let next = 0;
  const t0 = performance.now();
  let lastProgress = t0;

  const sender = async (): Promise<void> => {
    const driver = new ConnectionDriver(port, window, timeoutMs, tally);
    for (;;) {
      if (engine.exit) return;
      const n = next++;
      if (n >= o.frames) break;
      const { frame, rng } = fuzzFrame(corpus, o.seed, n);
      if (o.parser !== false) {
        const wire = wireBytes(prng(n), frame);
        const err = probeParser(frame.payload, wire, rng);
        if (err && parserFindings.length < 100) {
          parserFindings.push({ frame: n, error: `${err.name}: ${err.message}` });
          mkdirSync(join(dir, 'findings'), { recursive: true });
          writeFileSync(join(dir, 'findings', `parser-${o.seed}-${n}.hl7`), frame.payload);
        }
      }
      await driver.send(frame, rng, n);
      const now = performance.now();
      if (o.progress && now - lastProgress > 5000) {
        lastProgress = now;
        o.progress(`${tally.sent} frames, ${Math.round(tally.sent / ((now - t0) / 1000))}/s, max RSS ${Math.round(engine.maxRssKb / 1024)} MB, store ${Math.round(engine.storeBytes() / 1048576)} MB`);
      }
    }
    await driver.finish();
  };
  await Promise.all(Array.from({ length: connections }, () => sender()));
  const seconds = (performance.now() - t0) / 1000;

  // A valid message must still be taken: the engine survived and serves good senders.
  let finalAck = '';
  if (!engine.exit) {
    const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: timeoutMs });
    try {
      finalAck = ackCode(await client.send(validMessage(`FUZZ-FINAL-${o.seed}-${Date.now()}`)));
    } catch (e) {
      finalAck = `error: ${(e as Error).message}`;
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  engine.sample();
  const engineExit = engine.exit;
  await engine.stop();

  const store = new SqliteStore({ path: engine.storePath });
  let counts: Record<string, number> = {};
  let refusals: FuzzReport['refusals'];
  try {
    await store.init();
    counts = { ...(await store.counts(engine.channel)) };
    const withStats = store as unknown as { refusalStats?: (c: string) => Promise<{ count: number; bytes: number; dropped: number }> };
    if (withStats.refusalStats) refusals = await withStats.refusalStats(engine.channel);
  } finally {
    await store.close();
  }

  const maxRssMb = Math.round(engine.maxRssKb / 1024);
  const answered = Object.values(tally.answers).reduce((a, b) => a + b, 0);
  if (engineExit) failures.push(`engine exited during the run: ${JSON.stringify(engineExit)} (log: ${engine.logPath})`);
  if (tally.hangs > 0) {
    failures.push(`${tally.hangs} frame(s) got neither an answer nor a close within ${timeoutMs} ms: ${JSON.stringify(tally.hangFrames)}; frames sent on those connections: ${JSON.stringify(tally.hangHistory)}`);
    mkdirSync(join(dir, 'findings'), { recursive: true });
    for (const h of tally.hangFrames) if (h.n >= 0) writeFileSync(join(dir, 'findings', `hang-${o.seed}-${h.n}.hl7`), fuzzFrame(corpus, o.seed, h.n).frame.payload);
  }
  if (tally.badAnswers > 0) failures.push(`${tally.badAnswers} answer(s) without MSA, first: ${JSON.stringify(tally.badSample)}`);
  if (maxRssMb > rssLimitMb) failures.push(`engine RSS reached ${maxRssMb} MB (limit ${rssLimitMb} MB)`);
  if (parserFindings.length > 0) failures.push(`${parserFindings.length} parser finding(s) (inputs in ${join(dir, 'findings')})`);
  if (finalAck !== 'AA') failures.push(`the final valid message got ${JSON.stringify(finalAck)}, not AA`);
  if (answered === 0 && o.frames > 0) failures.push('no frame was answered');
  const quota = o.refusalQuota ?? { maxCount: 10_000, maxBytes: 32 * 1024 * 1024 };
  if (refusals && (refusals.count > quota.maxCount || refusals.bytes > quota.maxBytes)) {
    failures.push(`refusals over the channel quota: ${refusals.count} kept (${refusals.bytes} bytes), quota ${quota.maxCount} (${quota.maxBytes} bytes)`);
  }
  await deletePrefix(redisUrl, prefix).catch(() => undefined);
  const storeBytes = engine.storeBytes();
  // A temporary directory is removed after a clean run; kept (with findings and log) otherwise.
  if (ownDir && failures.length === 0) rmSync(dir, { recursive: true, force: true });
  return {
    seed: o.seed,
    frames: o.frames,
    tally,
    seconds: Number(seconds.toFixed(1)),
    framesPerSecond: Math.round(tally.sent / seconds),
    engineExit,
    crashes: engineExit ? 1 : 0,
    maxRssMb,
    storeBytes,
    counts,
    refusals,
    parserFindings,
    finalAck,
    failures,
    dir,
  };
}


export function formatReport(r: FuzzReport): string {
  const t = r.tally;
  const answers = Object.entries(t.answers).sort().map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `fuzz: seed ${r.seed}, ${t.sent} frames sent in ${r.seconds} s (${r.framesPerSecond} frames/s)`,
    `  answers: ${answers || 'none'}; closed unanswered ${t.closedUnanswered}; connections closed ${t.connectionsClosed}; hangs ${t.hangs}; bad answers ${t.badAnswers}`,
    `  crashes ${r.crashes}${r.engineExit ? ` (${JSON.stringify(r.engineExit)})` : ''}; parser findings ${r.parserFindings.length}`,
    `  engine max RSS ${r.maxRssMb} MB; store ${(r.storeBytes / 1048576).toFixed(1)} MB; states ${Object.entries(r.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ')}`,
    r.refusals ? `  refusals kept ${r.refusals.count} (${(r.refusals.bytes / 1024).toFixed(0)} KB stored), dropped by quota ${r.refusals.dropped}` : '  refusals: no quota figures (store without refusalStats)',
    `  final valid message: ${r.finalAck}`,
    r.failures.length ? `  FAILED: ${r.failures.join('; ')}` : '  OK',
    `  work dir ${r.dir}${r.failures.length === 0 && r.dir.includes('psl-fuzz-') ? ' (removed)' : ''}`,
  ].join('\n');
}

/**
 * Outage soak (`npm run soak`; its 60-second version runs in `npm test`,
 * test/channels/soak.int.test.ts).
 *
 * A real engine process (`passerelle start`, own channels dir, var dir, SQLite store and
 * redis-server) takes ORU^R01 over MLLP at a steady rate with many ordering keys. Its channel has
 * two destinations: `archive` (files) and `eai` (MLLP to a receiver in this process). The receiver
 * is closed for a long middle part of the run, then reopened. At the end every message must have
 * reached each destination exactly once, in send order per key, nothing dead-lettered, the engine
 * log must hold one "destination failing" and one "destination recovered" event for `eai`, and
 * the engine's RSS (sampled from /proc) must be flat: last-window average / first-window average
 * within a bound. Prints a summary; exits 1 on any violation.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { MllpClient } from '../engine/mllp';
import { freePort, startRedis } from '../test/support/redis';
import { RssSampler, type RssReport } from './rss-sampler';
import { DownstreamReceiver } from './downstream-receiver';
import { portOpen } from './fuzz/engine-process';

export interface SoakOptions {
  /** Seconds of sending. */
  durationS: number;
  /** Messages per second, all connections together. */
  rate: number;
  connections: number;
  /** Ordering keys (placer orders); each belongs to one connection, so its send order is known. */
  keys: number;
  /** The `eai` receiver closes at this second of the send and reopens at `upAtS`. */
  downAtS: number;
  upAtS: number;
  /** How long to wait after the send for every destination to catch up. */
  drainTimeoutS: number;
  rssEveryMs: number;
  /** Length of the first and last RSS windows compared. */
  rssWindowS: number;
  /** RSS is "flat" when last-window average / first-window average ≤ this. */
  rssFlatRatio: number;
  /** Working directory (default: a new temporary one). */
  dir?: string;
  /** Engine store (PASSERELLE_STORE form; default SQLite in the working directory), e.g. postgres://…?schema=soak1. */
  store?: string;
  /** Progress lines (default: stdout). */
  print?: (line: string) => void;
}

export interface DestinationOutcome {
  /** Distinct MSH-10 that arrived. */
  delivered: number;
  /** Arrivals of an MSH-10 that had already arrived (files: extra files for one MSH-10). */
  duplicates: number;
  /** ACKed messages that never arrived. */
  missing: number;
  /** Keys whose arrival order differs from their send order. */
  keysOutOfOrder: number;
}

export interface SoakResult {
  dir: string;
  sent: number;
  archive: DestinationOutcome;
  eai: DestinationOutcome;
  /** State counts from `passerelle messages soak --state dead`. */
  storeCounts: Record<string, number>;
  deadListed: number;
  failingEvents: number;
  recoveredEvents: number;
  deadLetteredEvents: number;
  /** Seconds from the receiver's return until it held every message ACKed before that. */
  drainS: number;
  /** Seconds from the receiver's return to the engine's "destination recovered" (its first delivery). */
  recoveredAfterS: number;
  /** Largest archive backlog (ACKed, no file yet) while `eai` was down, and outside. */
  archiveLagMax: { outage: number; healthy: number };
  rss: RssReport;
  violations: string[];
}

export const SOAK_DEFAULTS: SoakOptions = {
  durationS: 600,
  rate: 50,
  connections: 4,
  keys: 200,
  downAtS: 120,
  upAtS: 420,
  drainTimeoutS: 300,
  rssEveryMs: 2000,
  rssWindowS: 60,
  rssFlatRatio: 1.3,
};

// bench/soak.ts under ts-jest, dist/bench/soak.js when built: the engine is always the built one.
const ROOT = basename(resolve(__dirname, '..')) === 'dist' ? resolve(__dirname, '../..') : resolve(__dirname, '..');
const CLI = join(ROOT, 'dist/engine/cli/main.js');
const CHANNEL = 'soak';
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function message(controlId: string, key: string, n: number): string {
  return (
    [
      `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261206120000||ORU^R01^ORU_R01|${controlId}|P|2.5`,
      `PID|1||${key}^^^HOSP&1.2.250.1.999.1.2&ISO^PI||SOAK^TEST`,
      `ORC|RE|${key}`,
      `OBR|1|${key}||2345-7^Glucose^LN`,
      `OBX|1|NM|2345-7^Glucose^LN||${n}|g/L|||||F`,
      `OBX|2|NM|2160-0^Creatinine^LN||${(n % 90) + 40}|umol/L|||||F`,
    ].join('\r') + '\r'
  );
}


async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await delay(everyMs);
  }
}

function channelFile(o: { port: number; downstream: number; out: string }): string {
  return [
    `name: ${CHANNEL}`,
    'source:',
    '  type: mllp',
    '  host: 127.0.0.1',
    `  port: ${o.port}`,
    'acceptance:',
    '  messageTypes: [ORU^R01]',
    'ordering:',
    '  key: placer-order',
    '  partitions: 8',
    'destinations:',
    '  - name: archive',
    '    type: file',
    `    directory: ${o.out}`,
    // The store id in the name: a message stored twice would leave two files for one MSH-10.
    '    fileName: ${MSH-10}_${id}.hl7',
    '  - name: eai',
    '    type: mllp',
    '    host: 127.0.0.1',
    `    port: ${o.downstream}`,
    '    responseTimeoutMs: 15000',
    '    retry:',
    // Short backoff so the recovered destination drains at once. maxAttempts stays at its default
    // (10): failures during an outage of the whole destination must not use up attempts.
    '      backoffBaseMs: 200',
    '      backoffMaxMs: 2000',
    '      retryAmbiguous: true',
    '',
  ].join('\n');
}

/** Keys whose first arrivals (in order) differ from the send order. */
function keysOutOfOrder(arrivals: Iterable<string>, keyOf: Map<string, string>, sentByKey: Map<string, string[]>): number {
  const seen = new Set<string>();
  const got = new Map<string, string[]>();
  for (const id of arrivals) {
    if (seen.has(id) || !keyOf.has(id)) continue;
    seen.add(id);
    const k = keyOf.get(id)!;
    const list = got.get(k) ?? [];
    list.push(id);
    got.set(k, list);
  }
  let bad = 0;
  for (const [k, sent] of sentByKey) {
    const g = got.get(k) ?? [];
    // Only compare what arrived (missing ones are counted apart): g must be a prefix-ordered subsequence.
    let i = 0;
    for (const id of sent) if (i < g.length && g[i] === id) i++;
    if (i !== g.length) bad++;
  }
  return bad;
}

export async function runSoak(opts: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const o: SoakOptions = { ...SOAK_DEFAULTS, ...opts };
  const print = o.print ?? ((l: string) => void process.stdout.write(l + '\n'));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'psl-soak-'));
  const out = join(dir, 'out');
  const logFile = join(dir, 'engine.log');
  const [redisPort, port, downstream] = [await freePort(), await freePort(), await freePort()];
  mkdirSync(join(dir, 'channels'), { recursive: true });
  writeFileSync(join(dir, 'channels', `${CHANNEL}.yaml`), channelFile({ port, downstream, out }));
  const env = {
    ...process.env,
    PASSERELLE_CHANNELS: join(dir, 'channels'),
    PASSERELLE_VAR: join(dir, 'var'),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    PASSERELLE_EMBEDDED_REDIS: '0',
    PASSERELLE_STORE: o.store ?? `sqlite:${join(dir, 'store.db')}`,
    PASSERELLE_WATCH: '0',
    PASSERELLE_LOG_LEVEL: 'info',
    PASSERELLE_LOG_FILE: logFile,
  };

  const receiver = new DownstreamReceiver(downstream);
  await receiver.up();
  let redis: ChildProcess | undefined;
  let engine: ChildProcess | undefined;
  let sampler: RssSampler | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    redis = await startRedis(redisPort);
    const outFd = openSync(join(dir, 'engine.out'), 'a');
    engine = spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', outFd, outFd] });
    if (!(await until(() => portOpen(port), 30_000, 100))) throw new Error(`engine did not listen on ${port} (see ${dir}/engine.out)`);
    const pid = engine.pid!;
    print(
      `soak: ${o.rate} msg/s for ${o.durationS} s over ${o.connections} connections, ${o.keys} keys, store ${env.PASSERELLE_STORE.replace(/:[^:@/]+@/, ':***@')}; ` +
        `eai down from ${o.downAtS} s to ${o.upAtS} s; engine pid ${pid}; dir ${dir}`,
    );

    // What was ACKed, per key, in send order.
    const keyOf = new Map<string, string>();
    const sentByKey = new Map<string, string[]>();
    let acked = 0;
    const lag = { outage: 0, healthy: 0 };
    const archiveFiles = (): string[] => (existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.hl7') && !f.startsWith('.')) : []);
    let lastPrint = 0;
    sampler = new RssSampler(pid, o.rssEveryMs, (s) => {
      const files = archiveFiles().length;
      const behind = acked - files;
      if (receiver.isUp) lag.healthy = Math.max(lag.healthy, behind);
      else lag.outage = Math.max(lag.outage, behind);
      if (s.t - lastPrint >= 10_000 || s.t === 0) {
        lastPrint = s.t;
        print(
          `  t=${Math.round(s.t / 1000)}s acked=${acked} archive=${files} eai=${receiver.distinct}${receiver.isUp ? '' : ' (down)'} rss=${s.mb.toFixed(0)}MB`,
        );
      }
    });

    const t0 = Date.now();
    sampler.start();
    let upAt = 0;
    let drainS = Number.NaN;
    timers.push(setTimeout(() => void receiver.down().then(() => print(`  t=${Math.round((Date.now() - t0) / 1000)}s eai receiver closed`)), o.downAtS * 1000));
    timers.push(
      setTimeout(
        () =>
          void receiver.up().then(async () => {
            upAt = Date.now();
            const backlog = acked;
            print(`  t=${Math.round((upAt - t0) / 1000)}s eai receiver back, ${backlog - receiver.distinct} messages to catch up`);
            // Drain time: until the peer holds everything ACKed when it came back.
            if (await until(() => receiver.distinct >= backlog, o.drainTimeoutS * 1000, 100)) drainS = (Date.now() - upAt) / 1000;
          }),
        o.upAtS * 1000,
      ),
    );

    const intervalMs = (o.connections * 1000) / o.rate;
    const keysPerConn = Math.max(1, Math.floor(o.keys / o.connections));
    const sendAll = async (c: number): Promise<void> => {
      const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 10_000, reconnect: { baseMs: 50, maxMs: 1000 } });
      try {
        for (let j = 0; ; j++) {
          const due = t0 + (j + c / o.connections) * intervalMs;
          if (due - t0 >= o.durationS * 1000) break;
          if (due > Date.now()) await delay(due - Date.now());
          const key = `K${c}-${j % keysPerConn}`;
          const id = `S${c}-${j}`;
          const frame = Buffer.from(message(id, key, j));
          for (let attempt = 1; ; attempt++) {
            try {
              const ack = (await client.send(frame)).toString();
              if (ack.includes(`\rMSA|AA|${id}\r`)) break;
            } catch {
              /* resent below, same MSH-10: the engine deduplicates */
            }
            if (attempt >= 100) throw new Error(`${id}: no AA after ${attempt} attempts`);
            await delay(100);
          }
          keyOf.set(id, key);
          const list = sentByKey.get(key) ?? [];
          list.push(id);
          sentByKey.set(key, list);
          acked++;
        }
      } finally {
        await client.close();
      }
    };
    await Promise.all(Array.from({ length: o.connections }, (_, c) => sendAll(c)));
    const sendEnd = Date.now();
    print(`  send over: ${acked} ACKed in ${((sendEnd - t0) / 1000).toFixed(0)} s; waiting for the destinations`);
    await until(() => receiver.isUp, Math.max(0, t0 + o.upAtS * 1000 - Date.now()) + 5000);

    const distinctFiles = (): number => new Set(archiveFiles().map((f) => f.slice(0, f.indexOf('_')))).size;
    await until(() => receiver.distinct >= acked && distinctFiles() >= acked, o.drainTimeoutS * 1000, 500);
    await delay(2000); // late re-deliveries would show now
    sampler.stop();
    const rss = sampler.report(o.rssWindowS * 1000);

    // Graceful stop, so the log is complete.
    engine.kill('SIGTERM');
    const exited = await until(() => engine!.exitCode !== null || engine!.signalCode !== null, 20_000, 100);
    if (!exited) engine.kill('SIGKILL');

    const listed = spawnSync(process.execPath, [CLI, 'messages', CHANNEL, '--state', 'dead', '--limit', '20'], { env, encoding: 'utf8' });
    const lines = listed.stdout.trim().split('\n');
    const storeCounts = Object.fromEntries(
      (lines[0] ?? '').split(' ').filter((p) => p.includes('=')).map((p) => [p.split('=')[0]!, Number(p.split('=')[1])]),
    );
    const deadListed = lines.slice(1).filter((l) => l.trim()).length;

    // Engine log: outage events and the archive's delivery order.
    const events = { failing: 0, recovered: 0, dead: 0, recoveredAt: Number.NaN };
    const archiveOrder: string[] = [];
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line) continue;
      let e: { message?: string; destination?: string; controlId?: string; timestamp?: string };
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      if (e.message === 'destination failing' && e.destination === 'eai') events.failing++;
      else if (e.message === 'destination recovered' && e.destination === 'eai') {
        events.recovered++;
        events.recoveredAt = Date.parse(e.timestamp ?? '');
      }
      else if (e.message === 'dead-lettered') events.dead++;
      else if (e.message === 'delivered' && e.destination === 'archive' && e.controlId) archiveOrder.push(e.controlId);
    }

    const files = archiveFiles();
    const fileCount = new Map<string, number>();
    for (const f of files) {
      const id = f.slice(0, f.indexOf('_'));
      fileCount.set(id, (fileCount.get(id) ?? 0) + 1);
    }
    const archive: DestinationOutcome = {
      delivered: fileCount.size,
      duplicates: files.length - fileCount.size,
      missing: [...keyOf.keys()].filter((id) => !fileCount.has(id)).length,
      keysOutOfOrder: keysOutOfOrder(archiveOrder, keyOf, sentByKey),
    };
    const arrived = new Set(receiver.arrivals);
    const eai: DestinationOutcome = {
      delivered: receiver.distinct,
      duplicates: receiver.duplicateCount,
      missing: [...keyOf.keys()].filter((id) => !arrived.has(id)).length,
      keysOutOfOrder: keysOutOfOrder(receiver.arrivals, keyOf, sentByKey),
    };

    const violations: string[] = [];
    for (const [name, d] of [['archive', archive], ['eai', eai]] as const) {
      if (d.missing) violations.push(`${name}: ${d.missing} ACKed messages never delivered`);
      if (d.duplicates) violations.push(`${name}: ${d.duplicates} duplicate deliveries`);
      if (d.keysOutOfOrder) violations.push(`${name}: ${d.keysOutOfOrder} keys delivered out of send order`);
    }
    if (archiveOrder.length < acked) violations.push(`archive: only ${archiveOrder.length} of ${acked} deliveries logged, order not fully checked`);
    if ((storeCounts.dead ?? 0) > 0 || deadListed > 0 || events.dead > 0) {
      violations.push(`dead-lettered: store ${storeCounts.dead ?? 0}, listed ${deadListed}, logged ${events.dead}`);
    }
    if ((storeCounts.done ?? 0) !== acked) violations.push(`store: done=${storeCounts.done ?? 0}, expected ${acked}`);
    if (events.failing !== 1) violations.push(`"destination failing" logged ${events.failing} times for eai, expected 1`);
    if (events.recovered !== 1) violations.push(`"destination recovered" logged ${events.recovered} times for eai, expected 1`);
    if (!(rss.ratio <= o.rssFlatRatio)) violations.push(`RSS not flat: last/first window average ${rss.ratio.toFixed(2)} > ${o.rssFlatRatio}`);

    const result: SoakResult = {
      dir,
      sent: acked,
      archive,
      eai,
      storeCounts,
      deadListed,
      failingEvents: events.failing,
      recoveredEvents: events.recovered,
      deadLetteredEvents: events.dead,
      drainS,
      recoveredAfterS: (events.recoveredAt - upAt) / 1000,
      archiveLagMax: lag,
      rss,
      violations,
    };
    printSummary(result, o, print);
    return result;
  } finally {
    for (const t of timers) clearTimeout(t);
    sampler?.stop();
    if (engine && engine.exitCode === null && engine.signalCode === null) engine.kill('SIGKILL');
    redis?.kill('SIGKILL');
    await receiver.down();
  }
}

function printSummary(r: SoakResult, o: SoakOptions, print: (l: string) => void): void {
  const d = (name: string, x: DestinationOutcome): string =>
    `  ${name}: ${x.delivered}/${r.sent} delivered, ${x.duplicates} duplicates, ${x.missing} missing, ${x.keysOutOfOrder} keys out of order`;
  const w = (x: { avgMb: number; maxMb: number; samples: number }): string => `avg ${x.avgMb.toFixed(1)} MB, max ${x.maxMb.toFixed(1)} MB (${x.samples} samples)`;
  print('soak summary');
  print(`  sent: ${r.sent} messages ACKed AA`);
  print(d('archive (file)', r.archive));
  print(d('eai (mllp, down then back)', r.eai));
  print(`  store: ${Object.entries(r.storeCounts).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)'}; dead listed: ${r.deadListed}`);
  print(`  log: "destination failing" ×${r.failingEvents}, "destination recovered" ×${r.recoveredEvents}, dead-lettered ×${r.deadLetteredEvents}`);
  print(
    `  eai: first delivery ("destination recovered") ${r.recoveredAfterS.toFixed(1)} s after its peer came back; ` +
      `backlog (everything ACKed by then) delivered ${r.drainS.toFixed(1)} s after`,
  );
  print(`  archive backlog max: ${r.archiveLagMax.outage} during the outage, ${r.archiveLagMax.healthy} outside it`);
  print(`  engine RSS first ${o.rssWindowS} s: ${w(r.rss.first)}`);
  print(`  engine RSS last ${o.rssWindowS} s: ${w(r.rss.last)}`);
  print(`  engine RSS max ${r.rss.maxMb.toFixed(1)} MB; last/first average ${r.rss.ratio.toFixed(3)} (flat: ≤ ${o.rssFlatRatio})`);
  print(r.violations.length === 0 ? 'soak: PASS' : `soak: FAIL\n${r.violations.map((v) => '  - ' + v).join('\n')}`);
}

/** `--duration 600 --rate 50 …` or SOAK_DURATION=600 SOAK_RATE=50 …; the outage defaults to 20 %–70 % of the run. */
export function soakOptionsFrom(argv: string[], env: NodeJS.ProcessEnv): Partial<SoakOptions> {
  const names: Record<string, keyof SoakOptions> = {
    duration: 'durationS',
    rate: 'rate',
    connections: 'connections',
    keys: 'keys',
    'down-at': 'downAtS',
    'up-at': 'upAtS',
    'drain-timeout': 'drainTimeoutS',
    'rss-every-ms': 'rssEveryMs',
    'rss-window': 'rssWindowS',
    'flat-ratio': 'rssFlatRatio',
  };
  const o: Record<string, number | string> = {};
  if (env.SOAK_STORE) o.store = env.SOAK_STORE;
  for (const [flag, key] of Object.entries(names)) {
    const e = env[`SOAK_${flag.toUpperCase().replace(/-/g, '_')}`];
    if (e !== undefined) o[key] = Number(e);
  }
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    const key = m ? names[m[1]!] : undefined;
    if (!m || !key) {
      if (m?.[1] === 'dir' || m?.[1] === 'store') o[m[1]] = m[2] ?? argv[++i]!;
      else throw new Error(`unknown argument ${argv[i]}; known: ${Object.keys(names).map((n) => '--' + n).join(' ')} --dir --store`);
      continue;
    }
    o[key] = Number(m[2] ?? argv[++i]);
  }
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number' && !(v >= 0)) throw new Error(`${k}: not a number`);
  const d = Number(o.durationS ?? SOAK_DEFAULTS.durationS);
  o.downAtS ??= Math.round(d * 0.2);
  o.upAtS ??= Math.round(d * 0.7);
  o.rssWindowS ??= Math.min(60, Math.max(5, Math.round(d / 4)));
  return o as Partial<SoakOptions>;
}

if (require.main === module) {
  runSoak(soakOptionsFrom(process.argv.slice(2), process.env)).then(
    (r) => process.exit(r.violations.length === 0 ? 0 : 1),
    (e) => {
      process.stderr.write(String((e as Error).stack) + '\n');
      process.exit(2);
    },
  );
}

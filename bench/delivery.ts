/**
 * Delivery benchmark (`npm run bench -- delivery`, issue 9, item 8).
 *
 * Throughput: BENCH_DELIVERY_VERSIONS (default 2,000) written report versions, each delivered by
 * one line at a time — the DMP (ITI-41 to the double over mutual TLS), MSSanté (a mail to the
 * prescriber and one to the patient through a real SMTP server, STARTTLS + client certificate),
 * the PFI (ORU^R01 over MLLP) — against a bare ceiling run in this same process: the same
 * HTTPS request bytes posted without building them; nodemailer straight to the same SMTP server
 * with the same mail; the MLLP sender alone with the same message. The peers run in a child
 * process (bench/delivery-peers.ts) in light mode (they answer without parsing or checking; the
 * tests keep every check) so that only our side is measured.
 *
 * Backlog: BENCH_DELIVERY_BACKLOG versions (default 10,000) queued to the three lines while the
 * peers are down for BENCH_DELIVERY_OUTAGE_S seconds (default 120); then the drain rate once they
 * are back and this process's RSS along the drain (first vs last 20 %).
 *
 * What is not measured here: rendering and the full ANS check (bench render / validation). Each
 * version folder is a copy of the sample version with its own document ids, and carries the
 * full-set verdict computed once for the sample (the release gate reads it, as it does for a
 * version checked before).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { decode, Message } from '../engine/hl7';
import { reportFromMessage, type Report } from '../engine/lab';
import { applyUpdate, reportToJson, splitByReport, reportOf, type ReportState } from '../engine/reports';
import { SqliteStore } from '../engine/store';
import { loadChannelFile } from '../engine/config/load-channels';
import { loadLabProfile } from '../engine/config/lab-profile';
import { resolveAnsKit, repoRootOf } from '../engine/config/reference-data';
import { redisOptionsFromUrl } from '../engine/runtime/redis';
import { createLogger } from '../engine/runtime/logger';
import { AnsKit } from '../engine/validation';
import { fullCheck } from '../engine/documents/release-check';
import type { DmpConfig, MssConfig, PfiConfig } from '../engine/config/channel-schema';
import { DmpDelivery } from '../engine/delivery/dmp/dmp-delivery';
import { filingRequest } from '../engine/delivery/dmp/filing';
import { DmpClient } from '../engine/delivery/dmp/dmp-client';
import { loadSeal } from '../engine/delivery/dmp/signer';
import { MssDelivery } from '../engine/delivery/mss/mss-delivery';
import { messageIdOf, versionMail } from '../engine/delivery/mss/mail';
import { PfiDelivery } from '../engine/delivery/pfi/pfi-delivery';
import { buildPfiMessage } from '../engine/delivery/pfi/oru-message';
import { lineClient } from '../engine/delivery/outbound-line';
import { readClientTls } from '../engine/delivery/client-tls';
import { readWrittenVersion, xdmOfVersion } from '../engine/delivery/version-folder';
import type { VersionLine, PublishedVersionEvent } from '../engine/delivery/version-line';
import { BuildPool } from '../engine/delivery/build-pool';
import { makePki, type TestPki } from '../test/support/pki';
import { freePort } from '../test/support/redis';
import { BENCH_REDIS_URL, deletePrefix } from './redis-keys';
import type { PeerCounts, PeerPorts } from './delivery-peers';

const VERSIONS = Number(process.env.BENCH_DELIVERY_VERSIONS ?? 2000);
const BACKLOG = Number(process.env.BENCH_DELIVERY_BACKLOG ?? 10_000);
const OUTAGE_S = Number(process.env.BENCH_DELIVERY_OUTAGE_S ?? 120);
const CONCURRENCY = 4;
/** Worker threads building the DMP requests (deliveryThreads; the channel default is 1). */
const BUILD_THREADS = Number(process.env.BENCH_DELIVERY_BUILD_THREADS ?? 1);
/** Runs only these parts (comma-separated: dmp, mss, pfi, backlog); default all. */
const ONLY = (process.env.BENCH_DELIVERY_ONLY ?? 'dmp,mss,pfi,backlog').split(',');
const REPO = resolve(__dirname, '..', '..');
const LAB = 'SIL-LABO';
const RENDERED = join(REPO, 'samples', 'rendered');
const BASE = 'oru-r01_ltw_biochemistry';
const PRESCRIBER = 'prescripteur.medecin@test.mssante.fr';
const logger = createLogger({ level: 'error' });

type Kind = 'dmp' | 'mss' | 'pfi';

class Peers {
  private readonly child: ChildProcess;
  private waiting?: (m: unknown) => void;

  constructor(pki: TestPki, readonly ports: PeerPorts) {
    this.child = fork(join(__dirname, 'delivery-peers.js'), [], { env: { ...process.env, BENCH_PKI_DIR: pki.dir, BENCH_PEER_PORTS: JSON.stringify(ports) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
  }

  private ask<T>(m: object | undefined): Promise<T> {
    return new Promise((resolve) => {
      this.waiting = resolve as (m: unknown) => void;
      if (m) this.child.send(m);
    });
  }

  ready(): Promise<unknown> {
    return this.ask(undefined);
  }
  counts(): Promise<PeerCounts> {
    return this.ask({ cmd: 'counts' });
  }
  down(): Promise<unknown> {
    return this.ask({ cmd: 'down' });
  }
  up(): Promise<unknown> {
    return this.ask({ cmd: 'up' });
  }
  stop(): void {
    this.child.kill();
  }
}

/** The sample report (prescriber addressed), its state, and the sample version's files with the full-set verdict. */
async function baseVersion(dir: string): Promise<{ report: Report; state: ReportState; files: Record<string, Buffer>; pdfName: string }> {
  const message = Message.parse(decode(readFileSync(join(REPO, 'samples', `${BASE}.hl7`))).text);
  const report = reportFromMessage(message);
  report.prescriber = { ...report.prescriber!, mssante: PRESCRIBER };
  const applied = applyUpdate(undefined, splitByReport(report, 'bench', LAB).updates[0]!);
  if (applied.kind !== 'applied') throw new Error('the sample report did not apply');
  const meta = JSON.parse(readFileSync(join(RENDERED, `${BASE}.metadata.json`), 'utf8')) as { pdfFileName: string };
  const v = join(dir, 'base', 'v1');
  mkdirSync(v, { recursive: true });
  copyFileSync(join(RENDERED, `${BASE}.n3.xml`), join(v, 'pro.n3.xml'));
  copyFileSync(join(RENDERED, `${BASE}.n1.xml`), join(v, 'pro.n1.xml'));
  copyFileSync(join(RENDERED, `${BASE}.metadata.json`), join(v, 'pro.metadata.json'));
  const kit = AnsKit.open(resolveAnsKit({ root: repoRootOf(__dirname) }));
  const verdict = await fullCheck(v, 'pro', kit);
  if (!verdict.valid) throw new Error(`the sample version fails the full ANS set: ${verdict.reason}`);
  const files: Record<string, Buffer> = {};
  for (const f of ['pro.n3.xml', 'pro.n1.xml', 'pro.metadata.json', 'pro.validation-full.json']) files[f] = readFileSync(join(v, f));
  return { report, state: applied.state, files, pdfName: meta.pdfFileName };
}

/** Copy `i` of the sample version: its own document ids (first <id root>), the PDF hard-linked. */
function writeCopy(out: string, i: number, base: Awaited<ReturnType<typeof baseVersion>>): string {
  const filler = `B${i}`;
  const v = join(out, filler, 'v1');
  mkdirSync(v, { recursive: true });
  for (const [name, data] of Object.entries(base.files)) {
    writeFileSync(join(v, name), name.endsWith('.xml') ? data.toString('utf8').replace(/<id root="([0-9.]+)"\/>/, `<id root="$1.${i}"/>`) : data);
  }
  linkSync(join(RENDERED, base.pdfName), join(v, base.pdfName));
  return filler;
}

function channelConfig(pki: TestPki, ports: PeerPorts, dir: string): { dmp: DmpConfig; mss: MssConfig; pfi: PfiConfig } {
  const f = (n: string): string => join(pki.dir, n);
  const retry = `      retry:\n        maxAttempts: 1000\n        backoffBaseMs: 500\n        backoffMaxMs: 5000\n`;
  const file = join(dir, 'bench.yaml');
  writeFileSync(
    file,
    `name: bench\nsource:\n  type: mllp\n  port: 1\nacceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: documents\n    type: reports\n    directory: ${dir}/out\n    lab: ${join(REPO, 'channels/labs/laboratoire-demo.yaml')}\n` +
      `    dmp:\n      url: https://127.0.0.1:${ports.dmp}/si-dmp-server/v2/services\n      tls: { ca: ${f('ca.crt')}, cert: ${f('client.crt')}, key: ${f('client.key')} }\n      seal: { cert: ${f('sign.crt')}, key: ${f('sign.key')} }\n${retry}` +
      `    mss:\n      url: smtp://127.0.0.1:${ports.smtp}\n      from: resultats@labo-demo.mssante.fr\n      tls: { ca: ${f('ca.crt')}, cert: ${f('client.crt')}, key: ${f('client.key')} }\n${retry}` +
      `    pfi:\n      url: mllp://127.0.0.1:${ports.pfi}\n${retry}`,
  );
  const d = loadChannelFile(file).config.destinations[0] as unknown as { dmp: DmpConfig; mss: MssConfig; pfi: PfiConfig };
  return d;
}

interface Setup {
  /** Where the sample version and its verdict are (kept across runs). */
  baseDir: string;
  dir: string;
  out: string;
  store: SqliteStore;
  dbFile: string;
  prefix: string;
  config: ReturnType<typeof channelConfig>;
  base: Awaited<ReturnType<typeof baseVersion>>;
  pki: TestPki;
  kit: AnsKit;
}

function lineFor(kind: Kind, s: Setup, builder: BuildPool | undefined): VersionLine {
  const deps = { name: 'bench.documents', connection: redisOptionsFromUrl(BENCH_REDIS_URL), prefix: s.prefix, consume: true, defaultCharset: 'utf-8' as const, logger, store: s.store, partitions: CONCURRENCY };
  const lab = loadLabProfile(join(REPO, 'channels/labs/laboratoire-demo.yaml'));
  const folderOf = (f: string): string => join(s.out, f);
  if (kind === 'dmp') return new DmpDelivery({ ...deps, config: s.config.dmp, lab, folderOf, validator: s.kit, builder });
  if (kind === 'mss') return new MssDelivery({ ...deps, config: s.config.mss, lab, folderOf, validator: s.kit });
  return new PfiDelivery({ ...deps, config: s.config.pfi, lab, folderOf, validator: s.kit });
}

/** Writes versions [from, to) (files, report, version rows) and hands each to the lines. */
async function publish(s: Setup, lines: VersionLine[], from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const filler = writeCopy(s.out, i, s.base);
    const state: ReportState = { ...s.base.state, fillerOrder: filler };
    await s.store.putReport(LAB, filler, reportToJson(state), null);
    await s.store.reserveReportVersion({ lab: LAB, fillerOrder: filler, version: 1, status: 'completed', contentHash: 'bench', revision: 1 }, 60_000);
    const ev: PublishedVersionEvent = { lab: LAB, fillerOrder: filler, version: 1, status: 'completed', report: { ...reportOf(state), prescriber: s.base.report.prescriber! } };
    for (const l of lines) await l.record(ev);
    await s.store.markReportVersionWritten(LAB, filler, 1);
    for (const l of lines) await l.enqueue(ev);
  }
}

function sentCount(dbFile: string, kind?: Kind): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    const where = kind ? `AND (target = '${kind}' OR target LIKE '${kind}:%')` : '';
    return (db.prepare(`SELECT COUNT(*) AS n FROM version_deliveries WHERE state = 'sent' ${where}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newSetup(pki: TestPki, ports: PeerPorts, kit: AnsKit, baseDir: string, base: Setup['base']): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'psl-bench-delivery-'));
  const dbFile = join(dir, 'store.db');
  const store = new SqliteStore({ path: dbFile, synchronous: 'NORMAL' });
  await store.init();
  return { baseDir, dir, out: join(dir, 'out'), store, dbFile, prefix: `bench-delivery-${randomUUID()}`, config: channelConfig(pki, ports, dir), base, pki, kit };
}

async function dispose(s: Setup): Promise<void> {
  await s.store.close();
  await deletePrefix(BENCH_REDIS_URL, s.prefix);
  rmSync(s.dir, { recursive: true, force: true });
}

/** Runs `n` calls of `one(i)` on CONCURRENCY loops; calls per second. */
async function ceiling(n: number, one: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < n; i = next++) await one(i);
  }));
  return n / ((performance.now() - t0) / 1000);
}

async function ceilingOf(kind: Kind, s: Setup, n: number): Promise<number> {
  const lab = loadLabProfile(join(REPO, 'channels/labs/laboratoire-demo.yaml'));
  const v = readWrittenVersion(join(s.baseDir, 'base', 'v1'))!;
  if (kind === 'dmp') {
    const c = s.config.dmp;
    const client = new DmpClient({ url: c.url, tls: readClientTls(c.tls), connectTimeoutMs: 10_000, responseTimeoutMs: 60_000, maxSockets: CONCURRENCY });
    const seal = loadSeal(c.seal, 'bench');
    const requests = Array.from({ length: 50 }, () => filingRequest({ seal, lab, config: c, shown: v, endpoint: client.endpoint('repository') }).request);
    try {
      return await ceiling(n, (i) => client.send('repository', requests[i % requests.length]!));
    } finally {
      client.close();
    }
  }
  if (kind === 'mss') {
    const c = s.config.mss;
    const tls = readClientTls(c.tls)!;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: Number(/:(\d+)$/.exec(c.url)![1]), requireTLS: true, tls: { ca: tls.ca, cert: tls.cert, key: tls.key }, pool: true, maxConnections: CONCURRENCY });
    const xdm = xdmOfVersion(v, lab, new Date());
    const mail = (i: number): ReturnType<typeof versionMail> =>
      versionMail({ config: c, recipient: { address: PRESCRIBER, audience: 'professional', role: 'prescriber' }, messageId: messageIdOf(c.from, LAB, `C${i}`, 1, PRESCRIBER), earlier: [], patient: { birthFamily: 'TEST-DEMO', firstBirthGiven: 'PATIENTE', birthDate: '19480920' }, insQualified: true, replaces: false, xdm, ...(v.pdf ? { pdf: v.pdf } : {}) });
    try {
      return await ceiling(n, (i) => transport.sendMail(mail(i)));
    } finally {
      transport.close();
    }
  }
  const c = s.config.pfi;
  const out = lineClient('pfi', c, 'utf-8');
  const report = reportOf(s.base.state);
  const messages = Array.from({ length: 50 }, (_, i) =>
    buildPfiMessage({ action: 'create', report, lab, filler: { number: `C${i}`, authority: LAB }, n1: v.n1!, n3: v.n3, flags: { ...v.visibility, dmp: true, mssProfessionals: true, mssPatient: true, ackReception: true, ackRead: false }, header: { application: LAB, facility: lab.lab.name, receivingApplication: '', receivingFacility: '' }, controlId: `C${i}.v1` }),
  );
  try {
    return await ceiling(n, (i) => { const m = messages[i % messages.length]!; return out.deliver({ id: m.controlId, controlId: m.controlId, message: m }); });
  } finally {
    await out.close();
  }
}

export async function benchDelivery(): Promise<void> {
  const pki = makePki();
  const ports: PeerPorts = { smtp: await freePort(), dmp: await freePort(), pfi: await freePort() };
  const peers = new Peers(pki, ports);
  await peers.ready();
  const kit = AnsKit.open(resolveAnsKit({ root: repoRootOf(__dirname) }));
  const baseDir = mkdtempSync(join(tmpdir(), 'psl-bench-delivery-base-'));
  const builder = BUILD_THREADS > 0 ? new BuildPool(BUILD_THREADS) : undefined;
  try {
    const base = await baseVersion(baseDir);
    process.stdout.write(`delivery: ${VERSIONS} report versions per destination, ${CONCURRENCY} partitions / connections, ${BUILD_THREADS} build thread(s); peers in a child process (light mode)\n`);
    for (const kind of (['dmp', 'mss', 'pfi'] as Kind[]).filter((k) => ONLY.includes(k))) {
      const s = await newSetup(pki, ports, kit, baseDir, base);
      const perVersion = kind === 'mss' ? 2 : 1;
      const line = lineFor(kind, s, builder);
      // Versions handed over first (rows and jobs), then the line started: its rate alone.
      const t0 = performance.now();
      await publish(s, [line], 0, VERSIONS);
      const handedOver = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      await line.start();
      await until(() => sentCount(s.dbFile, kind) >= VERSIONS * perVersion, 30 * 60_000);
      const seconds = (performance.now() - t1) / 1000;
      await line.stop(5000);
      const rate = (VERSIONS * perVersion) / seconds;
      const bare = await ceilingOf(kind, s, VERSIONS * perVersion);
      process.stdout.write(`  ${kind.padEnd(3)}  line ${rate.toFixed(1)} deliveries/s (${VERSIONS * perVersion} in ${seconds.toFixed(1)} s; the versions were handed over in ${handedOver.toFixed(1)} s)  ceiling ${bare.toFixed(1)}/s  ratio ${(rate / bare).toFixed(2)}\n`);
      await dispose(s);
    }

    if (!ONLY.includes('backlog')) return;
    // Backlog: everything queued while the peers are down, then the drain.
    const s = await newSetup(pki, ports, kit, baseDir, base);
    const lines = (['dmp', 'mss', 'pfi'] as Kind[]).map((k) => lineFor(k, s, builder));
    for (const l of lines) await l.start();
    await peers.down();
    const tDown = performance.now();
    // Report numbers of their own (the throughput runs used 0…VERSIONS).
    await publish(s, lines, 1_000_000, 1_000_000 + BACKLOG);
    const queuedIn = (performance.now() - tDown) / 1000;
    const total = BACKLOG * 4;
    const waitMs = OUTAGE_S * 1000 - (performance.now() - tDown);
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    const sentDuringOutage = sentCount(s.dbFile);
    const rssBefore = process.memoryUsage().rss / 1e6;
    await peers.up();
    const t0 = performance.now();
    const samples: { t: number; mb: number }[] = [];
    const sampler = setInterval(() => samples.push({ t: performance.now() - t0, mb: process.memoryUsage().rss / 1e6 }), 1000);
    await until(() => sentCount(s.dbFile) >= total, 60 * 60_000);
    const drain = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const window = (from: number, to: number): number => {
      const w = samples.slice(Math.floor(samples.length * from), Math.max(Math.floor(samples.length * from) + 1, Math.floor(samples.length * to)));
      return w.reduce((a, x) => a + x.mb, 0) / Math.max(1, w.length);
    };
    const counts = await peers.counts();
    process.stdout.write(
      `  backlog: ${BACKLOG} versions (${total} deliveries: DMP, 2 mails, PFI) queued in ${queuedIn.toFixed(1)} s while the peers were down ${OUTAGE_S} s (sent meanwhile: ${sentDuringOutage});\n` +
        `           drained in ${drain.toFixed(1)} s = ${(total / drain).toFixed(1)} deliveries/s; RSS ${rssBefore.toFixed(0)} MB before, first 20 % ${window(0, 0.2).toFixed(0)} MB, last 20 % ${window(0.8, 1).toFixed(0)} MB, max ${Math.max(...samples.map((x) => x.mb)).toFixed(0)} MB\n` +
        `           peers took: DMP ${counts.dmp}, SMTP ${counts.smtp} mails, PFI ${counts.pfi} distinct (${counts.pfiDuplicates} duplicates) — these include the throughput runs and ceilings\n`,
    );
    for (const l of lines) await l.stop(5000);
    await dispose(s);
  } finally {
    peers.stop();
    await builder?.close();
    pki.cleanup();
    rmSync(baseDir, { recursive: true, force: true });
  }
}

/**
 * Console benchmark (`npm run bench -- console`, issue 10, item 6).
 *
 * Search: a message store of BENCH_CONSOLE_MESSAGES messages (default 1,000,000; generated once
 * through store.receive, the intake's own path with its search keys, and kept under
 * var/bench/console-<n>/ for the next run) searched by INS, by lab file number and by a one-day
 * date range — through the console's HTTP API (GET /api/messages with an API token, audit
 * included) and straight on the store in this same process (store.searchMessages, the query the
 * route runs). Printed: p50 / p99 of each and the ratio direct / API. Goals: API p99 ≤ 100 ms
 * and ≥ 0.8 × the direct query's speed.
 *
 * Page: the message page of a 5 MB ORU (a base64 PDF in OBX-5) opened in headless Chromium
 * (Debian's, driven by playwright-core), from navigation to the segment table on screen.
 * Goal ≤ 2 s.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { engineConfigFromEnv } from '../engine/config/engine-config';
import { createStore, type InboundMessage, type MessageKey, type MessageQuery, type MessageStore } from '../engine/store';
import { Console } from '../engine/ops/console';
import { consoleConfigFromEnv } from '../engine/ops/config';
import { consoleStoreFor } from '../engine/ops/store';
import { UserAdmin } from '../engine/ops/auth/user-admin';
import { API_ROUTES } from '../engine/ops/api';
import { WEB_ROUTES } from '../engine/ops/web';
import type { EngineControl } from '../engine/ops/context';
import { createLogger } from '../engine/runtime/logger';
import { BENCH_REDIS_URL, deletePrefix } from './redis-keys';

const MESSAGES = Number(process.env.BENCH_CONSOLE_MESSAGES ?? 1_000_000);
const QUERIES = Number(process.env.BENCH_CONSOLE_QUERIES ?? 300);
const PATIENTS = Math.max(1, Math.floor(MESSAGES / 10));
const DAYS = 365;
const START = Date.UTC(2026, 0, 1);
const REPO = resolve(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Bump when the generated data changes shape: a kept store of an older shape is rebuilt. */
const GENERATION = 1;

/** A test INS (NIR-shaped, 15 digits) of patient n; the test OID marks it as such. */
function insOf(n: number): string {
  return `2${String(800000000000 + n).padStart(12, '0')}`.slice(0, 13) + String(n % 97).padStart(2, '0');
}

function oru(i: number, patient: number, at: Date, obx5 = `${(i % 97) / 10}`): string {
  const ts = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return [
    `MSH|^~\\&|SIL|LABO|DPI|HOPITAL|${ts}||ORU^R01^ORU_R01|BENCH-${i}|P|2.5|||||FRA|UNICODE UTF-8`,
    `PID|||${insOf(patient)}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS~IPP${patient}^^^HOPITAL^PI||TEST^PATIENT${patient % 1000}||19700101|F`,
    `ORC|RE|CMD-${i}|LAB-${i}`,
    `OBR|1|CMD-${i}|LAB-${i}|24326-1^Electrolytes^LN|||${ts}`,
    `OBX|1|NM|2951-2^Sodium^LN||${obx5}|mmol/L|||||F|||${ts}`,
  ].join('\r');
}

function keysOf(i: number, patient: number): MessageKey[] {
  return [
    { kind: 'ins', value: insOf(patient) },
    { kind: 'patient', value: `IPP${patient}` },
    { kind: 'order', value: `CMD-${i}` },
    { kind: 'order', value: `LAB-${i}` },
  ];
}

function inbound(i: number): InboundMessage {
  const patient = i % PATIENTS;
  // Arrival order is time order, spread evenly over the year.
  const at = new Date(START + Math.floor((i / MESSAGES) * DAYS * 86_400_000));
  const raw = Buffer.from(oru(i, patient, at), 'utf8');
  return {
    channel: i % 5 === 0 ? 'ilw-results' : 'ltw-results',
    controlId: `BENCH-${i}`,
    sender: 'SIL|LABO',
    messageType: 'ORU^R01',
    orderingKey: `LAB-${i}`,
    charset: 'UTF-8',
    raw,
    ack: Buffer.from(`MSH|^~\\&|PSL|PSL|SIL|LABO|||ACK|A-${i}|P|2.5\rMSA|AA|BENCH-${i}`),
    receivedAt: at,
    state: 'received',
    keys: keysOf(i, patient),
  };
}

async function generate(store: MessageStore): Promise<void> {
  const t0 = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < MESSAGES; i++) {
    const p: Promise<unknown> = store.receive(inbound(i), 0).then(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 2000) await Promise.race(inFlight);
    if (i > 0 && i % 100_000 === 0) process.stdout.write(`  ${i} messages (${Math.round(i / ((performance.now() - t0) / 1000))}/s)\n`);
  }
  await Promise.all(inFlight);
  process.stdout.write(`  ${MESSAGES} messages generated in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Kind {
  name: string;
  query(n: number): MessageQuery;
  params(q: MessageQuery): string;
}

const KINDS: Kind[] = [
  { name: 'INS', query: (n) => ({ ins: insOf((n * 7919) % PATIENTS), limit: 50 }), params: (q) => `ins=${q.ins}` },
  { name: 'file number', query: (n) => ({ order: `LAB-${(n * 104729) % MESSAGES}`, limit: 50 }), params: (q) => `order=${q.order}` },
  {
    name: 'date range (1 day)',
    query: (n) => {
      const from = new Date(START + ((n * 37) % (DAYS - 1)) * 86_400_000);
      return { from, to: new Date(from.getTime() + 86_400_000), limit: 50 };
    },
    params: (q) => `from=${q.from!.toISOString()}&to=${q.to!.toISOString()}`,
  },
];

const noEngine: EngineControl = {
  channelStatuses: () => [],
  startChannel: async () => undefined,
  stopChannel: async () => undefined,
  pauseChannel: async () => undefined,
  resumeChannel: async () => undefined,
  reprocess: async () => [],
  reportPublisher: () => undefined,
  stageJobs: async () => undefined,
  versionLines: () => [],
};

export async function benchConsole(): Promise<void> {
  process.stdout.write(`\n== console: message search over ${MESSAGES} messages, API vs the store in this process ==\n`);
  const dir = join(REPO, 'var', 'bench', `console-${MESSAGES}-g${GENERATION}`);
  const fresh = !existsSync(join(dir, 'messages.db'));
  mkdirSync(dir, { recursive: true });
  const varDir = mkdtempSync(join(tmpdir(), 'psl-bench-console-'));
  const prefix = `bench-console-${process.pid}`;
  const env = { ...process.env, PASSERELLE_VAR: varDir, PASSERELLE_STORE: `sqlite:${join(dir, 'messages.db')}`, REDIS_URL: BENCH_REDIS_URL, PASSERELLE_PREFIX: prefix };
  const engineConfig = engineConfigFromEnv(env);
  const store = createStore({ kind: 'sqlite', path: join(dir, 'messages.db') });
  await store.init();
  if (fresh) await generate(store);
  else process.stdout.write(`  store kept from an earlier run: ${dir}\n`);

  const consoleStore = consoleStoreFor({ ...engineConfig, store: `sqlite:${join(varDir, 'messages.db')}` });
  await consoleStore.init();
  const users = new UserAdmin(consoleStore);
  await users.create('bench', 'operator', 'bench-password-123');
  const { token } = await users.createToken('bench', 'bench');
  const logger = createLogger({ level: 'error' });
  const console_ = new Console({
    config: consoleConfigFromEnv(env, { addr: '127.0.0.1:0' }),
    engineConfig,
    store,
    engine: noEngine,
    logger,
    routes: [...API_ROUTES, ...WEB_ROUTES],
    consoleStore,
  });
  await console_.start();
  const base = console_.url!;
  const headers = { authorization: `Bearer ${token}` };
  try {
    // The HTTP floor: the same client and server answering a route that does nothing (liveness).
    const floor: number[] = [];
    for (let n = 0; n < QUERIES; n++) {
      const t = performance.now();
      await (await fetch(`${base}/api/health/live`)).text();
      floor.push(performance.now() - t);
    }
    floor.sort((a, b) => a - b);
    process.stdout.write(`HTTP floor (GET /api/health/live, same client): p50 ${pct(floor, 50).toFixed(2)} ms, p99 ${pct(floor, 99).toFixed(2)} ms\n`);
    process.stdout.write('kind                 direct p50 / p99 ms    API p50 / p99 ms    direct/API (p50)  API above the floor (p50)\n');
    for (const kind of KINDS) {
      const direct: number[] = [];
      const api: number[] = [];
      let found = 0;
      for (let n = 0; n < QUERIES; n++) {
        const q = kind.query(n);
        // Interleaved, so both see the same cache and machine state.
        let t = performance.now();
        const rows = await store.searchMessages(q);
        direct.push(performance.now() - t);
        found += rows.length;
        t = performance.now();
        const res = await fetch(`${base}/api/messages?${kind.params(q)}&limit=${q.limit}`, { headers });
        const body = (await res.json()) as { messages?: unknown[] };
        api.push(performance.now() - t);
        if (res.status !== 200 || (body.messages?.length ?? -1) !== rows.length) throw new Error(`API answered ${res.status} with ${body.messages?.length} messages, the store ${rows.length}`);
      }
      direct.sort((a, b) => a - b);
      api.sort((a, b) => a - b);
      process.stdout.write(
        `${kind.name.padEnd(20)} ${pct(direct, 50).toFixed(2).padStart(8)} / ${pct(direct, 99).toFixed(2).padEnd(10)} ${pct(api, 50).toFixed(2).padStart(8)} / ${pct(api, 99).toFixed(2).padEnd(10)} ${(pct(direct, 50) / pct(api, 50)).toFixed(2).padEnd(17)} ${(pct(api, 50) - pct(floor, 50)).toFixed(2)} ms   (${(found / QUERIES).toFixed(1)} messages per answer)\n`,
      );
    }
    await benchBigMessagePage(store, base);
  } finally {
    await console_.stop(2000);
    await store.close();
    await deletePrefix(BENCH_REDIS_URL, prefix);
    rmSync(varDir, { recursive: true, force: true });
  }
  process.stdout.write('goals: API p99 <= 100 ms, direct/API >= 0.8; 5 MB message page <= 2 s\n');
}

/** A 5 MB ORU with a base64 PDF, stored, then its page opened in Chromium. */
async function benchBigMessagePage(store: MessageStore, base: string): Promise<void> {
  const pdf = Buffer.alloc(3_800_000, 0x25).toString('base64'); // ≈5 MB of base64
  const at = new Date();
  const text = oru(MESSAGES + 1, 1, at).replace(/OBX\|1\|NM\|.*$/, `OBX|1|ED|11502-2^CR^LN||^AP^PDF^Base64^${pdf}||||||F`);
  const msg: InboundMessage = { ...inbound(MESSAGES + 1), controlId: `BIG-${Date.now()}`, raw: Buffer.from(text), receivedAt: at };
  const r = await store.receive(msg, 0);
  await (r as { stored?: Promise<void> }).stored;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name=name]', 'bench');
    await page.fill('input[name=password]', 'bench-password-123');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit], input[type=submit]')]);
    const times: number[] = [];
    for (let n = 0; n < 5; n++) {
      const t = performance.now();
      await page.goto(`${base}/messages/${r.id}`, { waitUntil: 'load' });
      await page.waitForSelector('text=OBX', { timeout: 30_000 });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(`message page of a ${(msg.raw.length / 1e6).toFixed(1)} MB ORU: median ${(pct(times, 50) / 1000).toFixed(2)} s, worst ${(times.at(-1)! / 1000).toFixed(2)} s (5 loads)\n`);
  } finally {
    await browser.close();
  }
}

/**
 * Parser benchmark (baselines.md §2.3): parse + 5 reads (MSH-9, MSH-10, PID-3[2].4.2, PID-5,
 * the TX OBX-5) + serialize, for engine/hl7, node-hl7-client 3.2.0 and @medplum/core 4.5.2,
 * on the 4 KB ORU and its 1 MB ED variant. Messages per CPU-second (process.cpuUsage),
 * 0.5 s warm-up then ≈2 s measured, all in this process.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/parser.js
 */
import { Hl7Message } from '@medplum/core';
import { Message as NhcMessage } from 'node-hl7-client';
import { Message } from '../engine/hl7';
import { oru1mb, oru4k } from './fixtures/oru';

type Op = (text: string) => number;

// Each op returns a number derived from its reads so the work cannot be optimised away.
const ours: Op = (text) => {
  const m = Message.parse(text);
  const r = m.get('MSH-9').length + m.get('MSH-10').length + m.get('PID-3[2].4.2').length + m.get('PID-5').length + m.get('OBX[20]-5').length;
  return r + m.toString().length;
};

// The same, plus one write: the changed segment is rebuilt and the message re-serialised.
const oursWithSet: Op = (text) => {
  const m = Message.parse(text);
  const r = m.get('MSH-9').length + m.get('MSH-10').length + m.get('PID-3[2].4.2').length + m.get('PID-5').length + m.get('OBX[20]-5').length;
  m.set('OBX[20]-5', 'Ratio A|B changed');
  return r + m.toString().length;
};

const nodeHl7Client: Op = (text) => {
  const m = new NhcMessage({ text });
  const r =
    m.get('MSH.9').toRaw().length +
    m.get('MSH.10').toString().length +
    m.get('PID.3').get(1).get(3).get(1).toString().length +
    m.get('PID.5').toRaw().length +
    m.get('OBX').get(20).get(5).toString().length;
  return r + m.toString().length;
};

const medplum: Op = (text) => {
  const m = Hl7Message.parse(text);
  const msh = m.getSegment('MSH');
  const pid = m.getSegment('PID');
  // medplum does not unescape: the TX value is read raw (see baselines.md §2.2)
  const r =
    (msh?.getField(9).toString().length ?? 0) +
    (msh?.getField(10).toString().length ?? 0) +
    (pid?.getField(3).getComponent(4, 1, 1).length ?? 0) +
    (pid?.getField(5).toString().length ?? 0) +
    (m.getAllSegments('OBX')[19]?.getField(5).toString().length ?? 0);
  return r + m.toString().length;
};

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function measure(op: Op, text: string, warmMs = 500, measureMs = 2000): { perCpuSecond: number; perWallSecond: number; n: number } {
  let sink = 0;
  const warmEnd = Date.now() + warmMs;
  while (Date.now() < warmEnd) for (let i = 0; i < 10; i++) sink += op(text);
  const c0 = cpuMs();
  const w0 = performance.now();
  let n = 0;
  const batch = text.length > 100_000 ? 1 : 50;
  while (performance.now() - w0 < measureMs) {
    for (let i = 0; i < batch; i++) sink += op(text);
    n += batch;
  }
  const cpu = cpuMs() - c0;
  const wall = performance.now() - w0;
  if (sink === 42) console.log(''); // keep sink alive
  return { perCpuSecond: Math.round((n * 1000) / cpu), perWallSecond: Math.round((n * 1000) / wall), n };
}

export async function benchParser(): Promise<Record<string, unknown>> {
  const messages: Record<string, string> = { 'ORU 4 KB': oru4k(), 'ORU 1 MB ED': oru1mb() };
  const libs: Record<string, Op> = {
    'engine/hl7': ours,
    'engine/hl7 + 1 set': oursWithSet,
    'node-hl7-client 3.2.0': nodeHl7Client,
    '@medplum/core 4.5.2': medplum,
  };
  const results: Record<string, Record<string, { perCpuSecond: number; perWallSecond: number; n: number }>> = {};
  for (const [msgName, text] of Object.entries(messages)) {
    results[msgName] = {};
    for (const [libName, op] of Object.entries(libs)) {
      if (global.gc) global.gc();
      results[msgName][libName] = measure(op, text);
    }
  }
  const ratios: Record<string, { vsNodeHl7Client: number; vsMedplum: number }> = {};
  for (const msgName of Object.keys(messages)) {
    const r = results[msgName];
    const o = r['engine/hl7'].perCpuSecond;
    ratios[msgName] = {
      vsNodeHl7Client: Math.round((o / r['node-hl7-client 3.2.0'].perCpuSecond) * 10) / 10,
      vsMedplum: Math.round((o / r['@medplum/core 4.5.2'].perCpuSecond) * 10) / 10,
    };
  }
  const out = { op: 'parse + read5 + serialize', unit: 'messages per CPU-second [wall]', sizes: Object.fromEntries(Object.entries(messages).map(([k, v]) => [k, Buffer.byteLength(v)])), results, ratios };
  printTable(out);
  return out;
}

function printTable(out: Record<string, unknown>): void {
  const results = out.results as Record<string, Record<string, { perCpuSecond: number; perWallSecond: number }>>;
  const ratios = out.ratios as Record<string, { vsNodeHl7Client: number; vsMedplum: number }>;
  const sizes = out.sizes as Record<string, number>;
  console.log(`parse + read5 + serialize — ${out.unit as string} (node ${process.version})`);
  for (const [msgName, libs] of Object.entries(results)) {
    console.log(`\n${msgName} (${sizes[msgName]} bytes)`);
    for (const [lib, r] of Object.entries(libs)) {
      console.log(`  ${lib.padEnd(24)} ${String(r.perCpuSecond).padStart(8)} [${r.perWallSecond}]`);
    }
    console.log(`  ratio ours/node-hl7-client: ${ratios[msgName].vsNodeHl7Client}×   ours/medplum: ${ratios[msgName].vsMedplum}×`);
  }
}

if (require.main === module) {
  benchParser().catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}

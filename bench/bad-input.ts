/**
 * Fairness under one huge frame: a valid 16.2 MB ORU (1.8 M `NTE|1||x` lines, under the 16 MiB
 * frame cap) on one connection while another connection sends valid 4 KB ORU one after the
 * other. Prints the other sender's ACK latency (median, max) before and during, with the
 * channel's default limits (the huge frame is refused on its bytes) and with the segment limit
 * lifted (the frame is parsed and taken, as before the limits), in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { MllpClient } from '../engine/mllp';
import { EngineProcess } from './fuzz/engine-process';
import { ackCode } from './fuzz/connection-driver';
import { deletePrefix } from './redis-keys';
import { oru4k } from './fixtures/oru';

function hugeOru(): Buffer {
  const head = 'MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|HUGE-1|P|2.5\rPID|1||123^^^HOSP^PI||DOE^JOHN\rOBR|1|ORD-HUGE\rOBX|1|NM|1^A^L||1|g/L|||||F\r';
  return Buffer.concat([Buffer.from(head), Buffer.alloc(9 * 1_800_000, 'NTE|1||x\r')]);
}

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1));
};

async function scenario(label: string, channelExtra: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'psl-bench-bad-'));
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `pslbench-${randomUUID().slice(0, 8)}`;
  const engine = new EngineProcess({
    dir,
    port: 20000 + Math.floor(Math.random() * 20000),
    redisUrl,
    prefix,
    channelExtra,
  });
  await engine.start();
  const port = (engine as unknown as { o: { port: number } }).o.port;
  const base = oru4k();
  const valid = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 60_000 });
  const big = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 60_000 });
  let n = 0;
  const sendOne = async (): Promise<number> => {
    const id = `${label}-${n++}`;
    const t = performance.now();
    const ack = await valid.send(Buffer.from(base.replace('|MSG00001|', `|${id}|`)));
    if (ackCode(ack) !== 'AA') throw new Error(`valid message got ${ackCode(ack)}`);
    return performance.now() - t;
  };
  try {
    const before: number[] = [];
    for (let i = 0; i < 300; i++) before.push(await sendOne());
    const during: number[] = [];
    const frame = hugeOru();
    const t0 = performance.now();
    let bigDone = false;
    const bigAnswer = big.send(frame).then((a) => {
      bigDone = true;
      return { code: ackCode(a), ms: performance.now() - t0 };
    });
    while (!bigDone) during.push(await sendOne());
    for (let i = 0; i < 20; i++) during.push(await sendOne());
    const b = await bigAnswer;
    engine.sample();
    return `  ${label.padEnd(26)} huge frame: ${b.code} after ${b.ms.toFixed(0)} ms; other sender before: median ${q(before, 0.5)} ms, max ${q(before, 1)} ms; during: median ${q(during, 0.5)} ms, max ${q(during, 1)} ms (${(q(during, 1) / q(before, 0.5)).toFixed(0)}× the median before); engine max RSS ${Math.round(engine.maxRssKb / 1024)} MB`;
  } finally {
    await valid.close();
    await big.close();
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
    await deletePrefix(redisUrl, prefix).catch(() => undefined);
  }
}

export async function benchBadInput(): Promise<void> {
  process.stdout.write(`\nbad-input: a valid ${(hugeOru().length / 1048576).toFixed(1)} MB ORU (1.8 M NTE) on one connection, valid 4 KB ORU one by one on another\n`);
  process.stdout.write((await scenario('default limits', '')) + '\n');
  process.stdout.write((await scenario('segment limit lifted', 'limits:\n  maxSegments: 5000000\n')) + '\n');
}

if (require.main === module) {
  benchBadInput().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String((e as Error).stack) + '\n');
      process.exit(1);
    },
  );
}

/**
 * Group commit seen from a sender: frames pipelined on several connections at once are committed
 * in groups, and each connection still gets its ACKs in the order it sent, with the duplicate
 * inside a burst answered by the original's ACK and stored once; a group the store cannot commit
 * is answered AE/ERR 207, never AA.
 */
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Message } from '../../engine/hl7';
import { Intake } from '../../engine/channels/intake';
import { channelSchema } from '../../engine/config/channel-schema';
import { SqliteStore } from '../../engine/store/sqlite';
import { createLogger } from '../../engine/runtime/logger';
import { channelYaml, startTestEngine, type TestEngine } from '../support/engine-harness';

const FS = '\x1c\r';
const frame = (controlId: string, order: string): string =>
  '\x0b' +
  `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${controlId}|P|2.5\r` +
  `PID|1||123^^^HOSP^PI||DURAND^MARIE||19480920|F\rOBR|1|${order}\rOBX|1|NM|2345-7^Glucose^LN||1.05|g/L|||||F\r` +
  FS;

/** Writes every frame in one write, then reads as many ACKs. */
function burst(port: number, frames: string[]): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const acks: Message[] = [];
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      let end: number;
      while ((end = buf.indexOf(FS)) >= 0) {
        acks.push(Message.parse(buf.slice(buf.indexOf('\x0b') + 1, end)));
        buf = buf.slice(end + 2);
      }
      if (acks.length === frames.length) {
        sock.end();
        resolve(acks);
      }
    });
    sock.on('error', reject);
    sock.write(frames.join(''));
  });
}

let te: TestEngine;
beforeAll(async () => {
  te = await startTestEngine(
    { 'gc.yaml': channelYaml('gc', 'acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: ${DIR}/out\n') },
    { role: 'listener' },
  );
});
afterAll(async () => {
  await te?.stop();
});

test('pipelined bursts on 4 connections: ACKs in send order per connection, a duplicate inside a burst stored once', async () => {
  const store = te.engine.messageStore as unknown as { intakeGroups: number };
  const before = store.intakeGroups;
  const bursts = Array.from({ length: 4 }, (_, c) => {
    const ids = Array.from({ length: 40 }, (_, i) => `C${c}-${i}`);
    ids.splice(20, 0, `C${c}-5`); // a resend of an earlier frame of the same burst
    return ids;
  });
  const answers = await Promise.all(bursts.map((ids, c) => burst(te.port('gc'), ids.map((id, i) => frame(id, `ORD-${c}-${i % 7}`)))));
  answers.forEach((acks, c) => {
    expect(acks.map((a) => a.get('MSA-2'))).toEqual(bursts[c]);
    expect(acks.every((a) => a.get('MSA-1') === 'AA')).toBe(true);
  });
  const groups = store.intakeGroups - before;
  expect(groups).toBeGreaterThan(0);
  expect(groups).toBeLessThan(164); // fewer transactions than messages: they were grouped
  const counts = await te.engine.messageStore.counts('gc');
  expect(counts.received).toBe(160);
  // the store's arrival order follows each connection's send order
  const stored = (await te.engine.messageStore.list('gc', undefined, 1000)).reverse();
  for (let c = 0; c < 4; c++) {
    const mine = stored.filter((m) => m.controlId.startsWith(`C${c}-`)).map((m) => m.controlId);
    expect(mine).toEqual(bursts[c].filter((id, i) => bursts[c].indexOf(id) === i));
  }
});

test('a group the store cannot commit (write lock held past the busy timeout): AE with ERR 207 for each, then AA once the lock is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-gc-'));
  const store = new SqliteStore({ path: join(dir, 'm.db'), busyTimeoutMs: 50 });
  await store.init();
  const blocker = new Database(join(dir, 'm.db'));
  const logger = createLogger({ level: 'error', file: join(dir, 'log.json') });
  const ch = channelSchema.parse({ name: 'lock', source: { type: 'mllp', port: 0 }, acceptance: { messageTypes: ['ORU^R01'] } });
  const enqueued: string[] = [];
  const intake = new Intake(ch, store, (id) => enqueued.push(id), logger);
  try {
    blocker.exec('BEGIN IMMEDIATE');
    const failed = await Promise.all(['L1', 'L2', 'L3'].map((id) => intake.handle(Buffer.from(frame(id, 'ORD-L').slice(1, -2)))));
    for (const o of failed) {
      const nak = Message.parse(o.response!.toString());
      expect([o.state, nak.get('MSA-1'), nak.get('ERR-3.1')]).toEqual(['store-failed', 'AE', '207']);
    }
    expect(enqueued).toEqual([]);
    blocker.exec('ROLLBACK');
    const ok = await intake.handle(Buffer.from(frame('L1', 'ORD-L').slice(1, -2)));
    expect([ok.state, Message.parse(ok.response!.toString()).get('MSA-1')]).toEqual(['accepted', 'AA']);
    expect(enqueued).toEqual([ok.id]);
  } finally {
    blocker.close();
    await store.close();
  }
});

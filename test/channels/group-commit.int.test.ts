/**
 * Group commit seen from a sender: frames pipelined on several connections at once are committed
 * in groups, and each connection still gets its ACKs in the order it sent, with the duplicate
 * inside a burst answered by the original's ACK and stored once.
 */
import net from 'node:net';
import { Message } from '../../engine/hl7';
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

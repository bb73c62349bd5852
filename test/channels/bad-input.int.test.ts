/**
 * Bad input through the real listener of a real engine: refused frames are kept as bounded
 * excerpts within the channel's quota, limits refuse without parsing, and a connection flooding
 * refused frames is slowed then shed while a valid sender of the same channel is served.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { MllpClient, FrameDecoder } from '../../engine/mllp';
import { Message } from '../../engine/hl7';
import { SqliteStore } from '../../engine/store/sqlite';
import { channelYaml, startTestEngine, type TestEngine } from '../support/engine-harness';
import { waitFor } from '../support/wait';

const valid = (id: string): Buffer =>
  Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5\rPID|1||123^^^HOSP^PI||DOE^JOHN\rOBR|1|ORD-${id}\rOBX|1|NM|1^A^L||1|g/L|||||F\r`);
const wrongType = (id: string, pad = 0): Buffer =>
  Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ADT^A01^ADT_A01|${id}|P|2.5\rPID|1||123^^^HOSP^PI||DOE^JOHN${'x'.repeat(pad)}\r`);
const frame = (payload: Buffer): Buffer => Buffer.concat([Buffer.from([0x0b]), payload, Buffer.from([0x1c, 0x0d])]);

describe('bad input through the listener', () => {
  let t: TestEngine;
  let port: number;

  beforeAll(async () => {
    t = await startTestEngine({
      'bad.yaml': channelYaml(
        'bad',
        `  nakRate:\n    perSecond: 5\n    burst: 5\n    maxDelayMs: 500\n` +
          `acceptance:\n  messageTypes: [ORU^R01]\n` +
          `limits:\n  maxSegments: 50\n  maxSegmentBytes: 200000\n` +
          `refusals:\n  keepBytes: 1024\n  maxCount: 5\n  maxBytes: 1000000\n` +
          `destinations:\n  - name: archive\n    type: file\n    directory: \${DIR}/out\n`,
      ),
    });
    port = t.port('bad');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const store = (): SqliteStore => (t.engine as unknown as { store: SqliteStore }).store;

  test('too many segments: AR with ERR 198, refused without parsing, kept as an excerpt with size and SHA-256', async () => {
    const big = Buffer.concat([valid('SEG-1'), Buffer.from('NTE|1||x\r'.repeat(5000))]);
    const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 10_000 });
    try {
      const nak = Message.parse((await client.send(big)).toString('latin1'));
      expect([nak.get('MSA-1'), nak.get('MSA-2'), nak.get('ERR-3.1')]).toEqual(['AR', 'SEG-1', '198']);
      const seg = Message.parse((await client.send(Buffer.concat([valid('SEG-2').subarray(0, -1), Buffer.from('|' + 'y'.repeat(250_000) + '\r')]))).toString('latin1'));
      expect([seg.get('MSA-1'), seg.get('ERR-3.1')]).toEqual(['AR', '104']);
    } finally {
      await client.close();
    }
    const [m] = (await store().list('bad', 'refused', 10)).filter((x) => x.controlId === 'SEG-1');
    expect(m!.reason).toMatch(/^PSL_LIMIT_SEGMENTS: /);
    expect(m!.reason).toContain(`frame of ${big.length} bytes, sha256 ${createHash('sha256').update(big).digest('hex')}`);
    expect(await store().raw(m!.id)).toEqual(big.subarray(0, 1024));
  });

  test('refused messages stay within the quota, oldest dropped first and counted', async () => {
    const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 10_000 });
    try {
      // One at a time, under the NAK budget: 5 at once, then 5 a second.
      for (let i = 0; i < 12; i++) expect((await client.send(wrongType(`Q-${i}`))).toString()).toContain('MSA|AR|');
    } finally {
      await client.close();
    }
    await waitFor(async () => (await store().refusalStats('bad')).count <= 5, 10_000, 50);
    const stats = await store().refusalStats('bad');
    expect(stats.count).toBe(5);
    expect(stats.dropped).toBe(12 + 2 - 5);
    expect((await store().list('bad', 'refused', 10)).map((m) => m.controlId).sort()).toEqual(['Q-10', 'Q-11', 'Q-7', 'Q-8', 'Q-9']);
  });

  test('a connection flooding refused frames is shed; a valid sender of the same channel gets every AA', async () => {
    // The flooder pipelines 300 refused frames without waiting for answers.
    const flood = net.connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder();
    let naks = 0;
    const closed = new Promise<void>((r) => flood.on('close', () => r()));
    flood.on('data', (c: Buffer) => {
      for (const item of decoder.push(c)) if (item.type === 'frame' && item.payload.toString().includes('MSA|AR|')) naks++;
    });
    flood.on('error', () => undefined);
    await new Promise<void>((r) => flood.once('connect', () => r()));
    flood.write(Buffer.concat(Array.from({ length: 300 }, (_, i) => frame(wrongType(`F-${i}`, 2000)))));

    const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 10_000 });
    const codes: string[] = [];
    try {
      for (let i = 0; i < 20; i++) codes.push(Message.parse((await client.send(valid(`V-${i}`))).toString()).get('MSA-1'));
    } finally {
      await client.close();
    }
    await closed; // shed by the engine (the test times out otherwise)
    expect(codes).toEqual(Array(20).fill('AA'));
    expect(naks).toBeGreaterThanOrEqual(5); // its burst was answered
    expect(naks).toBeLessThan(300); // not all: it was cut off
  });
});

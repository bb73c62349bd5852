/**
 * Done-means check: a started engine takes every file of the third-party sample corpus
 * (test/support/hl7-corpus) from an MLLP client that is not ours. Well-formed messages go through node-hl7-client 3.2.0 (an independent
 * peer: it frames, sends and parses our ACK); malformed ones, which that library cannot even
 * build, go over a raw socket framed by hand. Every well-formed message gets an ACK whose MSA-2
 * is its MSH-10; malformed ones get AR/AE with an ERR segment; the engine keeps answering.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Client, Message as PeerMessage, type Connection } from 'node-hl7-client';
import { Message, decode, splitBatch } from '../../engine/hl7';
import { FrameDecoder, encodeFrame } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { waitFor } from '../support/wait';
import { SAMPLES_DIR } from '../support/hl7-corpus';

const SAMPLES = SAMPLES_DIR;
interface Entry { file: string; note: string; messages: number; batch: boolean }
const manifest = JSON.parse(readFileSync(join(SAMPLES, 'manifest.json'), 'utf8')) as Entry[];
const isMalformed = (e: Entry): boolean => e.file.startsWith('malformed/') || /MALFORMED/.test(e.note);

/** Sends one message at a time over a single node-hl7-client connection. */
class Peer {
  private client = new Client({ host: '127.0.0.1' });
  private conn!: Connection;
  private pending?: (ack: PeerMessage) => void;
  async open(port: number): Promise<void> {
    this.conn = this.client.createConnection({ port, waitAck: true }, async (res) => this.pending?.(res.getMessage()));
    await new Promise<void>((r) => this.conn.once('connect', () => r()));
  }
  send(text: string): Promise<PeerMessage> {
    return new Promise((resolveAck, reject) => {
      const t = setTimeout(() => reject(new Error('no ACK within 10 s for ' + text.slice(0, 120))), 10_000);
      this.pending = (ack) => {
        clearTimeout(t);
        resolveAck(ack);
      };
      this.conn.sendMessage(new PeerMessage({ text })).catch(reject);
    });
  }
  async close(): Promise<void> {
    await this.conn.close();
    this.client.closeAll();
  }
}

function rawExchange(port: number, payload: Buffer): Promise<Buffer | null> {
  return new Promise((done) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const dec = new FrameDecoder();
    const t = setTimeout(() => { s.destroy(); done(null); }, 5000);
    s.on('data', (c) => {
      for (const it of dec.push(c)) if (it.type === 'frame') { clearTimeout(t); s.destroy(); done(it.payload); }
    });
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(t); done(null); });
    s.write(encodeFrame(payload));
  });
}

let te: TestEngine;
let peer: Peer;

beforeAll(async () => {
  te = await startTestEngine({
    'ltw.yaml': channelYaml('ltw', `acceptance:\n  messageTypes: [ORU^R01, OUL^R22, OML^O21, ORM^O01]\ncharset:\n  default: iso-8859-1\ndestinations:\n  - name: archive\n    type: file\n    directory: \${DIR}/out\n    fileName: \${id}.hl7\n`),
  });
  peer = new Peer();
  await peer.open(te.port('ltw'));
});

afterAll(async () => {
  await peer?.close();
  await te?.stop();
});

test('every well-formed sample gets an ACK whose MSA-2 is its MSH-10', async () => {
  const results: { file: string; code: string; controlId: string; msa2: string; hasErr: boolean }[] = [];
  for (const e of manifest.filter((x) => !isMalformed(x))) {
    const { text } = decode(readFileSync(join(SAMPLES, e.file)), { strict: false, defaultCharset: 'iso-8859-1' });
    const parts = splitBatch(text).messages;
    for (const part of parts) {
      const ours = Message.parse(part);
      // The peer's own representation: it wants \r segment terminators.
      const peerText = part.replace(/\r\n|\n/g, '\r').replace(/\r+$/, '');
      let built = true;
      try {
        new PeerMessage({ text: peerText });
      } catch {
        built = false; // e.g. an OBX value that literally starts with "MSH": the peer counts it as a second message
      }
      if (built) {
        const ack = await peer.send(peerText);
        results.push({
          file: e.file,
          code: ack.get('MSA.1').toString(),
          controlId: ours.controlId,
          msa2: ack.get('MSA.2').toString(),
          hasErr: ack.toString().split('\r').some((s) => s.startsWith('ERR')),
        });
      } else {
        const raw = await rawExchange(te.port('ltw'), Buffer.from(part, 'utf8'));
        const ack = Message.parse(raw!.toString('utf8'));
        results.push({ file: e.file, code: ack.get('MSA-1'), controlId: ours.controlId, msa2: ack.get('MSA-2'), hasErr: !!ack.segment('ERR') });
      }
    }
  }
  expect(results.length).toBeGreaterThan(60);
  for (const r of results) {
    expect({ file: r.file, msa2: r.msa2 }).toEqual({ file: r.file, msa2: r.controlId });
    if (r.code !== 'AA' && r.code !== 'CA') expect({ file: r.file, code: r.code, hasErr: r.hasErr }).toEqual({ file: r.file, code: r.code, hasErr: true });
  }
  // The LTW types with a control ID are accepted; others are refused as unsupported (AR, ERR 200).
  expect(results.filter((r) => r.code === 'AA' || r.code === 'CA').length).toBeGreaterThan(20);
  expect(results.find((r) => r.file.startsWith('ans/mdm-t02'))?.code).toBe('AR');
});

test('every malformed sample gets AR or AE with an ERR segment, and the engine keeps answering', async () => {
  const port = te.port('ltw');
  const bad = manifest.filter(isMalformed);
  expect(bad.length).toBeGreaterThanOrEqual(11);
  for (const e of bad) {
    const bytes = readFileSync(join(SAMPLES, e.file));
    const ack = await rawExchange(port, bytes);
    expect({ file: e.file, answered: ack !== null }).toEqual({ file: e.file, answered: true });
    const segs = ack!.toString('latin1').split('\r');
    const msa = segs.find((s) => s.startsWith('MSA'))!;
    expect({ file: e.file, code: msa.slice(4, 6) }).toEqual({ file: e.file, code: expect.stringMatching(/^A[RE]$/) });
    expect({ file: e.file, err: segs.some((s) => s.startsWith('ERR')) }).toEqual({ file: e.file, err: true });
  }
  const ok = await peer.send('MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|AFTER-MALFORMED|P|2.5\rPID|1||42^^^HOSP^PI||TEST^ALIVE\rOBR|1|ORD1\rOBX|1|NM|2345-7^Glucose^LN||1.0|g/L|||||F');
  expect([ok.get('MSA.1').toString(), ok.get('MSA.2').toString()]).toEqual(['AA', 'AFTER-MALFORMED']);
});

test('accepted messages reach the destination; refused ones are kept with their reason', async () => {
  const store = te.engine.messageStore;
  const out = join(te.dir, 'out');
  const counts0 = await store.counts('ltw');
  const accepted = Object.entries(counts0).filter(([s]) => s !== 'refused').reduce((n, [, c]) => n + c, 0);
  expect(accepted).toBeGreaterThan(20);
  expect(await waitFor(async () => (await store.counts('ltw')).done === accepted, 20_000)).toBe(true);
  expect(existsSync(out) && readdirSync(out).filter((f) => f.endsWith('.hl7')).length).toBe(accepted);
  const refused = await store.list('ltw', 'refused', 200);
  expect(refused.length).toBeGreaterThan(10);
  for (const m of refused) expect(m.reason).toMatch(/^[A-Z0-9_]+: /);
});

/**
 * HL7 batches over MLLP (FHS/BHS … BTS/FTS in one frame): each message accepted or refused on
 * its own and stored, one batch ACK back with an ACK per message.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { Message } from '../../engine/hl7';
import { FrameDecoder, encodeFrame } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { SAMPLES_DIR } from '../support/hl7-corpus';

const SAMPLES = resolve(SAMPLES_DIR, 'batch');

function exchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((done, fail) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const dec = new FrameDecoder();
    s.on('data', (c) => {
      for (const it of dec.push(c)) if (it.type === 'frame') (s.destroy(), done(it.payload));
    });
    s.on('error', fail);
    s.write(encodeFrame(payload));
  });
}

/** The batch ACK cut into its header lines and its ACK messages. */
function readBatchAck(bytes: Buffer): { lines: string[]; acks: Message[] } {
  const lines = bytes.toString('latin1').split('\r').filter(Boolean);
  const acks: Message[] = [];
  let cur: string[] | undefined;
  for (const l of lines) {
    if (/^(FHS|BHS|BTS|FTS)/.test(l)) {
      if (cur) acks.push(Message.parse(cur.join('\r')));
      cur = undefined;
    } else if (l.startsWith('MSH')) {
      if (cur) acks.push(Message.parse(cur.join('\r')));
      cur = [l];
    } else cur?.push(l);
  }
  if (cur) acks.push(Message.parse(cur.join('\r')));
  return { lines, acks };
}

const oru = (id: string, extra = '', type = 'ORU^R01^ORU_R01'): string =>
  `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||${type}|${id}|P|2.5${extra}\rPID|1||7^^^HOSP^PI||TEST^BATCH\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`;

let te: TestEngine;
beforeAll(async () => {
  te = await startTestEngine({
    'lab.yaml': channelYaml('lab', `acceptance:\n  messageTypes: [ORU^R01, SIU]\n`),
    'single.yaml': channelYaml('single', `  acceptBatches: false\nacceptance:\n  messageTypes: [ORU^R01]\n`),
    'small.yaml': channelYaml('small', `acceptance:\n  messageTypes: [ORU^R01]\nlimits:\n  maxBatchMessages: 2\n`),
  });
});
afterAll(async () => {
  await te?.stop();
});

const stored = async (channel: string): Promise<Map<string, string>> =>
  new Map((await te.engine.messageStore.list(channel, undefined, 1000)).map((m) => [m.controlId, m.state]));

test('an FHS/BHS batch of two ORU: both stored, one batch ACK with an ACK per message, BHS-12 = the sent BHS-11', async () => {
  const sample = readFileSync(resolve(SAMPLES, 'cdc_fhs-bhs_2x-oru-r01.hl7'));
  const sent = sample.toString('latin1').split(/\r\n|\r|\n/).filter(Boolean);
  const sentIds = sent.filter((l) => l.startsWith('MSH')).map((l) => l.split('|')[9]);
  const { lines, acks } = readBatchAck(await exchange(te.port('lab'), sample));
  expect(lines[0]!.startsWith('FHS|')).toBe(true);
  expect(lines[1]!.startsWith('BHS|')).toBe(true);
  expect(lines[1]!.split('|')[11]).toBe(sent.find((l) => l.startsWith('BHS'))!.split('|')[10] ?? '');
  expect(lines.slice(-2)).toEqual(['BTS|2', 'FTS|1']);
  // These messages are in enhanced mode (MSH-15 AL): commit ACKs.
  expect(acks.map((a) => [a.get('MSA-1'), a.get('MSA-2')])).toEqual(sentIds.map((id) => ['CA', id]));
  const s = await stored('lab');
  for (const id of sentIds) expect(s.has(id!)).toBe(true);
});

test('each message of a batch is judged on its own: accepted, refused, duplicate; a Latin-1 one keeps its bytes', async () => {
  const latin = Buffer.from(oru('B-LAT', '|||||FRA|8859/1').replace('TEST^BATCH', 'LÉGER^Zoé'), 'latin1');
  const frame = Buffer.concat([
    Buffer.from(`BHS|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||||B-77\r${oru('B-OK')}${oru('B-ADT', '', 'ADT^A01^ADT_A01')}`, 'latin1'),
    latin,
    Buffer.from(`${oru('B-OK')}BTS|4\r`, 'latin1'),
  ]);
  const { lines, acks } = readBatchAck(await exchange(te.port('lab'), frame));
  expect(lines[0]!.split('|').slice(2, 6)).toEqual(['PSL', 'HOSP', 'LAB', 'SITE']);
  expect(lines[0]!.split('|')[11]).toBe('B-77');
  expect(lines.at(-1)).toBe('BTS|4');
  expect(acks.map((a) => [a.get('MSA-1'), a.get('MSA-2')])).toEqual([
    ['AA', 'B-OK'],
    ['AR', 'B-ADT'],
    ['AA', 'B-LAT'],
    ['AA', 'B-OK'], // the duplicate gets the original ACK back
  ]);
  const list = await te.engine.messageStore.list('lab', undefined, 1000);
  expect(list.filter((m) => m.controlId === 'B-OK')).toHaveLength(1);
  expect(list.find((m) => m.controlId === 'B-ADT')?.state).toBe('refused');
  const lat = list.find((m) => m.controlId === 'B-LAT')!;
  expect(lat.charset).toBe('iso-8859-1');
  expect(await te.engine.messageStore.raw(lat.id)).toEqual(latin);
});

test('messages concatenated without FHS/BHS (Mirth style) are taken too', async () => {
  const sample = readFileSync(resolve(SAMPLES, 'mirth_3x-siu_no-fhs.hl7'));
  const ids = sample.toString('latin1').split(/\r\n|\r|\n/).filter((l) => l.startsWith('MSH')).map((l) => l.split('|')[9]);
  const { lines, acks } = readBatchAck(await exchange(te.port('lab'), sample));
  expect(lines[0]!.startsWith('BHS|')).toBe(true);
  expect(acks.map((a) => a.get('MSA-2'))).toEqual(ids);
  expect(acks.map((a) => a.get('MSA-1'))).toEqual(ids.map(() => 'AA'));
});

test('a channel with acceptBatches: false refuses the batch whole with PSL_BATCH_OVER_MLLP', async () => {
  const ack = Message.parse((await exchange(te.port('single'), Buffer.from(`${oru('S1')}${oru('S2')}`))).toString('latin1'));
  expect(ack.get('MSA-1')).toBe('AR');
  const s = await te.engine.messageStore.list('single', 'refused', 10);
  expect(s[0]?.reason).toMatch(/^PSL_BATCH_OVER_MLLP/);
});

test('a batch over limits.maxBatchMessages is refused whole (AR, PSL_BATCH_OVER_MLLP), none of its messages taken', async () => {
  const ack = Message.parse((await exchange(te.port('small'), Buffer.from(`${oru('L1')}${oru('L2')}${oru('L3')}`))).toString('latin1'));
  expect(ack.get('MSA-1')).toBe('AR');
  const all = await te.engine.messageStore.list('small', undefined, 10);
  expect(all.map((m) => m.state)).toEqual(['refused']);
  expect(all[0]!.reason).toMatch(/^PSL_BATCH_OVER_MLLP: .*maxBatchMessages/);
  // Within the limit the same channel takes a batch.
  const { acks } = readBatchAck(await exchange(te.port('small'), Buffer.from(`${oru('L4')}${oru('L5')}`)));
  expect(acks.map((a) => a.get('MSA-1'))).toEqual(['AA', 'AA']);
});

test('batch headers with a control byte as separator are not echoed: the batch ACK stays one clean MLLP frame (fuzzer finding)', async () => {
  // FS (0x1c), the MLLP end byte, as FHS/BHS field separator.
  const frame = Buffer.from(`FHS\x1c^~\\&\x1cLAB\x1cSITE\rBHS\x1c^~\\&\x1cLAB\x1cSITE\r${oru('FS1')}${oru('FS2')}BTS\x1c2\rFTS\x1c1\r`, 'latin1');
  const answer = await exchange(te.port('lab'), frame);
  expect(answer.includes(0x1c)).toBe(false);
  expect(answer.includes(0x0b)).toBe(false);
  const { lines, acks } = readBatchAck(answer);
  expect(lines[0]!.startsWith('FHS|^~\\&|')).toBe(true);
  expect(lines).toContain('BTS|2');
  expect(acks.map((a) => [a.get('MSA-1'), a.get('MSA-2')])).toEqual([['AA', 'FS1'], ['AA', 'FS2']]);
});

test('a batch that cannot be cut into messages is refused whole and kept with the reason', async () => {
  const before = new Set((await te.engine.messageStore.list('lab', 'refused', 100)).map((m) => m.id));
  // A BHS right after a message's segments, without a BTS, is a header inside a message.
  const frame = Buffer.from(`BHS|^~\\&|LAB\rMSH|^~\\&|LAB|SITE|PSL|HOSP|2026||ORU^R01|M1|P|2.5\rBHS|^~\\&|LAB\r`);
  const ack = Message.parse((await exchange(te.port('lab'), frame)).toString('latin1'));
  expect(['AR', 'AE']).toContain(ack.get('MSA-1'));
  const added = (await te.engine.messageStore.list('lab', 'refused', 100)).filter((m) => !before.has(m.id));
  expect(added).toHaveLength(1);
  expect(await te.engine.messageStore.raw(added[0]!.id)).toEqual(frame);
  expect(added[0]!.reason).toMatch(/^(PSL_BATCH_OVER_MLLP|HL7_)/);
});

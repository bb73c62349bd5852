/**
 * Enhanced mode, MSH-16: after processing, the sender gets an application ACK (AA/AE/AR) as a
 * new message over the channel's outbound connection (ack.application), as it asked.
 */
import { Message } from '../../engine/hl7';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { waitFor } from '../support/wait';

const oru = (id: string, msh15: string, msh16: string, key = id): Buffer =>
  Buffer.from(
    `MSH|^~\\&|LIS|LAB|EAI|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5|||${msh15}|${msh16}\rPID|1||7^^^HOSP^PI||TEST^APPACK\rORC|RE|${key}\rOBR|1|${key}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`,
  );

/** The original sender's inbound side: it receives our application ACKs and commits them (CA). */
const appAcks: Message[] = [];
const senderInbound = new MllpServer({
  host: '127.0.0.1',
  port: 0,
  handler: async (payload) => {
    const m = Message.parse(payload.toString('utf8'));
    appAcks.push(m);
    return Buffer.from(`MSH|^~\\&|LIS|LAB|EAI|HOSP|20261125||ACK^R01^ACK|C${m.controlId}|P|2.5\rMSA|CA|${m.controlId}\r`);
  },
});
/** A downstream that refuses content (AE) for ids starting with BAD. */
const downstream = new MllpServer({
  host: '127.0.0.1',
  port: 0,
  handler: async (payload) => {
    const m = Message.parse(payload.toString('utf8'));
    const code = m.controlId.startsWith('BAD') ? 'AE' : 'AA';
    return Buffer.from(`MSH|^~\\&|DOWN|X|||20261125||ACK^R01^ACK|D${m.controlId}|P|2.5\rMSA|${code}|${m.controlId}\r`);
  },
});

let te: TestEngine;
let client: MllpClient;

beforeAll(async () => {
  const back = await senderInbound.listen();
  const down = await downstream.listen();
  te = await startTestEngine({
    'results.yaml': channelYaml(
      'results',
      `acceptance:\n  messageTypes: [ORU^R01]\n` +
        `ack:\n  application:\n    host: 127.0.0.1\n    port: ${back.port}\n    retry:\n      backoffBaseMs: 50\n` +
        `destinations:\n  - name: down\n    type: mllp\n    host: 127.0.0.1\n    port: ${down.port}\n    retry:\n      maxAttempts: 2\n      backoffBaseMs: 20\n`,
    ),
  });
  client = new MllpClient({ host: '127.0.0.1', port: te.port('results') });
});

afterAll(async () => {
  await client?.close();
  await te?.stop();
  await senderInbound.close({ drainDeadlineMs: 100 });
  await downstream.close({ drainDeadlineMs: 100 });
});

const appAckFor = (id: string): Message | undefined => appAcks.find((a) => a.get('MSA-2') === id);

test('MSH-16 AL: commit ACK CA at once, then an application ACK AA as a new message once delivered', async () => {
  const commit = Message.parse((await client.send(oru('OK1', 'AL', 'AL'))).toString());
  expect(commit.get('MSA-1')).toBe('CA');
  expect(await waitFor(() => appAckFor('OK1') !== undefined, 15_000)).toBe(true);
  const a = appAckFor('OK1')!;
  expect(a.get('MSA-1')).toBe('AA');
  expect([a.messageCode, a.get('MSH-3'), a.get('MSH-5'), a.controlId, a.get('MSH-15'), a.get('MSH-16')]).toEqual(['ACK', 'EAI', 'LIS', 'APPOK1', 'AL', 'NE']);
});

test('a dead-lettered message (destination AE) gets AE with the error code; ER asks only for errors, SU only for success', async () => {
  // Same key, in this order: ER+success (no app ACK), SU+error (no app ACK), ER+error (AE), AL+success (AA).
  for (const [id, m16] of [['ER-OK', 'ER'], ['BAD-SU', 'SU'], ['BAD-ER', 'ER'], ['LAST', 'AL']] as const) {
    expect(Message.parse((await client.send(oru(id, 'AL', m16, 'K-SEQ'))).toString()).get('MSA-1')).toBe('CA');
  }
  expect(await waitFor(() => appAckFor('LAST') !== undefined, 20_000)).toBe(true);
  const bad = appAckFor('BAD-ER');
  expect(bad?.get('MSA-1')).toBe('AE');
  expect(bad?.get('ERR-5')).toBe('PSL_DEST_NAK_ERROR');
  expect(bad?.get('ERR-3.1')).toBe('207');
  expect(appAckFor('ER-OK')).toBeUndefined();
  expect(appAckFor('BAD-SU')).toBeUndefined();
  // Per key, application ACKs follow the message order.
  expect(appAcks.map((a) => a.get('MSA-2')).filter((id) => id === 'BAD-ER' || id === 'LAST')).toEqual(['BAD-ER', 'LAST']);
});

test('original mode (no MSH-15/16) and MSH-16 NE: no application ACK', async () => {
  // One key: had ORIG or NE1 an application ACK, it would be queued before AFTER's.
  await client.send(oru('ORIG', '', '', 'K-3'));
  await client.send(oru('NE1', 'AL', 'NE', 'K-3'));
  await client.send(oru('AFTER', 'AL', 'AL', 'K-3'));
  expect(await waitFor(() => appAckFor('AFTER') !== undefined, 15_000)).toBe(true);
  expect(await waitFor(async () => (await te.engine.messageStore.list('results', 'done', 50)).filter((m) => ['ORIG', 'NE1'].includes(m.controlId)).length === 2, 15_000)).toBe(true);
  expect(appAckFor('ORIG')).toBeUndefined();
  expect(appAckFor('NE1')).toBeUndefined();
});

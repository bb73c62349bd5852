/**
 * Charsets end to end: what a destination writes is in the charset its MSH-18 declares; bytes
 * invalid in the declared charset are never replaced silently.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { capturingLogger as captureLogger } from '../support/log-capture';
import { waitFor } from '../support/wait';

const latin1Oru = (id: string): Buffer =>
  Buffer.from(
    `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5|||||FRA|8859/1\rPID|1||7^^^HOSP^PI||LÉGER^Zoé\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\rNTE|1|L|Hématies élevées ç à ÿ\r`,
    'latin1',
  );

let te: TestEngine;
const received: Buffer[] = [];
const peer = new MllpServer({
  host: '127.0.0.1',
  port: 0,
  handler: async (payload) => {
    received.push(Buffer.from(payload));
    const id = payload.toString('latin1').split('\r')[0]!.split('|')[9];
    return Buffer.from(`MSH|^~\\&|DOWN|X|||20261125||ACK^R01^ACK|K${id}|P|2.5\rMSA|AA|${id}\r`);
  },
});
const cap = captureLogger();
const clients: MllpClient[] = [];

beforeAll(async () => {
  const { port } = await peer.listen();
  te = await startTestEngine(
    {
      'lab.yaml': channelYaml(
        'lab',
        `acceptance:\n  messageTypes: [ORU^R01]\n` +
          `destinations:\n  - name: archive\n    type: file\n    directory: \${DIR}/archive\n` +
          `  - name: latin9\n    type: file\n    directory: \${DIR}/latin9\n    charset: iso-8859-15\n` +
          `  - name: eai\n    type: mllp\n    host: 127.0.0.1\n    port: ${port}\n    charset: utf-8\n`,
      ),
      'strict.yaml': channelYaml('strict', `charset:\n  strict: true\nacceptance:\n  messageTypes: [ORU^R01]\n`),
    },
    { logger: cap.logger },
  );
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
  await peer.close({ drainDeadlineMs: 100 });
});

const client = (channel: string): MllpClient => {
  const c = new MllpClient({ host: '127.0.0.1', port: te.port(channel) });
  clients.push(c);
  return c;
};

test('a message declared 8859/1 is archived as ISO 8859-1 bytes; a destination forcing another charset rewrites MSH-18 to match', async () => {
  expect((await client('lab').send(latin1Oru('L1'))).toString('latin1')).toContain('MSA|AA|L1');
  const archived = join(te.dir, 'archive', 'L1.hl7');
  const latin9 = join(te.dir, 'latin9', 'L1.hl7');
  expect(await waitFor(async () => (await te.engine.messageStore.list('lab', 'done', 10)).some((m) => m.controlId === 'L1'), 10_000)).toBe(true);

  const bytes = readFileSync(archived);
  expect(bytes.includes(Buffer.from('Hématies élevées ç à ÿ', 'latin1'))).toBe(true);
  expect(bytes.includes(Buffer.from('é', 'utf8'))).toBe(false);
  const a = Message.parse(decode(bytes).text);
  expect([a.get('MSH-18'), a.get('NTE-3'), a.get('PID-5.1')]).toEqual(['8859/1', 'Hématies élevées ç à ÿ', 'LÉGER']);

  const l9 = Message.parse(decode(readFileSync(latin9)).text);
  expect([l9.get('MSH-18'), l9.get('NTE-3')]).toEqual(['8859/15', 'Hématies élevées ç à ÿ']);

  // The MLLP peer asked for UTF-8: UTF-8 bytes, and MSH-18 says so.
  const sent = received.find((b) => b.toString('latin1').includes('|L1|'))!;
  expect(sent.includes(Buffer.from('Hématies élevées', 'utf8'))).toBe(true);
  const m = Message.parse(decode(sent).text);
  expect([m.get('MSH-18'), m.get('NTE-3')]).toEqual(['UNICODE UTF-8', 'Hématies élevées ç à ÿ']);
});

const badUtf8 = (id: string): Buffer =>
  Buffer.concat([
    Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||7^^^HOSP^PI||TEST^BAD\rOBR|1|O-${id}\rNTE|1|L|Gly`),
    Buffer.from([0xe9, 0x6d, 0x69, 0x65]), // "émie" in Latin-1 inside a UTF-8 message
    Buffer.from('\r'),
  ]);

test('invalid UTF-8 under UNICODE UTF-8: accepted with an ERR warning (severity W) and a PSL_CHARSET_INVALID log line; refused on a strict channel', async () => {
  const ack = Message.parse((await client('lab').send(badUtf8('U1'))).toString('utf8'));
  expect(ack.get('MSA-1')).toBe('AA');
  expect(ack.get('ERR-4')).toBe('W');
  expect(ack.get('ERR-3.1')).toBe('102');
  expect(ack.get('ERR-5')).toBe('PSL_CHARSET_INVALID');
  expect(cap.records.find((r) => r.message === 'invalid bytes replaced')).toMatchObject({ level: 'warn', channel: 'lab', controlId: 'U1', code: 'PSL_CHARSET_INVALID' });

  const nak = Message.parse((await client('strict').send(badUtf8('U2'))).toString('latin1'));
  expect(['AE', 'AR']).toContain(nak.get('MSA-1'));
  expect(nak.get('ERR-3.1')).toBe('102');

  // A clean UTF-8 message carries no warning.
  const good = Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|U3|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||7^^^HOSP^PI||TEST^OK\rOBR|1|O-U3\rNTE|1|L|Glycémie\r`, 'utf8');
  const clean = Message.parse((await client('lab').send(good)).toString('utf8'));
  expect(clean.get('MSA-1')).toBe('AA');
  expect(clean.segment('ERR')).toBeUndefined();
});

test('a character the output charset cannot hold is written as a \\X..\\ escape of its UTF-8 bytes, never "?"', async () => {
  const utf8 = Buffer.from(
    `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|X1|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||7^^^HOSP^PI||TEST^ESC\rOBR|1|O-X1\rNTE|1|L|DFG ≥ 60 ml/min — € ok\r`,
    'utf8',
  );
  expect((await client('lab').send(utf8)).toString('utf8')).toContain('MSA|AA|X1');
  expect(await waitFor(async () => (await te.engine.messageStore.list('lab', 'done', 20)).some((m) => m.controlId === 'X1'), 10_000)).toBe(true);
  const wire = readFileSync(join(te.dir, 'latin9', 'X1.hl7')).toString('latin1');
  expect(wire).toContain('NTE|1|L|DFG \\XE289A5\\ 60 ml/min \\XE28094\\ \xa4 ok\r');
  expect(wire).toContain('|8859/15');
  expect(Message.parse(decode(readFileSync(join(te.dir, 'latin9', 'X1.hl7'))).text).get('NTE-3')).toBe('DFG ≥ 60 ml/min — € ok');
});

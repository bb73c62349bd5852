/** ERR layout per partner: by MSH-12, or forced per channel (ack.errLayout). */
import { Message } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';

const adt = (id: string, version: string): Buffer =>
  Buffer.from(`MSH|^~\\&|OLD|SITE|PSL|HOSP|20261125120000||ADT^A01^ADT_A01|${id}|P|${version}\rPID|1||7^^^HOSP^PI||TEST^OLD\r`);

let te: TestEngine;
const clients: MllpClient[] = [];
beforeAll(async () => {
  te = await startTestEngine({
    'auto.yaml': channelYaml('auto', `acceptance:\n  messageTypes: [ORU^R01]\n`),
    'forced.yaml': channelYaml('forced', `acceptance:\n  messageTypes: [ORU^R01]\nack:\n  errLayout: v2.3\n`),
  });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
});
const send = async (channel: string, frame: Buffer): Promise<Message> => {
  const c = new MllpClient({ host: '127.0.0.1', port: te.port(channel) });
  clients.push(c);
  return Message.parse((await c.send(frame)).toString('latin1'));
};

test('a v2.3 message refused gets ERR-1 (segment^sequence^field^code) and the text in MSA-3; a v2.5 one ERR-2..8', async () => {
  const old = await send('auto', adt('O1', '2.3'));
  expect([old.get('MSA-1'), old.get('ERR-1.1'), old.get('ERR-1.3'), old.get('ERR-1.4.1'), old.get('ERR-4')]).toEqual(['AR', 'MSH', '9', '200', '']);
  expect(old.get('MSA-3')).not.toBe('');
  const recent = await send('auto', adt('N1', '2.5'));
  expect([recent.get('MSA-1'), recent.get('ERR-1'), recent.get('ERR-3.1'), recent.get('ERR-4')]).toEqual(['AR', '', '200', 'E']);
});

test('ack.errLayout: v2.3 answers a partner whose MSH-12 says 2.5 with the older layout', async () => {
  const ack = await send('forced', adt('F1', '2.5'));
  expect([ack.get('ERR-1.4.1'), ack.get('ERR-3')]).toEqual(['200', '']);
});

/**
 * node-hl7-client 3.2.0 as an independent peer (baselines §3.2: it is correct against a correct
 * server). Its connection sends one message at a time with waitAck, so the test sends the next
 * message from the ACK callback.
 */
import { Client, Message, type Connection } from 'node-hl7-client';
import { MllpServer } from '../../engine/mllp';
import { delay, withTimeout } from './helpers';

/** Plain string work, no HL7 library: an ACK whose MSA-2 is the message's MSH-10. */
function ackFor(payload: Buffer): Buffer {
  const text = payload.toString('latin1');
  const msh = text.split(/\r\n|\r|\n/)[0];
  const sep = msh[3];
  const f = msh.split(sep); // f[0] = 'MSH', f[1] = encoding chars, so MSH-n is f[n - 1]
  const controlId = f[9];
  const ack = [
    ['MSH', f[1], f[4] ?? '', f[5] ?? '', f[2] ?? '', f[3] ?? '', f[6] ?? '', '', 'ACK', `ACK${controlId}`, 'P', f[11] ?? '2.5'].join(sep),
    ['MSA', 'AA', controlId].join(sep),
  ].join('\r');
  return Buffer.from(ack + '\r', 'latin1');
}

let server: MllpServer | undefined;
let client: Client | undefined;
let conn: Connection | undefined;

afterEach(async () => {
  await conn?.close();
  client?.closeAll();
  await server?.close({ drainDeadlineMs: 100 });
  server = undefined;
  client = undefined;
  conn = undefined;
});

it('node-hl7-client sends 20 messages and receives every matching ACK', async () => {
  const received: string[] = [];
  server = new MllpServer({
    host: '127.0.0.1',
    port: 0,
    handler: async (payload) => {
      received.push(payload.toString('latin1'));
      return ackFor(payload);
    },
  });
  const { port } = await server.listen();

  const controlIds = Array.from({ length: 20 }, (_, i) => `CTRL${String(i).padStart(4, '0')}`);
  const message = (i: number): Message =>
    new Message({
      text: [
        `MSH|^~\\&|LAB|SITE|PASSERELLE|HOSP|20250101120000||ORU^R01^ORU_R01|${controlIds[i]}|P|2.5`,
        `PID|1||${1000 + i}^^^HOSP^PI||DOE^JANE`,
        `OBX|1|NM|2345-7^Glucose^LN||${90 + i}|mg/dL|||||F`,
      ].join('\r'),
    });

  const acked: string[] = [];
  let failure: unknown;
  const allAcked = new Promise<void>((resolve) => {
    client = new Client({ host: '127.0.0.1' });
    conn = client.createConnection({ port, waitAck: true }, async (res) => {
      try {
        acked.push(res.getMessage().get('MSA.2').toString());
        if (acked.length === controlIds.length) resolve();
        else await conn!.sendMessage(message(acked.length));
      } catch (err) {
        failure = err;
        resolve();
      }
    });
  });
  // Send only once connected: before that, the peer queues and opens a second socket.
  await withTimeout(new Promise<void>((resolve) => conn!.once('connect', () => resolve())), 5000, 'peer connect');
  await conn!.sendMessage(message(0));
  await withTimeout(allAcked, 15_000, 'all ACKs');

  expect(failure).toBeUndefined();
  expect(acked).toEqual(controlIds);
  expect(received).toHaveLength(20);
  expect(received.map((m) => m.split('\r')[0].split('|')[9])).toEqual(controlIds);
  await delay(10);
  expect(server.connectionCount()).toBe(1); // one connection, reused
});

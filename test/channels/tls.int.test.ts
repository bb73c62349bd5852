/** Channel files with TLS: mutual TLS on a listener, TLS on an MLLP destination, reload on SIGHUP. */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { MllpClient } from '../../engine/mllp';
import { makePki, type TestPki } from '../support/pki';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { waitFor } from '../support/wait';
import { freePort } from '../support/redis';

const oru = (id: string): Buffer =>
  Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5\rPID|1||7^^^HOSP^PI\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`);

let pki: TestPki;
let te: TestEngine;
const clients: MllpClient[] = [];

beforeAll(async () => {
  pki = makePki();
  const d = pki.dir;
  copyFileSync(join(d, 'server.crt'), join(d, 'live.crt'));
  copyFileSync(join(d, 'server.key'), join(d, 'live.key'));
  const securePort = await freePort();
  te = await startTestEngine({
    'secure.yaml':
      `name: secure\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${securePort}\n  tls:\n    key: ${d}/live.key\n    cert: ${d}/live.crt\n    ca: ${d}/ca.crt\n    requestClientCert: true\n` +
      `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: \${DIR}/secure-out\n`,
    // Relays over TLS, with its own client certificate, to the secure channel.
    'relay.yaml': channelYaml(
      'relay',
      `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: onward\n    type: mllp\n    host: 127.0.0.1\n    port: ${securePort}\n` +
        `    tls:\n      ca: ${d}/ca.crt\n      cert: ${d}/client.crt\n      key: ${d}/client.key\n      servername: localhost\n`,
    ),
  });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
  pki?.cleanup();
});

test('mutual TLS: a client certificate signed by the CA is served, an unknown one is refused', async () => {
  const good = new MllpClient({ host: '127.0.0.1', port: te.port('secure'), tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey, servername: 'localhost' } });
  clients.push(good);
  expect((await good.send(oru('TLS1'))).toString()).toContain('MSA|AA|TLS1');
  const rogue = new MllpClient({ host: '127.0.0.1', port: te.port('secure'), connectTimeoutMs: 2000, responseTimeoutMs: 2000, tls: { ca: pki.caCert, cert: pki.rogueCert, key: pki.rogueKey, servername: 'localhost' } });
  clients.push(rogue);
  await expect(rogue.send(oru('TLS2'))).rejects.toMatchObject({ retry: expect.stringMatching(/transient|ambiguous/) });
  expect((await te.engine.messageStore.list('secure', undefined, 10)).map((m) => m.controlId)).toEqual(['TLS1']);
});

test('an MLLP destination with TLS and a client certificate delivers to a mutual-TLS listener', async () => {
  const c = new MllpClient({ host: '127.0.0.1', port: te.port('relay') });
  clients.push(c);
  expect((await c.send(oru('RELAY1'))).toString()).toContain('MSA|AA|RELAY1');
  expect(await waitFor(async () => (await te.engine.messageStore.list('secure', undefined, 10)).some((m) => m.controlId === 'RELAY1'), 10_000)).toBe(true);
  expect(await waitFor(async () => (await te.engine.messageStore.list('relay', 'done', 10)).length === 1, 10_000)).toBe(true);
});

test('new certificates are used for new handshakes after a reload; open connections stay', async () => {
  const peerCn = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: te.port('secure'), ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey, servername: 'localhost', rejectUnauthorized: false }, () => {
        const cn = s.getPeerCertificate().subject.CN;
        s.destroy();
        resolve(String(cn));
      });
      s.once('error', reject);
    });
  expect(await peerCn()).toBe('localhost');
  const open = clients[0]!;
  copyFileSync(join(pki.dir, 'server2.crt'), join(pki.dir, 'live.crt'));
  copyFileSync(join(pki.dir, 'server2.key'), join(pki.dir, 'live.key'));
  te.engine.reloadTls(); // what SIGHUP does
  expect(await waitFor(async () => (await peerCn()) === 'reloaded.test', 3000)).toBe(true);
  expect((await open.send(oru('TLS3'))).toString()).toContain('MSA|AA|TLS3');
});

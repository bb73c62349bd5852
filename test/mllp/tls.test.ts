import tls from 'node:tls';
import { MllpClient, MllpServer, encodeFrame, type ConnectionInfo, type MllpServerOptions } from '../../engine/mllp';
import { RawPeer, delay, makePki, withTimeout, type TestPki } from './helpers';

let pki: TestPki;
const servers: MllpServer[] = [];
const peers: RawPeer[] = [];
const clients: MllpClient[] = [];

beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki?.cleanup());
afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close({ drainDeadlineMs: 100 })));
});

const echo = async (payload: Buffer, conn: ConnectionInfo): Promise<Buffer> =>
  Buffer.from(`ACK ${payload} from ${conn.peerCertificateSubject ?? 'anonymous'} tls=${conn.tls}`);

async function start(opts: Partial<MllpServerOptions>): Promise<{ server: MllpServer; port: number }> {
  const server = new MllpServer({ host: '127.0.0.1', port: 0, handler: echo, ...opts });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port };
}

async function connect(port: number, opts: tls.ConnectionOptions): Promise<RawPeer> {
  const p = await RawPeer.connect(port, opts);
  peers.push(p);
  return p;
}

/** Subject CN of the certificate a server presents to a new handshake. */
async function presentedCn(port: number): Promise<string> {
  const peer = await connect(port, { ca: pki.caCert, servername: 'localhost', checkServerIdentity: () => undefined });
  const cn = peer.socket instanceof tls.TLSSocket ? String(peer.socket.getPeerCertificate().subject.CN) : '';
  return cn;
}

describe('MllpServer over TLS', () => {
  it('serves frames over TLS', async () => {
    const { port } = await start({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const peer = await connect(port, { ca: pki.caCert });
    await peer.write(encodeFrame(Buffer.from('hello')));
    expect((await peer.waitFrames(1)).map(String)).toEqual(['ACK hello from anonymous tls=true']);
  });

  it('mutual TLS: a client certificate signed by the CA works and is reported', async () => {
    const { port } = await start({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestClientCert: true },
    });
    const peer = await connect(port, { ca: pki.caCert, key: pki.clientKey, cert: pki.clientCert });
    await peer.write(encodeFrame(Buffer.from('hi')));
    expect((await peer.waitFrames(1)).map(String)).toEqual(['ACK hi from CN=lab-analyzer, O=Passerelle Tests tls=true']);
  });

  it('mutual TLS: a self-signed (unknown) client certificate is refused', async () => {
    let handled = 0;
    const { server, port } = await start({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestClientCert: true },
      handler: async (p) => (handled++, p),
    });
    const refused: string[] = [];
    server.on('refused', (e) => refused.push(e.reason));
    // With TLS 1.3 the client may finish its side of the handshake before the server's alert
    // arrives, so accept either a failed connect or a connection that dies without an answer.
    let peer: RawPeer | undefined;
    try {
      peer = await connect(port, { ca: pki.caCert, key: pki.rogueKey, cert: pki.rogueCert });
    } catch {
      peer = undefined;
    }
    if (peer) {
      peer.socket.write(encodeFrame(Buffer.from('let me in')), () => undefined);
      await peer.waitClosed(5000);
      expect(peer.frames).toHaveLength(0);
    }
    await withTimeout((async () => { while (refused.length < 1) await delay(5); })(), 5000, 'refused event');
    expect(refused[0]).toMatch(/^tls: /);
    expect(handled).toBe(0);
    expect(server.connectionCount()).toBe(0);
  });

  it('mutual TLS: a client without a certificate is refused', async () => {
    const { server, port } = await start({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestClientCert: true },
    });
    const refused: string[] = [];
    server.on('refused', (e) => refused.push(e.reason));
    let peer: RawPeer | undefined;
    try {
      peer = await connect(port, { ca: pki.caCert });
    } catch {
      peer = undefined;
    }
    if (peer) {
      peer.socket.write(encodeFrame(Buffer.from('x')), () => undefined);
      await peer.waitClosed(5000);
      expect(peer.frames).toHaveLength(0);
    }
    await withTimeout((async () => { while (refused.length < 1) await delay(5); })(), 5000, 'refused event');
  });

  it('reloadTls: new handshakes get the new certificate, existing connections stay', async () => {
    const { server, port } = await start({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    expect(await presentedCn(port)).toBe('localhost');
    const old = await connect(port, { ca: pki.caCert });
    await old.write(encodeFrame(Buffer.from('before')));
    await old.waitFrames(1);

    server.reloadTls({ key: pki.server2Key, cert: pki.server2Cert });

    expect(await presentedCn(port)).toBe('reloaded.test');
    await old.write(encodeFrame(Buffer.from('after')));
    expect((await old.waitFrames(2)).map(String)).toEqual([
      'ACK before from anonymous tls=true',
      'ACK after from anonymous tls=true',
    ]);
    expect(old.isClosed).toBe(false);
  });

  it('MllpClient talks TLS (and mutual TLS) to MllpServer', async () => {
    const { port } = await start({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestClientCert: true },
    });
    const client = new MllpClient({
      host: '127.0.0.1',
      port,
      tls: { ca: pki.caCert, key: pki.clientKey, cert: pki.clientCert },
    });
    clients.push(client);
    expect(String(await client.send(Buffer.from('one')))).toBe('ACK one from CN=lab-analyzer, O=Passerelle Tests tls=true');
    expect(String(await client.send(Buffer.from('two')))).toBe('ACK two from CN=lab-analyzer, O=Passerelle Tests tls=true');
  });

  it('MllpClient refuses a server whose certificate it cannot verify (transient connect error)', async () => {
    const { port } = await start({ tls: { key: pki.rogueKey, cert: pki.rogueCert } });
    const client = new MllpClient({ host: '127.0.0.1', port, tls: { ca: pki.caCert } });
    clients.push(client);
    await expect(client.send(Buffer.from('x'))).rejects.toMatchObject({ code: 'PSL_DEST_CONNECT', retry: 'transient' });
  });
});

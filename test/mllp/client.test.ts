import net from 'node:net';
import { PasserelleError } from '../../engine/errors';
import { MllpClient, MllpServer, type MllpClientOptions, type MllpServerOptions } from '../../engine/mllp';
import { deferred, delay } from './helpers';

const servers: MllpServer[] = [];
const clients: MllpClient[] = [];
const rawServers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close({ drainDeadlineMs: 100 })));
  await Promise.all(rawServers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function startServer(opts: Partial<MllpServerOptions> = {}): Promise<{ server: MllpServer; port: number; connections: string[] }> {
  const server = new MllpServer({ host: '127.0.0.1', port: 0, handler: async (p) => Buffer.from(`ACK ${p}`), ...opts });
  servers.push(server);
  const connections: string[] = [];
  server.on('connection', (i) => connections.push(i.id));
  const { port } = await server.listen();
  return { server, port, connections };
}

function newClient(opts: Partial<MllpClientOptions> & { port: number }): MllpClient {
  const c = new MllpClient({ host: '127.0.0.1', ...opts });
  clients.push(c);
  return c;
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function rejection(p: Promise<unknown>): Promise<PasserelleError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PasserelleError);
    return err as PasserelleError;
  }
  throw new Error('expected a rejection');
}

describe('MllpClient', () => {
  it('sends a payload and resolves with the response payload', async () => {
    const { port } = await startServer();
    const client = newClient({ port });
    expect(String(await client.send(Buffer.from('hello')))).toBe('ACK hello');
  });

  it('reuses one connection with keepAlive (default)', async () => {
    const { port, connections } = await startServer();
    const client = newClient({ port });
    for (let i = 0; i < 5; i++) expect(String(await client.send(Buffer.from(`m${i}`)))).toBe(`ACK m${i}`);
    expect(connections).toHaveLength(1);
    expect(client.connected).toBe(true);
  });

  it('opens one connection per message with keepAlive false', async () => {
    const { port, connections } = await startServer();
    const client = newClient({ port, keepAlive: false });
    for (let i = 0; i < 3; i++) await client.send(Buffer.from(`m${i}`));
    expect(connections).toHaveLength(3);
  });

  it('queues concurrent sends and keeps one in flight at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { port } = await startServer({
      handler: async (p) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await delay(5);
        inFlight--;
        return Buffer.from(`ACK ${p}`);
      },
    });
    const client = newClient({ port });
    const answers = await Promise.all([0, 1, 2, 3, 4].map((i) => client.send(Buffer.from(`q${i}`))));
    expect(answers.map(String)).toEqual(['ACK q0', 'ACK q1', 'ACK q2', 'ACK q3', 'ACK q4']);
    expect(maxInFlight).toBe(1);
  });

  it('response timeout → ambiguous PSL_DEST_ACK_TIMEOUT, then a fresh connection for the next send', async () => {
    const slow = deferred<void>();
    let first = true;
    const { port, connections } = await startServer({
      handler: async (p) => {
        if (first) {
          first = false;
          await slow.promise; // answers late: that late ACK must never reach the next send
        }
        return Buffer.from(`ACK ${p}`);
      },
    });
    const client = newClient({ port, responseTimeoutMs: 150 });
    const err = await rejection(client.send(Buffer.from('lost')));
    expect(err.code).toBe('PSL_DEST_ACK_TIMEOUT');
    expect(err.retry).toBe('ambiguous');
    expect(err.details).toMatchObject({ reason: 'timeout' });
    slow.resolve();
    expect(String(await client.send(Buffer.from('next')))).toBe('ACK next');
    expect(connections).toHaveLength(2);
  });

  it('connection refused → transient PSL_DEST_CONNECT', async () => {
    const client = newClient({ port: await closedPort() });
    const err = await rejection(client.send(Buffer.from('x')));
    expect(err.code).toBe('PSL_DEST_CONNECT');
    expect(err.retry).toBe('transient');
  });

  it('connect timeout (TLS handshake never answered) → transient PSL_DEST_CONNECT', async () => {
    // A TCP listener that accepts and then says nothing: the TLS handshake can never finish.
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    rawServers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const client = newClient({ port, connectTimeoutMs: 150, tls: { rejectUnauthorized: false } });
    const err = await rejection(client.send(Buffer.from('x')));
    expect(err.code).toBe('PSL_DEST_CONNECT');
    expect(err.retry).toBe('transient');
    expect(err.message).toMatch(/connect timeout/);
    for (const s of held) s.destroy();
  });

  it('backoff grows between failed attempts and resets after a success', async () => {
    const port = await closedPort();
    const client = newClient({ port, reconnect: { baseMs: 100, maxMs: 250 } });
    const waits: number[] = [];
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = Date.now();
      const err = await rejection(client.send(Buffer.from('x')));
      waits.push(Date.now() - t0);
      expect(err.code).toBe('PSL_DEST_CONNECT');
      delays.push(client.reconnectDelayMs);
    }
    expect(delays).toEqual([100, 200, 250, 250]); // doubled, capped at maxMs
    expect(waits[0]).toBeLessThan(100); // first attempt does not wait
    expect(waits[1]).toBeGreaterThanOrEqual(90);
    expect(waits[2]).toBeGreaterThanOrEqual(190);

    // The peer comes back on that port: after one success the delay is back to 0.
    const server = new MllpServer({ host: '127.0.0.1', port, handler: async (p) => p });
    servers.push(server);
    await server.listen();
    expect(String(await client.send(Buffer.from('back')))).toBe('back');
    expect(client.reconnectDelayMs).toBe(0);
  });

  it('peer closing after the frame was written, without answering → ambiguous', async () => {
    const { server, port } = await startServer({
      handler: async () => {
        throw new Error('store down'); // our server closes without a response
      },
    });
    server.on('handlerError', () => undefined);
    const client = newClient({ port });
    const err = await rejection(client.send(Buffer.from('x')));
    expect(err.code).toBe('PSL_DEST_ACK_TIMEOUT');
    expect(err.retry).toBe('ambiguous');
    expect(err.details).toMatchObject({ reason: 'closed' });
  });

  it('reconnects after the server closed an idle kept-alive connection', async () => {
    const { port, connections } = await startServer({ idleTimeoutMs: 100 });
    const client = newClient({ port });
    expect(String(await client.send(Buffer.from('a')))).toBe('ACK a');
    await delay(300);
    expect(client.connected).toBe(false);
    expect(String(await client.send(Buffer.from('b')))).toBe('ACK b');
    expect(connections).toHaveLength(2);
  });

  it('an oversize response → PSL_DEST_BAD_ACK', async () => {
    const { port } = await startServer({ handler: async () => Buffer.alloc(5000, 0x41) });
    const client = newClient({ port, maxFrameBytes: 1000 });
    const err = await rejection(client.send(Buffer.from('x')));
    expect(err.code).toBe('PSL_DEST_BAD_ACK');
  });

  it('close() lets the send in flight finish and fails queued ones as transient', async () => {
    const gate = deferred<void>();
    const { port } = await startServer({ handler: async (p) => (await gate.promise, Buffer.from(`ACK ${p}`)) });
    const client = newClient({ port });
    const first = client.send(Buffer.from('1'));
    const second = client.send(Buffer.from('2'));
    await delay(30);
    const closing = client.close();
    gate.resolve();
    expect(String(await first)).toBe('ACK 1');
    await expect(second).rejects.toMatchObject({ code: 'PSL_DEST_CONNECT' });
    await closing;
    await expect(client.send(Buffer.from('3'))).rejects.toMatchObject({ code: 'PSL_DEST_CONNECT' });
  });
});

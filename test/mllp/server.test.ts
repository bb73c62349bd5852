import net from 'node:net';
import { CR, FS, MllpServer, VT, encodeFrame, type ConnectionInfo, type MllpServerOptions } from '../../engine/mllp';
import { RawPeer, deferred, delay, withTimeout } from './helpers';

const servers: MllpServer[] = [];
const peers: RawPeer[] = [];

/** Echo handler: answers `ACK <payload>`; nothing HL7 about it. */
const echo = async (payload: Buffer): Promise<Buffer> => Buffer.concat([Buffer.from('ACK '), payload]);

async function start(opts: Partial<MllpServerOptions> = {}): Promise<{ server: MllpServer; port: number }> {
  const server = new MllpServer({ host: '127.0.0.1', port: 0, handler: echo, ...opts });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port };
}

async function connect(port: number): Promise<RawPeer> {
  const p = await RawPeer.connect(port);
  peers.push(p);
  return p;
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close({ drainDeadlineMs: 100 })));
});

describe('MllpServer framing probes (baselines §3.1)', () => {
  it('answers two frames sent in one TCP write', async () => {
    const { port } = await start();
    const peer = await connect(port);
    await peer.write(Buffer.concat([encodeFrame(Buffer.from('one')), encodeFrame(Buffer.from('two'))]));
    const frames = await peer.waitFrames(2);
    expect(frames.map(String)).toEqual(['ACK one', 'ACK two']);
  });

  it('answers when FS and CR arrive in separate writes', async () => {
    const { port } = await start();
    const peer = await connect(port);
    await peer.write(Buffer.concat([Buffer.from([VT]), Buffer.from('split'), Buffer.from([FS])]));
    await delay(30);
    expect(peer.frames).toHaveLength(0);
    await peer.write(Buffer.from([CR]));
    expect((await peer.waitFrames(1)).map(String)).toEqual(['ACK split']);
  });

  it('answers a 1 MB frame', async () => {
    const seen: number[] = [];
    const { port } = await start({ handler: async (p) => (seen.push(p.length), Buffer.from(`len ${p.length}`)) });
    const peer = await connect(port);
    await peer.write(encodeFrame(Buffer.alloc(1024 * 1024, 0x41)));
    expect((await peer.waitFrames(1)).map(String)).toEqual([`len ${1024 * 1024}`]);
    expect(seen).toEqual([1024 * 1024]);
  });

  it('answers 8 concurrent 1 MB frames on 8 connections', async () => {
    const { port } = await start({ handler: async (p) => Buffer.from(`len ${p.length} first ${p[0]}`) });
    const conns = await Promise.all(Array.from({ length: 8 }, () => connect(port)));
    await Promise.all(conns.map((c, i) => c.write(encodeFrame(Buffer.alloc(1024 * 1024, 0x41 + i)))));
    const answers = await Promise.all(conns.map((c) => c.waitFrames(1)));
    answers.forEach((a, i) => expect(String(a[0])).toBe(`len ${1024 * 1024} first ${0x41 + i}`));
  });

  it('answers 300 sequential messages on one connection, each with its own response, handler run once each', async () => {
    let calls = 0;
    const { port } = await start({ handler: async (p) => (calls++, Buffer.from(`ACK ${p}`)) });
    const peer = await connect(port);
    for (let i = 0; i < 300; i++) {
      await peer.write(encodeFrame(Buffer.from(`MSG ${i}`)));
      const frames = await peer.waitFrames(i + 1);
      expect(String(frames[i])).toBe(`ACK MSG ${i}`);
    }
    expect(calls).toBe(300);
  });
});

describe('MllpServer behaviour', () => {
  it('writes pipelined responses in arrival order even when handlers resolve in reverse', async () => {
    const gates = Array.from({ length: 5 }, () => deferred<void>());
    let started = 0;
    const { port } = await start({
      handler: async (p) => {
        const i = Number(String(p));
        started++;
        await gates[i].promise;
        return Buffer.from(`R${i}`);
      },
    });
    const peer = await connect(port);
    await peer.write(Buffer.concat([0, 1, 2, 3, 4].map((i) => encodeFrame(Buffer.from(String(i))))));
    while (started < 5) await delay(5);
    for (let i = 4; i >= 1; i--) gates[i].resolve();
    await delay(30);
    expect(peer.frames).toHaveLength(0); // frame 0 still pending: nothing may overtake it
    gates[0].resolve();
    expect((await peer.waitFrames(5)).map(String)).toEqual(['R0', 'R1', 'R2', 'R3', 'R4']);
  });

  it('stops reading when maxInFlightPerConnection frames are pending, and resumes after', async () => {
    const gate = deferred<void>();
    let started = 0;
    const { port } = await start({
      maxInFlightPerConnection: 2,
      handler: async (p) => {
        started++;
        await gate.promise;
        return p;
      },
    });
    const peer = await connect(port);
    await peer.write(encodeFrame(Buffer.from('a')));
    await peer.write(encodeFrame(Buffer.from('b')));
    while (started < 2) await delay(5);
    await peer.write(encodeFrame(Buffer.from('c')));
    await delay(50);
    expect(started).toBe(2); // paused: 'c' not read yet
    gate.resolve();
    expect((await peer.waitFrames(3)).map(String)).toEqual(['a', 'b', 'c']);
    expect(started).toBe(3);
  });

  it('on an oversize frame writes the onOversize response, then closes', async () => {
    const prefixes: Buffer[] = [];
    const oversize: ConnectionInfo[] = [];
    let calls = 0;
    const { server, port } = await start({
      maxFrameBytes: 1000,
      handler: async (p) => (calls++, p),
      onOversize: (prefix) => (prefixes.push(prefix), Buffer.from('NAK too big')),
    });
    server.on('oversize', (info) => oversize.push(info));
    const peer = await connect(port);
    await peer.write(encodeFrame(Buffer.from('small')));
    await peer.write(Buffer.concat([Buffer.from([VT]), Buffer.from('MSH|'), Buffer.alloc(5000, 0x41)]));
    await peer.waitClosed();
    expect(peer.frames.map(String)).toEqual(['small', 'NAK too big']);
    expect(prefixes).toHaveLength(1);
    expect(prefixes[0].subarray(0, 4).toString()).toBe('MSH|');
    expect(oversize).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('reports garbage and still answers the frames around it', async () => {
    const { server, port } = await start();
    const garbage: number[] = [];
    server.on('garbage', (e) => garbage.push(e.bytes));
    const peer = await connect(port);
    await peer.write(Buffer.concat([Buffer.from('noise'), encodeFrame(Buffer.from('x'))]));
    expect((await peer.waitFrames(1)).map(String)).toEqual(['ACK x']);
    expect(garbage).toEqual([5]);
  });

  it('closes an idle connection', async () => {
    const { server, port } = await start({ idleTimeoutMs: 150 });
    const disconnects: ConnectionInfo[] = [];
    server.on('disconnect', (i) => disconnects.push(i));
    const peer = await connect(port);
    await peer.write(encodeFrame(Buffer.from('x')));
    await peer.waitFrames(1);
    await peer.waitClosed(5000);
    await withTimeout((async () => { while (disconnects.length < 1) await delay(5); })(), 2000, 'disconnect event');
    expect(server.connectionCount()).toBe(0);
  });

  it('does not close a connection as idle while its handler is still running', async () => {
    const gate = deferred<void>();
    const { port } = await start({ idleTimeoutMs: 100, handler: async (p) => (await gate.promise, p) });
    const peer = await connect(port);
    await peer.write(encodeFrame(Buffer.from('slow')));
    await delay(300);
    expect(peer.isClosed).toBe(false);
    gate.resolve();
    expect((await peer.waitFrames(1)).map(String)).toEqual(['slow']);
  });

  it('refuses connections beyond maxConnections', async () => {
    const { server, port } = await start({ maxConnections: 2 });
    const refused: Array<{ remoteAddress: string; reason: string }> = [];
    server.on('refused', (e) => refused.push(e));
    const a = await connect(port);
    const b = await connect(port);
    while (server.connectionCount() < 2) await delay(5);
    const c = await connect(port);
    await c.waitClosed(5000);
    expect(refused).toEqual([{ remoteAddress: '127.0.0.1', reason: 'maxConnections' }]);
    await a.write(encodeFrame(Buffer.from('a')));
    await b.write(encodeFrame(Buffer.from('b')));
    expect(String((await a.waitFrames(1))[0])).toBe('ACK a');
    expect(String((await b.waitFrames(1))[0])).toBe('ACK b');
  });

  it('closes only the connection whose handler rejected, without a response', async () => {
    const { server, port } = await start({
      handler: async (p) => {
        if (String(p) === 'boom') throw new Error('store down');
        return p;
      },
    });
    const errors: string[] = [];
    server.on('handlerError', (e) => errors.push(e.error.message));
    const bad = await connect(port);
    const good = await connect(port);
    await bad.write(encodeFrame(Buffer.from('boom')));
    await bad.waitClosed();
    expect(bad.frames).toHaveLength(0);
    expect(errors).toEqual(['store down']);
    await good.write(encodeFrame(Buffer.from('fine')));
    expect((await good.waitFrames(1)).map(String)).toEqual(['fine']);
  });

  it('writes the responses due before a rejected frame, then closes', async () => {
    const { server, port } = await start({
      handler: async (p) => {
        if (String(p) === 'boom') throw new Error('nope');
        return p;
      },
    });
    server.on('handlerError', () => undefined);
    const peer = await connect(port);
    await peer.write(Buffer.concat(['ok1', 'boom', 'ok2'].map((s) => encodeFrame(Buffer.from(s)))));
    await peer.waitClosed();
    expect(peer.frames.map(String)).toEqual(['ok1']);
  });

  it('answers a sender that half-closes after its frame', async () => {
    const { port } = await start();
    const peer = await connect(port);
    peer.socket.end(encodeFrame(Buffer.from('last')));
    await peer.waitClosed();
    expect(peer.frames.map(String)).toEqual(['ACK last']);
  });

  it('graceful close drains an in-flight handler and refuses new connections', async () => {
    const gate = deferred<void>();
    let started = false;
    const { server, port } = await start({
      handler: async (p) => {
        started = true;
        await gate.promise;
        return Buffer.from(`done ${p}`);
      },
    });
    const peer = await connect(port);
    await peer.write(encodeFrame(Buffer.from('inflight')));
    while (!started) await delay(5);
    const closing = server.close({ drainDeadlineMs: 5000 });
    // New connections are refused while draining.
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    gate.resolve();
    await withTimeout(closing, 5000, 'server close');
    expect(peer.frames.map(String)).toEqual(['done inflight']);
    await peer.waitClosed(2000);
  });

  it('destroys connections still busy at the drain deadline', async () => {
    const { server, port } = await start({ handler: () => new Promise<Buffer>(() => undefined) });
    const peer = await connect(port);
    await peer.write(encodeFrame(Buffer.from('never')));
    await delay(20);
    await withTimeout(server.close({ drainDeadlineMs: 100 }), 3000, 'server close');
    await peer.waitClosed(2000);
    expect(peer.frames).toHaveLength(0);
  });

  it('emits connection and disconnect with the connection info', async () => {
    const { server, port } = await start();
    const seen: string[] = [];
    server.on('connection', (i) => seen.push(`+${i.remoteAddress}:${i.tls}`));
    server.on('disconnect', (i) => seen.push(`-${i.id}`));
    const peer = await connect(port);
    while (seen.length < 1) await delay(5);
    peer.destroy();
    while (seen.length < 2) await delay(5);
    expect(seen[0]).toBe('+127.0.0.1:false');
    expect(seen[1]).toMatch(/^-mllp-\d+$/);
  });
});

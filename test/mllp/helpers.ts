/** Test helpers for the MLLP suites: a raw socket peer and throw-away certificates. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { FrameDecoder } from '../../engine/mllp';

/** A client over a raw socket that records every response frame and the close. */
export class RawPeer {
  readonly frames: Buffer[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  error: Error | undefined;
  private readonly decoder = new FrameDecoder();
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) if (item.type === 'frame') this.frames.push(item.payload);
      this.wake();
    });
    socket.on('error', (err) => (this.error = err));
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number, tlsOptions?: tls.ConnectionOptions): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = tlsOptions ? tls.connect({ host: '127.0.0.1', port, ...tlsOptions }) : net.connect({ host: '127.0.0.1', port });
      s.once('error', reject);
      s.once(tlsOptions ? 'secureConnect' : 'connect', () => {
        s.off('error', reject);
        resolve(new RawPeer(s));
      });
    });
  }

  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves once `n` frames arrived in total (rejects on close or after `timeoutMs`). */
  async waitFrames(n: number, timeoutMs = 10_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (this.isClosed) throw new Error(`closed after ${this.frames.length}/${n} frames`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout after ${this.frames.length}/${n} frames`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.slice(0, n);
  }

  /** Resolves when the server closed the connection; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 10_000): Promise<void> {
    return withTimeout(this.closed, timeoutMs, 'connection not closed');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]);
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A deferred promise, to let tests decide when a handler resolves. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** PEM material made with the openssl CLI. */
export interface TestPki {
  dir: string;
  caCert: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  /** A second server certificate (CN=reloaded.test) from the same CA, for reloadTls. */
  server2Key: Buffer;
  server2Cert: Buffer;
  /** Client certificate signed by the CA (CN=lab-analyzer). */
  clientKey: Buffer;
  clientCert: Buffer;
  /** Self-signed client certificate unknown to the CA (CN=intruder). */
  rogueKey: Buffer;
  rogueCert: Buffer;
  cleanup(): void;
}

/** Generates a CA, two server certificates and two client certificates (EC P-256, 2 days). */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'mllp-pki-'));
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  ossl('req', '-x509', ...newKey, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=Passerelle Test CA');
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  const signed = (name: string, cn: string, ext: string): void => {
    ossl('req', ...newKey, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}/O=Passerelle Tests`);
    ossl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(ext));
  };
  signed('server', 'localhost', 'server.ext');
  signed('server2', 'reloaded.test', 'server.ext');
  signed('client', 'lab-analyzer', 'client.ext');
  ossl('req', '-x509', ...newKey, '-keyout', p('rogue.key'), '-out', p('rogue.crt'), '-days', '2', '-subj', '/CN=intruder');

  const r = (f: string): Buffer => readFileSync(p(f));
  return {
    dir,
    caCert: r('ca.crt'),
    serverKey: r('server.key'),
    serverCert: r('server.crt'),
    server2Key: r('server2.key'),
    server2Cert: r('server2.crt'),
    clientKey: r('client.key'),
    clientCert: r('client.crt'),
    rogueKey: r('rogue.key'),
    rogueCert: r('rogue.crt'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

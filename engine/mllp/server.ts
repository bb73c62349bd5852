import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { MllpConnection } from './connection';
import { DEFAULT_MAX_FRAME_BYTES } from './framing';
import type { ConnectionInfo, FrameHandler, OversizeHook } from './types';

/** Certificate material of a TLS listener (PEM). */
export interface MllpServerTlsOptions {
  key: Buffer | string;
  cert: Buffer | string;
  /** CA bundle used to check client certificates (mutual TLS). */
  ca?: Buffer | string;
  /**
   * Mutual TLS: ask every client for a certificate and check it against `ca`; clients without
   * one, or with an unknown one, are refused during the handshake ('refused' event).
   * @defaultValue false
   */
  requestClientCert?: boolean;
}

export interface MllpServerOptions {
  /** Interface to listen on. @defaultValue '0.0.0.0' */
  host?: string;
  /** TCP port; 0 picks an ephemeral port (tests). */
  port: number;
  /** Called once per received frame; see `FrameHandler`. */
  handler: FrameHandler;
  /** Listen with TLS (plain TCP when absent). */
  tls?: MllpServerTlsOptions;
  /** Maximum payload bytes per frame; larger frames are never buffered. @defaultValue 16 MiB */
  maxFrameBytes?: number;
  /** Response to write before closing a connection that sent an oversize frame. @defaultValue none */
  onOversize?: OversizeHook;
  /** Close a connection after this long with no traffic and nothing in flight; 0 = never. @defaultValue 300000 */
  idleTimeoutMs?: number;
  /** Connections beyond this are closed at once ('refused'). @defaultValue 100 */
  maxConnections?: number;
  /** Per connection, stop reading while this many frames await their response. @defaultValue 64 */
  maxInFlightPerConnection?: number;
  /** Per connection, stop reading while frames being handled hold this many bytes. @defaultValue 32 MiB */
  maxInFlightBytesPerConnection?: number;
}

/** Typed events of `MllpServer`. */
export interface MllpServerEvents {
  connection: [info: ConnectionInfo];
  disconnect: [info: ConnectionInfo];
  /** Bytes outside VT…FS CR were skipped. */
  garbage: [event: { conn: ConnectionInfo; bytes: number }];
  /** A frame passed `maxFrameBytes`; the connection is closed after the `onOversize` response. */
  oversize: [info: ConnectionInfo];
  /** A connection was turned away (too many connections, failed TLS handshake, closing). */
  refused: [event: { remoteAddress: string; reason: string }];
  /** A handler rejected; its connection was closed without a response (non-Errors are wrapped). */
  handlerError: [event: { conn: ConnectionInfo; error: Error }];
  /** The listening socket failed (after `listen()` resolved). */
  error: [error: Error];
}

const DEFAULTS = {
  host: '0.0.0.0',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  idleTimeoutMs: 300_000,
  maxConnections: 100,
  maxInFlightPerConnection: 64,
  maxInFlightBytesPerConnection: 32 * 1024 * 1024,
  drainDeadlineMs: 10_000,
} as const;

let connectionSeq = 0;

/**
 * Inbound MLLP listener (plain TCP or TLS). It moves frames: the handler decides what a frame
 * means and what to answer.
 */
export class MllpServer extends EventEmitter<MllpServerEvents> {
  private readonly options: Required<Omit<MllpServerOptions, 'tls' | 'onOversize'>> &
    Pick<MllpServerOptions, 'tls' | 'onOversize'>;
  private server: net.Server | tls.Server | undefined;
  private readonly connections = new Set<MllpConnection>();
  /** Every accepted TCP socket, including TLS handshakes in progress (destroyed at the deadline). */
  private readonly rawSockets = new Set<net.Socket>();
  private closing: Promise<void> | undefined;

  constructor(options: MllpServerOptions) {
    super();
    if (typeof options.handler !== 'function') throw new TypeError('MllpServer: handler is required');
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new RangeError(`MllpServer: invalid port ${options.port}`);
    }
    this.options = {
      host: options.host ?? DEFAULTS.host,
      port: options.port,
      handler: options.handler,
      tls: options.tls,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
      onOversize: options.onOversize,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      maxInFlightPerConnection: options.maxInFlightPerConnection ?? DEFAULTS.maxInFlightPerConnection,
      maxInFlightBytesPerConnection: options.maxInFlightBytesPerConnection ?? DEFAULTS.maxInFlightBytesPerConnection,
    };
  }

  /** Starts listening; resolves with the bound address (the real port when `port` is 0). */
  listen(): Promise<{ port: number; host: string }> {
    if (this.server) return Promise.reject(new Error('MllpServer: already listening'));
    const server = this.createServer();
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = undefined;
        reject(err);
      };
      server.once('error', onError);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.emit('error', err));
        const addr = server.address() as net.AddressInfo;
        resolve({ port: addr.port, host: addr.address });
      });
    });
  }

  /** New handshakes use the new certificate material; established connections are kept. */
  reloadTls(material: { key: Buffer | string; cert: Buffer | string; ca?: Buffer | string }): void {
    if (!this.options.tls || !(this.server instanceof tls.Server)) {
      throw new Error('MllpServer: reloadTls on a server started without tls');
    }
    this.options.tls = { ...this.options.tls, ...material };
    this.server.setSecureContext(secureContextOptions(this.options.tls));
  }

  /** Live MLLP connections (TLS handshakes in progress not counted). */
  connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, lets in-flight handlers finish and their responses be written, then ends
   * the sockets; whatever remains at the deadline is destroyed. Idempotent.
   */
  close(opts: { drainDeadlineMs?: number } = {}): Promise<void> {
    if (!this.closing) this.closing = this.doClose(opts.drainDeadlineMs ?? DEFAULTS.drainDeadlineMs);
    return this.closing;
  }

  private async doClose(deadlineMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const conn of this.connections) conn.drain();

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    const drained = Promise.all([...this.connections].map((c) => c.whenClosed));
    await Promise.race([drained, deadline]);
    if (timer) clearTimeout(timer);
    for (const conn of this.connections) conn.destroy();
    for (const raw of this.rawSockets) raw.destroy();
    await stopped;
  }

  private createServer(): net.Server | tls.Server {
    // allowHalfOpen: a sender that half-closes after its last frame still gets its response.
    const base = { allowHalfOpen: true, pauseOnConnect: false };
    const tlsOpts = this.options.tls;
    let server: net.Server | tls.Server;
    if (tlsOpts) {
      const requestCert = tlsOpts.requestClientCert === true;
      server = tls.createServer({
        ...base,
        ...secureContextOptions(tlsOpts),
        requestCert,
        rejectUnauthorized: requestCert,
      });
      server.on('secureConnection', (socket: tls.TLSSocket) => this.accept(socket, true));
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        this.emit('refused', { remoteAddress: socket.remoteAddress ?? '', reason: `tls: ${err.message}` });
      });
    } else {
      server = net.createServer(base, (socket) => this.accept(socket, false));
    }
    // Track raw TCP sockets too: under TLS they exist before 'secureConnection', and a stalled
    // handshake must not outlive the drain deadline.
    server.on('connection', (raw: net.Socket) => {
      this.rawSockets.add(raw);
      raw.once('close', () => this.rawSockets.delete(raw));
    });
    return server;
  }

  private accept(socket: net.Socket, isTls: boolean): void {
    const remoteAddress = socket.remoteAddress ?? '';
    if (this.closing) {
      socket.destroy();
      this.emit('refused', { remoteAddress, reason: 'closing' });
      return;
    }
    if (this.connections.size >= this.options.maxConnections) {
      socket.destroy();
      this.emit('refused', { remoteAddress, reason: 'maxConnections' });
      return;
    }
    const info: ConnectionInfo = {
      id: `mllp-${++connectionSeq}`,
      remoteAddress,
      remotePort: socket.remotePort ?? 0,
      tls: isTls,
    };
    if (isTls) {
      const subject = certificateSubject(socket as tls.TLSSocket);
      if (subject) info.peerCertificateSubject = subject;
    }
    const conn = new MllpConnection(
      socket,
      info,
      {
        handler: this.options.handler,
        maxFrameBytes: this.options.maxFrameBytes,
        onOversize: this.options.onOversize,
        idleTimeoutMs: this.options.idleTimeoutMs,
        maxInFlight: this.options.maxInFlightPerConnection,
        maxInFlightBytes: this.options.maxInFlightBytesPerConnection,
      },
      {
        garbage: (bytes) => this.emit('garbage', { conn: info, bytes }),
        oversize: () => this.emit('oversize', info),
        handlerError: (error) =>
          this.emit('handlerError', { conn: info, error: error instanceof Error ? error : new Error(String(error)) }),
        closed: () => {
          this.connections.delete(conn);
          this.emit('disconnect', info);
        },
      },
    );
    this.connections.add(conn);
    this.emit('connection', info);
  }
}

function secureContextOptions(t: { key: Buffer | string; cert: Buffer | string; ca?: Buffer | string }): tls.SecureContextOptions {
  return { key: t.key, cert: t.cert, ...(t.ca !== undefined ? { ca: t.ca } : {}) };
}

/** `CN=…, O=…` from a verified client certificate, if any. */
function certificateSubject(socket: tls.TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const parts = Object.entries(cert.subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

import net from 'node:net';
import tls from 'node:tls';
import { PasserelleError } from '../errors';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encodeFrame } from './framing';

/** TLS settings of an outbound connection (PEM). */
export interface MllpClientTlsOptions {
  /** CA bundle trusted for the server certificate. @defaultValue Node's default CAs */
  ca?: Buffer | string;
  /** Client certificate, for servers that ask for one (mutual TLS). */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** SNI name and name checked in the server certificate. @defaultValue host (when not an IP) */
  servername?: string;
  /** Refuse servers whose certificate does not verify. @defaultValue true */
  rejectUnauthorized?: boolean;
}

export interface MllpClientOptions {
  host: string;
  port: number;
  /** Connect with TLS (plain TCP when absent). */
  tls?: MllpClientTlsOptions;
  /** Give up connecting (TCP + TLS handshake) after this long. @defaultValue 5000 */
  connectTimeoutMs?: number;
  /** After the frame is written, wait this long for the response. @defaultValue 30000 */
  responseTimeoutMs?: number;
  /** Reuse the connection for the next send; false = one connection per message. @defaultValue true */
  keepAlive?: boolean;
  /** Largest response payload accepted. @defaultValue 16 MiB */
  maxFrameBytes?: number;
  /** Delay before reconnecting after a failure: baseMs, doubled per consecutive failure, capped at maxMs. */
  reconnect?: {
    /** @defaultValue 500 */
    baseMs?: number;
    /** @defaultValue 30000 */
    maxMs?: number;
  };
}

const DEFAULTS = {
  connectTimeoutMs: 5000,
  responseTimeoutMs: 30_000,
  keepAlive: true,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
} as const;

/** The send waiting for its response. */
interface Pending {
  /** The connection the frame went out on: events of any other (older) socket are ignored. */
  socket: net.Socket;
  resolve(response: Buffer): void;
  reject(error: PasserelleError): void;
  /** The whole frame was handed to the kernel: from here on, failures are ambiguous. */
  written: boolean;
  timer: NodeJS.Timeout;
}

/**
 * Outbound MLLP sender: one message in flight at a time (others queue in call order), one
 * response frame per message.
 *
 * Failures are coded for the queue, which owns retries (the client never resends):
 *  - PSL_DEST_CONNECT (transient): could not connect, or the connection died before the whole
 *    frame was written: the peer cannot have a complete message;
 *  - PSL_DEST_ACK_TIMEOUT (ambiguous): the frame was written but no response came in time, or
 *    the connection closed before one came (`details.reason` = 'timeout' | 'closed'). The
 *    connection is dropped so a late ACK cannot be taken for the next message's;
 *  - PSL_DEST_BAD_ACK (ambiguous): the response was not a usable frame (oversize).
 */
export class MllpClient {
  private readonly host: string;
  private readonly port: number;
  private readonly tls: MllpClientTlsOptions | undefined;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly keepAlive: boolean;
  private readonly maxFrameBytes: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;

  private socket: net.Socket | undefined;
  private pending: Pending | undefined;
  /** Serialises sends: each starts after the previous one settled. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Consecutive failures (reset by a response); drives the reconnect delay. */
  private failures = 0;
  private lastFailureAt = 0;
  private cancelWait: (() => void) | undefined;

  constructor(options: MllpClientOptions) {
    if (!options.host) throw new TypeError('MllpClient: host is required');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new RangeError(`MllpClient: invalid port ${options.port}`);
    }
    this.host = options.host;
    this.port = options.port;
    this.tls = options.tls;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    this.responseTimeoutMs = options.responseTimeoutMs ?? DEFAULTS.responseTimeoutMs;
    this.keepAlive = options.keepAlive ?? DEFAULTS.keepAlive;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
    this.backoffBaseMs = options.reconnect?.baseMs ?? DEFAULTS.reconnectBaseMs;
    this.backoffMaxMs = options.reconnect?.maxMs ?? DEFAULTS.reconnectMaxMs;
  }

  /** Delay the next connection attempt waits after the last failure (0 when none). */
  get reconnectDelayMs(): number {
    if (this.failures === 0) return 0;
    return Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (this.failures - 1));
  }

  /** True while a connection is open (kept alive between sends). */
  get connected(): boolean {
    return this.socket !== undefined;
  }

  /** Sends one payload (framed here) and resolves with the response payload. */
  send(payload: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.connectError('client closed'));
    const run = this.tail.then(() => this.sendOne(payload));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Lets the send in flight finish (bounded by the response timeout), fails queued sends with
   * PSL_DEST_CONNECT (they were never written), then ends the connection.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelWait?.();
    await this.tail;
    const socket = this.socket;
    this.socket = undefined;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.end();
      });
    }
  }

  private async sendOne(payload: Buffer): Promise<Buffer> {
    if (this.closed) throw this.connectError('client closed');
    const socket = this.socket ?? (await this.connect());
    const response = await new Promise<Buffer>((resolve, reject) => {
      const pending: Pending = {
        socket,
        resolve,
        reject,
        written: false,
        timer: setTimeout(() => {
          if (this.pending !== pending) return;
          this.pending = undefined;
          // Drop the connection: a late response must not answer the next message.
          this.dropSocket(socket);
          reject(
            pending.written
              ? new PasserelleError('PSL_DEST_ACK_TIMEOUT', `no response within ${this.responseTimeoutMs} ms`, {
                  details: { ...this.where(), reason: 'timeout', timeoutMs: this.responseTimeoutMs },
                })
              : this.connectError(`frame not fully written within ${this.responseTimeoutMs} ms`),
          );
        }, this.responseTimeoutMs),
      };
      this.pending = pending;
      socket.write(encodeFrame(payload), (err) => {
        if (!err && this.pending === pending) pending.written = true;
      });
    });
    this.failures = 0;
    if (!this.keepAlive) {
      this.socket = undefined;
      socket.end();
    }
    return response;
  }

  /** Opens a connection, after the reconnect delay when the last attempt failed. */
  private async connect(): Promise<net.Socket> {
    const wait = this.lastFailureAt + this.reconnectDelayMs - Date.now();
    if (this.failures > 0 && wait > 0) await this.sleep(wait);
    if (this.closed) throw this.connectError('client closed');

    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const tlsOpts = this.tls;
      const s = tlsOpts
        ? tls.connect({
            host: this.host,
            port: this.port,
            ca: tlsOpts.ca,
            cert: tlsOpts.cert,
            key: tlsOpts.key,
            servername: tlsOpts.servername ?? (net.isIP(this.host) ? undefined : this.host),
            rejectUnauthorized: tlsOpts.rejectUnauthorized ?? true,
          })
        : net.connect({ host: this.host, port: this.port });
      const timer = setTimeout(() => {
        s.destroy();
        fail(new Error(`connect timeout after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        s.destroy();
        this.recordFailure();
        reject(this.connectError(err.message, err));
      };
      s.once('error', fail);
      s.once(tlsOpts ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', fail);
        resolve(s);
      });
    });

    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000); // notice dead peers on kept-alive connections
    const decoder = new FrameDecoder({ maxFrameBytes: this.maxFrameBytes });
    socket.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) {
        if (item.type === 'garbage') continue; // stray bytes (e.g. LF after CR): not a response
        const pending = this.pending?.socket === socket ? this.pending : undefined;
        if (!pending) {
          // A frame nobody asked for: the stream can no longer be trusted.
          this.dropSocket(socket);
          return;
        }
        this.pending = undefined;
        clearTimeout(pending.timer);
        if (item.type === 'frame') {
          pending.resolve(item.payload);
        } else {
          this.dropSocket(socket);
          pending.reject(
            new PasserelleError('PSL_DEST_BAD_ACK', `response exceeds ${this.maxFrameBytes} bytes`, { details: this.where() }),
          );
          return;
        }
      }
    });
    socket.on('error', () => undefined); // 'close' follows and settles the pending send
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      const pending = this.pending;
      if (!pending || pending.socket !== socket) return;
      this.pending = undefined;
      clearTimeout(pending.timer);
      this.recordFailure();
      pending.reject(
        pending.written
          ? new PasserelleError('PSL_DEST_ACK_TIMEOUT', 'connection closed after the message was sent, before any response', {
              details: { ...this.where(), reason: 'closed' },
            })
          : this.connectError('connection closed before the message was fully written'),
      );
    });
    this.socket = socket;
    return socket;
  }

  private dropSocket(socket: net.Socket): void {
    if (this.socket === socket) this.socket = undefined;
    socket.destroy();
  }

  private recordFailure(): void {
    this.failures += 1;
    this.lastFailureAt = Date.now();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.cancelWait = done;
    }).finally(() => {
      this.cancelWait = undefined;
    });
  }

  private where(): Record<string, unknown> {
    return { host: this.host, port: this.port, reconnectDelayMs: this.reconnectDelayMs };
  }

  private connectError(message: string, cause?: unknown): PasserelleError {
    return new PasserelleError('PSL_DEST_CONNECT', `${this.host}:${this.port}: ${message}`, {
      ...(cause !== undefined ? { cause } : {}),
      details: this.where(),
    });
  }
}

import type { Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from './framing';
import type { ConnectionInfo, FrameHandler, FrameReply, OversizeHook } from './types';

/** Settings of one inbound connection; the server fills every field from its own options. */
export interface MllpConnectionOptions {
  /** Called once per frame; see `FrameHandler`. */
  handler: FrameHandler;
  /** Maximum payload bytes per frame (the decoder never buffers more). */
  maxFrameBytes: number;
  /** Response written before closing on an oversize frame; absent = no response. */
  onOversize?: OversizeHook;
  /** Close the connection after this long with no traffic and nothing in flight; 0 = never. */
  idleTimeoutMs: number;
  /** Stop reading from the socket while this many frames await their response. */
  maxInFlight: number;
  /** Stop reading while the frames whose handler has not finished hold this many bytes. */
  maxInFlightBytes?: number;
  /** After we end the socket, destroy it if the peer has not closed within this delay. */
  endGraceMs?: number;
}

/** What a connection reports to its server (plain callbacks: one listener, typed, no emitter). */
export interface MllpConnectionHooks {
  garbage(bytes: number): void;
  oversize(): void;
  handlerError(error: unknown): void;
  /** The socket is closed; called exactly once. */
  closed(): void;
}

/** One received frame awaiting its turn to be answered. */
interface Slot {
  state: 'pending' | 'ready' | 'failed';
  response: Buffer | null;
  /** Close the connection once this slot's response is written (oversize). */
  closeAfter: boolean;
}

const DEFAULT_END_GRACE_MS = 5000;

/**
 * One inbound MLLP connection (smtp-server style: one object per socket, owning its decoder,
 * timers and state).
 *
 * Frames may be pipelined: each gets a slot in arrival order, handlers run concurrently, and
 * responses are written strictly in slot order, so a sender matching responses by position
 * is never confused (the ordering bug of the peers in baselines §3.1).
 */
export class MllpConnection {
  readonly info: ConnectionInfo;
  readonly socket: Socket;
  /** Resolves once the socket is closed. */
  readonly whenClosed: Promise<void>;
  private resolveClosed!: () => void;

  private readonly options: MllpConnectionOptions;
  private readonly hooks: MllpConnectionHooks;
  private readonly decoder: FrameDecoder;
  private readonly slots: Slot[] = [];
  /** Bytes of frames whose handler is still running (the decoder's partial frame is bounded apart). */
  private handlingBytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  /** We paused the socket (flow control). */
  private paused = false;
  /** socket.write returned false; wait for 'drain' before reading more. */
  private waitingDrain = false;
  /** No more frames will be accepted (server draining, peer half-closed, oversize). */
  private stopReading = false;
  /** The server is closing: answer what is in flight, then end. */
  private draining = false;
  /** We ended (or are ending) the socket: ignore everything further. */
  private ending = false;
  private isClosed = false;

  constructor(socket: Socket, info: ConnectionInfo, options: MllpConnectionOptions, hooks: MllpConnectionHooks) {
    this.socket = socket;
    this.info = info;
    this.options = options;
    this.hooks = hooks;
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    this.whenClosed = new Promise((resolve) => (this.resolveClosed = resolve));

    socket.setNoDelay(true); // ACKs are small and latency-bound
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The peer half-closed: answer what it already sent, then end (allowHalfOpen on the server).
    socket.on('end', () => {
      this.stopReading = true;
      this.maybeFinish();
    });
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.updateFlow();
    });
    // Resets and the like: 'close' follows; nothing to do but not crash.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());

    if (options.idleTimeoutMs > 0) {
      this.idleTimer = setTimeout(() => this.onIdle(), options.idleTimeoutMs);
      this.idleTimer.unref();
    }
  }

  /** Frames received whose response is not yet written. */
  get inFlight(): number {
    return this.slots.length;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Graceful close: read no more, answer the frames in flight, then end the socket. */
  drain(): void {
    this.draining = true;
    this.stopReading = true;
    this.updateFlow();
    this.maybeFinish();
  }

  /** Immediate close (drain deadline passed). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.ending || this.stopReading) return;
    // Every frame of this chunk starts now, even past maxInFlight: bytes already read cannot be
    // un-read; pausing (updateFlow) bounds what the next reads bring.
    this.idleTimer?.refresh();
    for (const item of this.decoder.push(chunk)) {
      if (item.type === 'frame') {
        this.startFrame(item.payload);
      } else if (item.type === 'garbage') {
        this.hooks.garbage(item.bytes);
      } else {
        this.hooks.oversize();
        let response: Buffer | null = null;
        try {
          response = this.options.onOversize?.(item.prefix, this.info) ?? null;
        } catch {
          response = null; // a faulty hook must not keep an oversize sender connected
        }
        // Answered in order after the frames before it, then the connection closes.
        this.slots.push({ state: 'ready', response, closeAfter: true });
        this.stopReading = true;
        break;
      }
    }
    this.flush();
    this.updateFlow();
  }

  private startFrame(payload: Buffer): void {
    const slot: Slot = { state: 'pending', response: null, closeAfter: false };
    this.slots.push(slot);
    const bytes = payload.length;
    this.handlingBytes += bytes;
    // Promise.resolve().then: a handler that throws synchronously is treated like a rejection.
    Promise.resolve()
      .then(() => this.options.handler(payload, this.info))
      .then((reply: Buffer | null | FrameReply) => {
        let response = reply;
        if (reply && !Buffer.isBuffer(reply) && typeof reply === 'object' && reply.close === true) {
          response = reply.response;
          slot.closeAfter = true;
        }
        if (response !== null && response !== undefined && !Buffer.isBuffer(response)) {
          throw new TypeError('MLLP handler must resolve to a Buffer or null');
        }
        slot.state = 'ready';
        slot.response = (response as Buffer | null) ?? null;
      })
      .catch((error: unknown) => {
        slot.state = 'failed';
        this.hooks.handlerError(error);
      })
      .finally(() => {
        this.handlingBytes -= bytes;
        this.flush();
        this.updateFlow();
        this.maybeFinish();
      });
  }

  /** Writes every response whose turn has come. */
  private flush(): void {
    while (!this.ending && this.slots.length > 0 && this.slots[0].state !== 'pending') {
      const slot = this.slots.shift() as Slot;
      if (slot.state === 'failed') {
        // No response: the sender will resend. Later frames are dropped with the connection.
        this.end();
        return;
      }
      if (slot.response) {
        if (!this.socket.write(encodeFrame(slot.response))) this.waitingDrain = true;
        this.idleTimer?.refresh();
      }
      if (slot.closeAfter) {
        this.end();
        return;
      }
    }
  }

  /** Pause reading while too much is in flight or the peer is not reading our responses. */
  private updateFlow(): void {
    if (this.ending || this.isClosed) return;
    const shouldPause =
      this.stopReading ||
      this.waitingDrain ||
      this.slots.length >= this.options.maxInFlight ||
      this.handlingBytes >= (this.options.maxInFlightBytes ?? Infinity);
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Ends the socket once nothing is left to answer, after a drain or a peer half-close. */
  private maybeFinish(): void {
    if (this.ending || this.slots.length > 0) return;
    if (this.draining || this.socket.readableEnded) this.end();
  }

  private onIdle(): void {
    if (this.ending || this.isClosed) return;
    if (this.slots.length > 0) {
      // Waiting on our own handlers is not idleness.
      this.idleTimer?.refresh();
      return;
    }
    this.end();
  }

  /** Ends our side after queued writes are flushed; destroys if the peer lingers. */
  private end(): void {
    if (this.ending) return;
    this.ending = true;
    this.slots.length = 0;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.socket.end();
    // Keep reading (and discarding) so the peer's FIN is seen and 'close' fires.
    this.socket.resume();
    this.endTimer = setTimeout(() => this.socket.destroy(), this.options.endGraceMs ?? DEFAULT_END_GRACE_MS);
    this.endTimer.unref();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ending = true;
    this.slots.length = 0;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.endTimer) clearTimeout(this.endTimer);
    this.resolveClosed();
    this.hooks.closed();
  }
}

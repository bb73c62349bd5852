/**
 * MLLP framing (HL7 v2.5 Appendix C, MLLP release 1): a frame is
 *
 *     <VT 0x0B> payload <FS 0x1C><CR 0x0D>
 *
 * This file knows nothing about HL7: a payload is opaque bytes.
 *
 * The decoder is written against the framing failures peers shipped (docs baselines §3.1,
 * peers §2 items 35–36): several frames in one TCP chunk, FS and CR in separate chunks, frames
 * larger than a chunk, an accumulator that is never cleared, and unbounded buffering.
 */

/** Start block (vertical tab). */
export const VT = 0x0b;
/** End block (file separator). */
export const FS = 0x1c;
/** Carriage return that must follow FS to end a frame. */
export const CR = 0x0d;

/** Default maximum payload size of one frame: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** How much of an oversize payload is kept for diagnostics (and for a NAK built from MSH). */
export const OVERSIZE_PREFIX_BYTES = 4 * 1024;

/** What `FrameDecoder.push` found, in stream order. */
export type DecodedItem =
  /** A complete frame; `payload` excludes VT, FS and CR and is a private copy. */
  | { type: 'frame'; payload: Buffer }
  /** Bytes outside VT…FS CR (or a frame abandoned by a new VT), skipped. */
  | { type: 'garbage'; bytes: number }
  /** A frame passed the maximum size; its bytes up to the next FS CR are discarded. */
  | { type: 'oversize'; prefix: Buffer };

export interface FrameDecoderOptions {
  /**
   * Maximum payload bytes of one frame. As soon as a frame passes it, 'oversize' is reported and
   * the rest of that frame is skipped without being buffered.
   * @defaultValue 16 MiB
   */
  maxFrameBytes?: number;
}

const enum State {
  /** Between frames: everything but VT is garbage. */
  Outside,
  /** After VT: collecting payload. */
  InFrame,
  /** After an oversize report: skipping until FS CR. */
  Discarding,
}

const FS_BYTE = Buffer.from([FS]);

/**
 * Incremental MLLP decoder; one per socket (never shared: node-hl7-server 3.x keeps its codec
 * on the listener and mixes connections).
 *
 * Cost is linear in the bytes pushed: each byte is scanned once (native `indexOf`), payload
 * chunks are kept in a list and concatenated once when the frame ends.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;

  private state: State = State.Outside;
  /** Payload pieces of the current frame (subarrays of pushed chunks). */
  private parts: Buffer[] = [];
  private length = 0;
  /** The last byte seen in the frame was FS; the next byte decides whether the frame ends. */
  private pendingFs = false;
  /** Garbage bytes counted in the current push, reported as one item per contiguous run. */
  private garbage = 0;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`maxFrameBytes must be a non-negative integer, got ${max}`);
    this.maxFrameBytes = max;
  }

  /** Bytes currently held for an unfinished frame (0 between frames). */
  get bufferedBytes(): number {
    return this.length;
  }

  /** Feed one chunk; returns every item completed by it, in order. */
  push(chunk: Buffer): DecodedItem[] {
    const out: DecodedItem[] = [];
    const end = chunk.length;
    let pos = 0;

    // A frame whose FS was the last byte of the previous chunk.
    if (this.pendingFs && end > 0) {
      this.pendingFs = false;
      if (chunk[0] === CR) {
        this.finishFrame(out);
        pos = 1;
      } else if (this.state === State.InFrame) {
        // FS not followed by CR is payload (keep scanning).
        this.append(FS_BYTE, out);
      }
      // In Discarding, a lone FS is simply skipped.
    }

    while (pos < end) {
      if (this.state === State.Outside) {
        const vt = chunk.indexOf(VT, pos);
        if (vt < 0) {
          this.garbage += end - pos;
          pos = end;
          break;
        }
        this.garbage += vt - pos;
        this.flushGarbage(out);
        this.state = State.InFrame;
        pos = vt + 1;
        continue;
      }

      // InFrame or Discarding: find the frame end. A VT inside a frame means the sender
      // abandoned it and started again (seen after sender-side timeouts): the partial frame
      // is reported as garbage and a new frame starts.
      const vt = chunk.indexOf(VT, pos);
      const limit = vt < 0 ? end : vt;
      const segStart = pos;
      let fsEnd = -1; // index of the FS of a FS CR pair
      let search = pos;
      for (;;) {
        const fs = chunk.indexOf(FS, search);
        if (fs < 0 || fs >= limit) break;
        if (fs + 1 === end) {
          // FS is the last byte of this chunk; decided by the next chunk.
          this.take(chunk, segStart, fs, out);
          this.pendingFs = true;
          return this.done(out);
        }
        if (chunk[fs + 1] === CR) {
          fsEnd = fs;
          break;
        }
        search = fs + 1; // FS without CR: payload
      }

      if (fsEnd >= 0) {
        this.take(chunk, segStart, fsEnd, out);
        this.finishFrame(out);
        pos = fsEnd + 2;
        continue;
      }

      this.take(chunk, segStart, limit, out);
      pos = limit;
      if (vt >= 0) {
        // Abandoned frame (or the tail of a discarded oversize one).
        if (this.state === State.InFrame) this.garbage += 1 + this.length;
        this.resetFrame();
        this.flushGarbage(out);
        this.state = State.InFrame;
        pos = vt + 1;
      }
    }
    return this.done(out);
  }

  /** Forget any partial frame (e.g. when the connection is reused after an error). */
  reset(): void {
    this.resetFrame();
    this.state = State.Outside;
    this.garbage = 0;
  }

  private done(out: DecodedItem[]): DecodedItem[] {
    this.flushGarbage(out);
    return out;
  }

  /** Adds chunk[from, to) to the current frame, or skips it when discarding. */
  private take(chunk: Buffer, from: number, to: number, out: DecodedItem[]): void {
    if (to > from && this.state === State.InFrame) this.append(chunk.subarray(from, to), out);
  }

  private append(piece: Buffer, out: DecodedItem[]): void {
    const room = this.maxFrameBytes - this.length;
    if (piece.length <= room) {
      this.parts.push(piece);
      this.length += piece.length;
      return;
    }
    // Over the limit: report now, keep only a prefix, skip the rest of the frame.
    this.parts.push(piece);
    // Buffer.concat with a total length copies only that many bytes.
    const prefix = Buffer.concat(this.parts, Math.min(OVERSIZE_PREFIX_BYTES, this.length + piece.length));
    out.push({ type: 'oversize', prefix });
    this.resetFrame();
    this.state = State.Discarding;
  }

  private finishFrame(out: DecodedItem[]): void {
    if (this.state === State.InFrame) {
      // Always a copy: never pin the socket's (larger) chunk buffers in long-lived payloads.
      out.push({ type: 'frame', payload: Buffer.concat(this.parts, this.length) });
    }
    this.resetFrame();
    this.state = State.Outside;
  }

  private resetFrame(): void {
    this.parts = [];
    this.length = 0;
    this.pendingFs = false;
  }

  private flushGarbage(out: DecodedItem[]): void {
    if (this.garbage > 0) {
      out.push({ type: 'garbage', bytes: this.garbage });
      this.garbage = 0;
    }
  }
}

/** Wraps a payload in VT … FS CR. */
export function encodeFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length + 3);
  out[0] = VT;
  payload.copy(out, 1);
  out[payload.length + 1] = FS;
  out[payload.length + 2] = CR;
  return out;
}

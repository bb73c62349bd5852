/**
 * One fuzzing sender: a raw socket that pipelines in-sync frames (a window of them), sends
 * out-of-sync ones last on a connection and half-closes, and accounts for every frame: answered
 * (AA/AE/AR…), closed without an answer, or hung.
 */
import net from 'node:net';
import { FrameDecoder } from '../../engine/mllp/framing';
import { inSync, wireBytes, type FuzzFrame, type Rng } from './mutate';

export interface Tally {
  sent: number;
  answers: Record<string, number>;
  /** Frames whose connection closed before their answer (allowed: the engine shed the sender). */
  closedUnanswered: number;
  /** Connections the engine closed (or that ended after an out-of-sync frame). */
  connectionsClosed: number;
  /** No answer and no close within the timeout. */
  hangs: number;
  /** Answers that were not an ACK at all. */
  badAnswers: number;
  /** The first answer without MSA (for the report). */
  badSample?: string;
  /** Frames (index, framing, mutations) that were waiting when a hang was called. */
  hangFrames: { n: number; framing: string; mutations: string[]; bytes: number; waitingFor: 'answer' | 'close' }[];
  /** For each hang: the frames sent on that connection, oldest first (the culprit may be an earlier one). */
  hangHistory: number[][];
}

export function newTally(): Tally {
  return { sent: 0, answers: {}, closedUnanswered: 0, connectionsClosed: 0, hangs: 0, badAnswers: 0, hangFrames: [], hangHistory: [] };
}

/** MSA-1 of an answer, whatever its field separator; '' when none. */
export function ackCode(answer: Buffer): string {
  const t = answer.toString('latin1');
  const i = t.search(/[\r\n]MSA/) + 1;
  if (i === 0) return '';
  if (i < 0 || i + 6 > t.length) return '';
  return t.slice(i + 4, i + 6);
}

export class ConnectionDriver {
  private socket: net.Socket | undefined;
  private decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
  private outstanding = 0;
  /** What is in flight, oldest first (for the hang report). */
  private inFlight: Tally['hangFrames'] = [];
  /** Frames sent on the current connection (last 64). */
  private history: number[] = [];
  private closed = true;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly port: number,
    private readonly window: number,
    private readonly timeoutMs: number,
    private readonly tally: Tally,
  ) {}

  private async connect(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port: this.port });
          s.setNoDelay(true);
          s.once('connect', () => {
            s.off('error', reject);
            this.socket = s;
            this.closed = false;
            this.history = [];
            this.decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
            s.on('data', (c: Buffer) => this.onData(c));
            s.on('error', () => undefined);
            s.on('close', () => this.onClose());
            resolve();
          });
          s.once('error', reject);
        });
        return;
      } catch (e) {
        if (attempt >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private onData(chunk: Buffer): void {
    for (const item of this.decoder.push(chunk)) {
      if (item.type === 'oversize') {
        // An answer over 1 MB: an answer, but a defect (an ACK must stay small).
        this.tally.badAnswers++;
        this.tally.badSample ??= `answer over 1 MB: ${item.prefix.toString('latin1').slice(0, 200)}`;
        if (this.outstanding > 0) this.outstanding--;
        this.inFlight.shift();
        continue;
      }
      if (item.type !== 'frame') continue;
      const code = ackCode(item.payload);
      if (code === '') {
        this.tally.badAnswers++;
        this.tally.badSample ??= item.payload.toString('latin1').slice(0, 300);
      }
      else this.tally.answers[code] = (this.tally.answers[code] ?? 0) + 1;
      if (this.outstanding > 0) this.outstanding--;
      this.inFlight.shift();
    }
    this.wake();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.tally.connectionsClosed++;
    this.tally.closedUnanswered += this.outstanding;
    this.outstanding = 0;
    this.inFlight = [];
    this.socket = undefined;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Waits until `done()` or the timeout (then: a hang, the socket is destroyed). */
  private async waitUntil(done: () => boolean): Promise<void> {
    while (!done()) {
      const progressed = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), this.timeoutMs);
        this.waiter = () => {
          clearTimeout(t);
          resolve(true);
        };
      });
      if (!progressed) {
        this.tally.hangs += Math.max(1, this.outstanding);
        if (this.tally.hangFrames.length < 50) this.tally.hangFrames.push(...this.inFlight.slice(0, 10));
        if (this.tally.hangHistory.length < 10) this.tally.hangHistory.push([...this.history]);
        this.outstanding = 0;
        this.inFlight = [];
        const s = this.socket;
        this.closed = true;
        this.socket = undefined;
        s?.destroy();
        return;
      }
    }
  }

  async send(frame: FuzzFrame, rng: Rng, n = -1): Promise<void> {
    if (this.closed) await this.connect();
    const what = { n, framing: frame.framing, mutations: frame.mutations, bytes: frame.payload.length };
    this.history.push(n);
    if (this.history.length > 64) this.history.shift();
    const wire = wireBytes(rng, frame);
    const s = this.socket!;
    this.tally.sent++;
    if (inSync(frame)) {
      await this.waitUntil(() => this.closed || this.outstanding < this.window);
      if (this.closed) {
        // Closed while we waited for room: this frame never went out; send it on a new connection.
        this.tally.sent--;
        return this.send(frame, rng, n);
      }
      this.outstanding++;
      this.inFlight.push({ ...what, waitingFor: 'answer' });
      await this.write(s, wire, frame.framing === 'split' ? frame.cuts : []);
      return;
    }
    // Out of sync: everything before it answered, then it, then half-close; an answer may come
    // (the part the engine could frame), then the engine must close.
    await this.waitUntil(() => this.closed || this.outstanding === 0);
    if (this.closed) {
      this.tally.sent--;
      return this.send(frame, rng, n);
    }
    this.inFlight = [{ ...what, waitingFor: 'close' }];
    await this.write(s, wire, []);
    s.end();
    await this.waitUntil(() => this.closed);
  }

  private async write(s: net.Socket, wire: Buffer, cuts: number[]): Promise<void> {
    let from = 0;
    for (const c of [...cuts.filter((x) => x < wire.length), wire.length]) {
      if (c <= from) continue;
      if (s.destroyed) return;
      if (!s.write(wire.subarray(from, c))) await new Promise<void>((r) => {
        const done = (): void => { s.off('drain', done); s.off('close', done); r(); };
        s.once('drain', done);
        s.once('close', done);
      });
      from = c;
      if (cuts.length > 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** Waits for the last answers, then closes. */
  async finish(): Promise<void> {
    await this.waitUntil(() => this.closed || this.outstanding === 0);
    const s = this.socket;
    if (s && !this.closed) {
      this.closed = true; // our own close: not counted as closed by the engine
      s.end();
      s.destroy();
    }
  }
}

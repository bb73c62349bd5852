/**
 * A downstream MLLP peer for the outage soak and the crash tests: answers AA and records every
 * frame's MSH-10 in arrival order. `down()` closes it (in-flight frames are answered first),
 * `up()` listens again on the same port, so the engine sees a real outage: connections refused,
 * then accepted.
 */
import { MllpServer } from '../engine/mllp';

export class DownstreamReceiver {
  /** MSH-10 of every frame received, in arrival order (re-deliveries included). */
  readonly arrivals: string[] = [];
  private readonly seen = new Set<string>();
  private server: MllpServer | undefined;
  private duplicates = 0;

  /** Last text received per MSH-10, when asked for (`keepText`). */
  readonly texts = new Map<string, string>();

  constructor(
    readonly port: number,
    private readonly keepText = false,
  ) {}

  get isUp(): boolean {
    return this.server !== undefined;
  }

  /** Distinct MSH-10 received so far. */
  get distinct(): number {
    return this.seen.size;
  }

  /** Frames whose MSH-10 had already arrived. */
  get duplicateCount(): number {
    return this.duplicates;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = new MllpServer({
      host: '127.0.0.1',
      port: this.port,
      handler: async (payload) => {
        const text = payload.toString('utf8');
        const id = text.slice(0, text.indexOf('\r')).split('|')[9] ?? '';
        this.arrivals.push(id);
        if (this.keepText) this.texts.set(id, text);
        if (this.seen.has(id)) this.duplicates++;
        else this.seen.add(id);
        return Buffer.from(`MSH|^~\\&|DOWN|STREAM|PSL|HOSP|20261206120000||ACK^R01^ACK|A${id}|P|2.5\rMSA|AA|${id}\r`);
      },
    });
    await server.listen();
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close({ drainDeadlineMs: 2000 });
  }
}

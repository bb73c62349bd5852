import { generateControlId, hl7Timestamp, splitBatch, type BatchSplit } from '../hl7';
import type { Logger } from '../runtime/logger';
import type { Intake, IntakeOutcome } from './intake';

/**
 * HL7 batches over MLLP (FHS/BHS … BTS/FTS in one frame, HL7 v2 §2.10.3): each message of the
 * batch goes through the ordinary intake on its own — accepted or refused, deduplicated and
 * stored like a message sent alone, in batch order — and ONE batch acknowledgement goes back:
 * BHS (BHS-12 = the received BHS-11), one ACK per message (each in its own charset, as the
 * message alone would have had it), BTS-1 = the number of ACKs; FHS/FTS around it when the
 * sender sent a file header. A frame that cannot be cut into messages goes to the intake whole,
 * which refuses and keeps it with the reason.
 */
export class BatchIntake {
  constructor(
    private readonly intake: Intake,
    private readonly logger: Logger,
    private readonly channel: string,
    /** limits.maxBatchMessages: a bigger batch goes the ordinary path, which refuses it whole. */
    private readonly maxMessages = 1000,
  ) {}

  /** A frame starting with FHS/BHS, or holding more than one MSH line. */
  static isBatch(raw: Buffer): boolean {
    let p = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
    while (p < raw.length && (raw[p] === 0x20 || raw[p] === 0x09 || raw[p] === 0x0a || raw[p] === 0x0d)) p++;
    const head = raw.toString('latin1', p, p + 3);
    if (head === 'FHS' || head === 'BHS') return true;
    return raw.indexOf('\rMSH', p) >= 0 || raw.indexOf('\nMSH', p) >= 0;
  }

  async handle(raw: Buffer): Promise<Buffer | null> {
    // Latin-1 maps bytes one to one: cutting here and encoding back gives each message its
    // exact bytes (segment terminators normalised to CR), whatever its own MSH-18 says.
    const text = raw.toString('latin1');
    let batch: BatchSplit;
    try {
      batch = splitBatch(text);
    } catch {
      batch = { messages: [] };
    }
    // Not cuttable, or one message without batch headers (an "MSH…" line that starts no message): the ordinary path.
    if (batch.messages.length === 0 || (!batch.header && batch.messages.length === 1)) return (await this.intake.handle(raw)).response;
    if (batch.messages.length > this.maxMessages) {
      this.logger.warn('batch over limits.maxBatchMessages: refused whole', { channel: this.channel, count: batch.messages.length, code: 'PSL_BATCH_OVER_MLLP' });
      return (await this.intake.handle(raw)).response;
    }
    if (batch.declaredCount !== undefined && batch.declaredCount !== batch.messages.length) {
      this.logger.warn('batch count differs from BTS-1; every message taken', { channel: this.channel, count: batch.messages.length, reason: `BTS-1 ${batch.declaredCount}` });
    }
    // One after the other: arrival order (and so per-key order) is the batch order.
    const outcomes: IntakeOutcome[] = [];
    for (const m of batch.messages) outcomes.push(await this.intake.handle(Buffer.from(m, 'latin1')));
    // ack.onStoreFailure: none means "no answer, the sender resends": for a batch, the whole
    // batch (what was committed comes back as duplicates with their original ACKs).
    if (outcomes.some((o) => o.state === 'store-failed' && o.response === null)) return null;
    const acks = outcomes.map((o) => o.response).filter((r): r is Buffer => r !== null);
    const refused = outcomes.filter((o) => o.state !== 'accepted' && o.state !== 'duplicate').length;
    this.logger.info('batch taken', { channel: this.channel, count: outcomes.length, reason: refused ? `${refused} not accepted` : undefined });
    if (acks.length === 0) return null; // every message asked for no ACK (enhanced NE)
    return batchAck(batch, acks);
  }
}

/** Longest received header value a batch ACK echoes (as ACK_VALUE_MAX in engine/hl7/ack.ts). */
const ECHO_MAX = 200;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/**
 * The separator a received FHS/BHS declares, if it is one we can write back: a printable ASCII
 * character that is not a letter or digit. A control byte there (the fuzzer sent FS, the MLLP end
 * byte) would break the sender's framing if echoed.
 */
function usableSeparator(header: string | undefined): string | undefined {
  const c = header?.[3];
  return c !== undefined && /^[!-~]$/.test(c) && !/[A-Za-z0-9]/.test(c) ? c : undefined;
}

/** The response batch: headers mirror the received ones with sender and receiver swapped. */
function batchAck(batch: BatchSplit, acks: Buffer[]): Buffer {
  const headers = (batch.header ?? '').split('\r').filter(Boolean);
  const fhs = headers.find((h) => h.startsWith('FHS'));
  const bhs = headers.find((h) => h.startsWith('BHS'));
  const now = new Date();
  const header = (tag: 'FHS' | 'BHS', received: string | undefined): string => {
    const fs = usableSeparator(received);
    // A header we cannot read back safely is not echoed: fresh header, our delimiters.
    const f = received && fs ? received.split(fs).map((v) => v.replace(CONTROL, '').slice(0, ECHO_MAX)) : [];
    const out = fs ?? '|';
    // FHS/BHS-1 is the separator itself, so split field n sits at index n - 1.
    const enc = f[1] && f[1].length <= 5 ? f[1] : '^~\\&';
    return [tag, enc, f[4] ?? '', f[5] ?? '', f[2] ?? '', f[3] ?? '', hl7Timestamp(now), '', '', '', generateControlId(now), f[10] ?? ''].join(out);
  };
  const lines: Buffer[] = [];
  const line = (s: string): void => void lines.push(Buffer.from(s + '\r', 'latin1'));
  if (fhs) line(header('FHS', fhs));
  line(header('BHS', bhs));
  lines.push(...acks.map((a) => (a[a.length - 1] === 0x0d ? a : Buffer.concat([a, Buffer.from('\r')]))));
  line(`BTS${usableSeparator(bhs) ?? '|'}${acks.length}`);
  if (fhs) line(`FTS${usableSeparator(fhs) ?? '|'}1`);
  return Buffer.concat(lines);
}

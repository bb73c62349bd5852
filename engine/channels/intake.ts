import {
  Hl7Error, Message, accept, ackCodeFor, ackModeOf, buildAck, buildAckText, buildOrderResponseText, decode, encode, nakFromRaw, orderGroups, orderMessageType, placerOf,
  type AcceptanceProfile, type Charset, type ErrDetail,
} from '../hl7';
import type { MessageStore } from '../store/types';
import type { ChannelConfig } from '../config/channel-schema';
import { infoEnabled, type Logger } from '../runtime/logger';
import { checkFrameLimits } from './frame-limits';
import { RefusalKeeper } from './refusal-keeper';
import { orderKey, refKey } from '../orders/state';
import { searchKeysOf } from './search-keys';

/**
 * Called once a message is committed, in commit order, to put its id on the channel's queue;
 * `stored` (journalled intake) settles once the store can read the message back: enqueue then.
 */
export type Enqueue = (id: string, orderingKey: string, stored?: Promise<void>) => void;

export interface IntakeOutcome {
  /** Bytes to send back (the ACK/NAK), or null when the sender asked for none (enhanced NE). */
  response: Buffer | null;
  state: 'accepted' | 'duplicate' | 'refused' | 'store-failed';
  id?: string;
  controlId: string;
}

/**
 * Acceptance and durable intake of one message (docs/design.md "Intake guarantee"):
 * decode → parse → accept → commit raw bytes + ACK → only then return the ACK.
 * Refused messages get a typed NAK (AR header problems, AE content) and are stored as `refused`.
 */
export class Intake {
  private readonly profile: AcceptanceProfile;
  private readonly dedupeWindowMs: number;
  readonly refusals: RefusalKeeper;

  constructor(
    private readonly channel: Readonly<ChannelConfig>,
    private readonly store: MessageStore,
    private readonly enqueue: Enqueue,
    private readonly logger: Logger,
  ) {
    const a = channel.acceptance;
    this.profile = {
      messageTypes: [...a.messageTypes],
      versions: [...a.versions],
      processingIds: [...a.processingIds],
      requireControlId: true,
      versionRejectCode: a.versionRejectCode,
    };
    this.dedupeWindowMs = channel.dedupe.windowMinutes * 60_000;
    this.refusals = new RefusalKeeper(channel, store, logger);
  }

  /** MLLP frame handler: never rejects (a failure is answered, not thrown). */
  async handleFrame(raw: Buffer): Promise<Buffer | null> {
    return (await this.handle(raw)).response;
  }

  async handle(raw: Buffer): Promise<IntakeOutcome> {
    const receivedAt = new Date();
    let text: string;
    let charset: Charset;
    let msg: Message;
    let invalidBytes = false;
    const breach = checkFrameLimits(raw, this.channel.limits);
    if (breach) {
      // Refused on the bytes: a message over the limits is never decoded nor parsed.
      const head = headText(raw);
      const err: ErrDetail =
        breach.kind === 'segments'
          ? { hl7Code: 198, severity: 'E', userMessage: `message has more than ${breach.limit} segments` }
          : { hl7Code: 104, severity: 'E', location: { segment: '', sequence: breach.segment }, userMessage: `segment ${breach.segment} is longer than ${breach.limit} bytes` };
      const code = breach.kind === 'segments' ? 'PSL_LIMIT_SEGMENTS' : 'PSL_LIMIT_SEGMENT_BYTES';
      const nak = nakFromRaw(head, err, { code: 'AR' });
      return this.refuse(raw, latin1Bytes(nak), recoverControlId(head), '', 'latin1', `${code}: ${err.userMessage}`, receivedAt);
    }
    try {
      const decoded = decode(raw, {
        defaultCharset: this.channel.charset.default,
        override: this.channel.charset.override,
        strict: this.channel.charset.strict,
      });
      text = decoded.text;
      charset = decoded.charset;
      invalidBytes = decoded.invalidBytes;
      msg = Message.parse(text);
    } catch (e) {
      if (!(e instanceof Hl7Error)) throw e;
      // Unparseable: answer from whatever the MSH line gives, keep an excerpt for operators.
      const head = headText(raw);
      const nak = nakFromRaw(head, e, { code: 'AR' });
      return this.refuse(raw, latin1Bytes(nak), recoverControlId(head), '', 'latin1', `${e.code}: ${e.message}`, receivedAt);
    }

    if (msg.segment('FHS') || msg.segment('BHS') || msg.segments('MSH').length > 1) {
      const err: ErrDetail = { hl7Code: 200, severity: 'E', userMessage: 'batch refused: this channel takes one message per frame (source.acceptBatches), the batch holds more than limits.maxBatchMessages messages, or it could not be cut into messages' };
      const nak = buildAck(msg, { code: ackCodeFor(msg, 'reject'), errors: [err], controlId: this.ackControlId(msg), errLayout: this.channel.ack.errLayout });
      return this.refuse(raw, encode(nak.toString(), charset), msg.controlId, msg.messageType, charset, 'PSL_BATCH_OVER_MLLP: ' + err.userMessage, receivedAt);
    }

    const verdict = accept(msg, this.profile);
    if (!verdict.accepted) {
      const nak = buildAck(msg, { code: ackCodeFor(msg, verdict.outcome), errors: verdict.errors, controlId: this.ackControlId(msg), errLayout: this.channel.ack.errLayout });
      return this.refuse(raw, encode(nak.toString(), charset), msg.controlId, msg.messageType, charset, `HL7_${verdict.errors[0]?.hl7Code ?? 'REFUSED'}: ${verdict.reason}`, receivedAt, msg);
    }

    // Bytes invalid in the declared charset were replaced (charset.strict refuses them instead): say so.
    const warnings = invalidBytes ? [...verdict.warnings, invalidBytesWarning(charset)] : verdict.warnings;
    if (invalidBytes) this.logger.warn('invalid bytes replaced', { channel: this.channel.name, controlId: msg.controlId, code: 'PSL_CHARSET_INVALID', reason: charset });
    let ack: Buffer;
    if (this.channel.ack.orderResponses && orderMessageType(msg)) {
      // Orders get ORL / ORR with each order's status; one that cannot be accepted refuses the message.
      const cannotCancel = await this.cancelRefusals(msg);
      const answer = buildOrderResponseText(msg, { controlId: this.ackControlId(msg), errLayout: this.channel.ack.errLayout, warnings, cannotCancel });
      ack = encode(answer.text, charset);
      if (!answer.accepted) return this.refuse(raw, ack, msg.controlId, msg.messageType, charset, 'PSL_ORDER_REFUSED: an order cannot be accepted (ORC-1 UA / UC in the answer)', receivedAt, msg);
    } else {
      ack = encode(
        buildAckText(msg, { code: ackCodeFor(msg, 'accept'), errors: warnings, controlId: this.ackControlId(msg), errLayout: this.channel.ack.errLayout }),
        charset,
      );
    }
    // Flat copies, not slices of the frame's text: these outlive the message (dedupe, queue, the
    // journal's index lag), and a slice would keep the whole decoded frame alive past young-gen
    // collections (issue 7: ≈5 KB promoted to the old generation per message).
    const controlId = detach(msg.controlId);
    const orderingKey = detach(orderingKeyOf(msg, this.channel.ordering.key));
    const sender = detach(`${msg.getRaw('MSH-3')}|${msg.getRaw('MSH-4')}`);
    const messageType = detach(msg.messageType);
    const keys = searchKeysOf(msg); // flat copies too (search-keys.ts)
    try {
      const r = await this.store.receive(
        { channel: this.channel.name, controlId, sender, messageType, orderingKey, charset, raw, ack, receivedAt, state: 'received', keys },
        this.dedupeWindowMs,
      );
      if (r.duplicate) {
        this.logger.info('duplicate: original ACK replayed', { channel: this.channel.name, id: r.id, controlId });
        return { response: r.ack, state: 'duplicate', id: r.id, controlId };
      }
      this.enqueue(r.id, orderingKey, r.stored);
      // winston builds and formats a record before its level filter drops it (≈ 4 µs): ask first.
      if (infoEnabled(this.logger)) this.logger.info('received', { channel: this.channel.name, id: r.id, controlId, messageType });
      return { response: this.answerIfAsked(msg, true, ack), state: 'accepted', id: r.id, controlId };
    } catch (e) {
      // Nothing durable: the sender must not get an AA; it resends.
      this.logger.error('store failed: message not accepted', { channel: this.channel.name, controlId: msg.controlId, error: (e as Error).message });
      if (this.channel.ack.onStoreFailure === 'none') return { response: null, state: 'store-failed', controlId: msg.controlId };
      const nak = buildAck(msg, {
        code: ackCodeFor(msg, 'error'),
        errors: [{ hl7Code: 207, severity: 'E', userMessage: 'message store unavailable; resend later' }],
        controlId: this.ackControlId(msg),
        errLayout: this.channel.ack.errLayout,
      });
      return { response: encode(nak.toString(), charset), state: 'store-failed', controlId: msg.controlId };
    }
  }

  private async refuse(
    raw: Buffer, nak: Buffer, controlId: string, messageType: string, charset: string, reason: string, receivedAt: Date,
    msg?: Message,
  ): Promise<IntakeOutcome> {
    let id: string | undefined;
    // Only bounded copies outlive this call: an excerpt of the frame, and short header values
    // copied out of the frame's text (a substring would keep the whole decoded frame alive).
    const { stored, summary } = this.refusals.excerpt(raw);
    const keptControlId = detach(controlId.slice(0, 200));
    const keptType = detach(messageType.slice(0, 50));
    const sender = msg ? detach(`${msg.getRaw('MSH-3')}|${msg.getRaw('MSH-4')}`.slice(0, 400)) : '';
    const response = msg ? this.answerIfAsked(msg, false, nak) : nak;
    const keptReason = detach(reason.slice(0, 1000)) + summary;
    try {
      const r = await this.store.receive(
        { channel: this.channel.name, controlId: keptControlId, sender, messageType: keptType, orderingKey: '', charset, raw: stored, ack: nak, receivedAt, state: 'refused', reason: keptReason },
        0,
      );
      id = r.id;
      this.refusals.stored();
    } catch (e) {
      this.logger.error('store failed while keeping a refused message', { channel: this.channel.name, controlId: keptControlId, error: (e as Error).message });
    }
    this.refusals.logRefused({ channel: this.channel.name, id, controlId: keptControlId, messageType: keptType, reason: keptReason.split(':', 1)[0]!.slice(0, 60) });
    return { response, state: 'refused', id, controlId: keptControlId };
  }

  /**
   * CR or UC for a cancel request is the lab's call (../shared/docs/hl7-lab.md §5.3): an order
   * whose results are all validated (CM) can no longer be cancelled. An order we do not hold
   * yet (its NW still queued) is cancelled when its turn comes: CR. A store that cannot answer
   * leaves the decision to CR as well; the order channel applies the cancel in order anyway.
   */
  private async cancelRefusals(msg: Message): Promise<Map<number, string> | undefined> {
    const { groups } = orderGroups(msg);
    const cancels = groups.filter((g) => g.control === 'CA');
    if (cancels.length === 0) return undefined;
    const out = new Map<number, string>();
    for (const g of cancels) {
      const placer = placerOf(g, msg.get('MSH-4.1') || msg.get('MSH-3.1'));
      if (!placer) continue;
      try {
        const key = (await this.store.orderKeyOf(refKey('placer', placer.authority, placer.number))) ?? orderKey(placer.authority, placer.number);
        const row = await this.store.getOrder(key);
        const status = row && (JSON.parse(row.state) as { status?: string }).status;
        if (status === 'CM') out.set(g.index, 'unable to cancel: the lab has completed this order (results validated)');
      } catch {
        /* no answer from the store: CR, the cancel is applied in order */
      }
    }
    return out;
  }

  /** Enhanced mode, when the channel honours MSH-15: NE never wants a commit ACK, ER only on errors, SU only on success. */
  private answerIfAsked(msg: Message, success: boolean, ack: Buffer): Buffer | null {
    const mode = ackModeOf(msg);
    if (mode.mode !== 'enhanced' || !this.channel.ack.honourMsh15) return ack;
    const want = mode.acceptAck || 'AL';
    if (want === 'NE') return null;
    if (want === 'ER' && success) return null;
    if (want === 'SU' && !success) return null;
    return ack;
  }

  private ackControlId(msg: Message): string {
    // Deterministic: a replayed ACK and a re-built one look the same.
    return `ACK${msg.controlId}`.slice(0, 50);
  }
}

/** Ordering key: placer order number (ORC-2, else OBR-2), else patient id (PID-3 first repetition). */
export function orderingKeyOf(msg: Message, kind: 'placer-order' | 'patient' | 'none'): string {
  if (kind === 'none') return '';
  if (kind === 'placer-order') {
    const placer = msg.get('ORC-2.1') || msg.get('OBR-2.1');
    if (placer) return `order:${placer}`;
  }
  const patient = msg.get('PID-3[1].1');
  return patient ? `patient:${patient}|${msg.get('PID-3[1].4.1')}` : '';
}

/** ERR with severity W: accepted, but the text is not exactly what was sent. */
function invalidBytesWarning(charset: Charset): ErrDetail {
  return {
    hl7Code: 102,
    severity: 'W',
    location: { segment: 'MSH', sequence: 1, field: 18 },
    userMessage: `bytes not valid ${charset}: accepted, but the text kept may differ from what was sent (UTF-8: replaced by U+FFFD)`,
    appCode: 'PSL_CHARSET_INVALID',
  };
}

/** The first 4 KB of a frame as latin1: all a NAK for an unparseable frame needs (MSH). */
function headText(raw: Buffer): string {
  return raw.toString('latin1', 0, Math.min(raw.length, 4096));
}

/**
 * A NAK's text as latin1 bytes. Its diagnostic may quote decoded text with characters above
 * U+00FF, which Buffer's latin1 would cut to their low byte — U+FF0B would become a VT and break
 * the sender's framing (found by the fuzzer): those become '?'.
 */
function latin1Bytes(text: string): Buffer {
  return Buffer.from(text.replace(/[^\x00-\xff]/g, '?'), 'latin1');
}

/** A flat copy of a short string, so it does not point into (and keep alive) a large parent string. */
function detach(s: string): string {
  return s.length === 0 ? '' : Buffer.from(s, 'utf8').toString('utf8');
}

function recoverControlId(text: string): string {
  const line = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)[0] ?? '';
  if (!line.startsWith('MSH') || line.length < 4) return '';
  return line.split(line[3]!)[9] ?? '';
}

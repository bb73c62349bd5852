import type { RedisOptions } from 'ioredis';
import { ERROR_CATALOGUE, PasserelleError, type ErrorCode } from '../errors';
import { Message, ackModeOf, buildAck, decode, type AckCode, type Charset, type ErrDetail } from '../hl7';
import type { MllpDestination } from '../delivery';
import { outboundLine } from '../delivery/outbound-line';
import type { OrderedQueue } from '../queue';
import type { OrderedJob } from '../queue/types';
import type { ChannelConfig } from '../config/channel-schema';
import type { MessageState, MessageStore } from '../store/types';
import type { Logger } from '../runtime/logger';

type AppAckConfig = NonNullable<ChannelConfig['ack']['application']>;

export interface ApplicationAcksOptions {
  channel: Readonly<ChannelConfig>;
  config: AppAckConfig;
  store: MessageStore;
  connection: RedisOptions;
  prefix: string;
  consume: boolean;
  logger: Logger;
}

/**
 * Enhanced-mode application acknowledgements (HL7 v2 §2.9.3): the sender asked in MSH-16 (AL
 * always, ER on error, SU on success) to learn how processing ended, not only that the message
 * was committed (that is the accept ACK, CA/CE/CR, sent at intake). When a message reaches a
 * terminal state, an ACK message goes back as a NEW message over the channel's outbound MLLP
 * connection (`ack.application`), as Mirth's and InterSystems' enhanced-mode set-ups do: AA when
 * every destination was done (or the message was filtered on purpose), AE when it was
 * dead-lettered for its content (a permanent error), AR when retries of a passing failure ran
 * out. It carries MSH-15 AL / MSH-16 NE, so the sender answers it with a commit ACK. Sends go
 * through their own ordered queue: retried with backoff, never blocking the channel's stages.
 */
export class ApplicationAcks {
  private readonly queue: OrderedQueue;
  private readonly out: MllpDestination;
  private readonly ch: Readonly<ChannelConfig>;

  constructor(private readonly o: ApplicationAcksOptions) {
    this.ch = o.channel;
    const c = o.config;
    ({ queue: this.queue, out: this.out } = outboundLine({
      name: `${this.ch.name}.appack`,
      peer: 'application-ack',
      config: c,
      defaultCharset: this.ch.charset.default,
      connection: o.connection,
      prefix: o.prefix,
      partitions: this.ch.ordering.partitions,
      consume: o.consume,
      processor: (job) => this.send(job),
      logFields: { channel: this.ch.name },
      deadMessage: 'application ACK not delivered',
      logger: o.logger,
    }));
  }

  async start(): Promise<void> {
    await this.queue.start();
  }

  async stop(drainDeadlineMs: number): Promise<void> {
    await this.queue.stop({ drainDeadlineMs });
    await this.out.close();
  }

  /**
   * A message reached a terminal state: queue its application ACK if the sender asked for one.
   * Never throws (the state change it follows has happened; a failure here is logged).
   */
  async terminal(id: string, state: MessageState, reason: string | null): Promise<void> {
    if (state !== 'done' && state !== 'filtered' && state !== 'dead') return;
    try {
      const m = await this.o.store.get(id);
      if (!m || m.state !== state) return; // changed again since (reprocess)
      // Our accept ACK says the mode: only enhanced-mode messages (CA) are read again for MSH-16.
      if (!/\rMSA.CA/.test(m.ack.toString('latin1'))) return;
      const code = appAckCode(state, reason);
      const raw = await this.o.store.raw(id);
      if (!raw) return;
      const msg = Message.parse(decode(raw, { override: m.charset as Charset }).text);
      if (!wantsAppAck(msg, code)) return;
      // One job per outcome: a message reprocessed after an AE gets its AA later.
      await this.queue.add(m.orderingKey || m.id, `${id}.appack.${code}`, { messageId: id, code, reason: reasonCode(reason) });
    } catch (e) {
      this.o.logger.error('application ACK not queued', { channel: this.ch.name, id, code: (e as { code?: string })?.code ?? 'PSL_INTERNAL' });
    }
  }

  private async send(job: OrderedJob): Promise<void> {
    const id = job.data.messageId!;
    const m = await this.o.store.get(id);
    const raw = m && (await this.o.store.raw(id));
    if (!m || !raw) throw new PasserelleError('PSL_MESSAGE_MISSING', `message ${id} is not in the store`);
    const original = Message.parse(decode(raw, { override: m.charset as Charset }).text);
    const code = job.data.code as AckCode;
    const errors: ErrDetail[] = code === 'AA' ? [] : [appAckError(job.data.reason ?? '')];
    // Deterministic control id: a resend after a crash carries the same MSH-10 for the sender to dedupe.
    const ack = buildAck(original, { code, errors, controlId: `APP${original.controlId}`.slice(0, 50), text: m.state === 'filtered' ? 'filtered' : undefined, errLayout: this.ch.ack.errLayout });
    ack.set('MSH-15', 'AL');
    ack.set('MSH-16', 'NE');
    const detail = await this.out.deliver({ id, controlId: ack.controlId, message: ack });
    this.o.logger.info('application ACK sent', { channel: this.ch.name, id, controlId: original.controlId, ack: `${code}/${detail}` });
  }
}

/** done/filtered → AA; dead: AE when the cause is permanent (content), AR when retries of a passing failure ran out. */
export function appAckCode(state: MessageState, reason: string | null): AckCode {
  if (state !== 'dead') return 'AA';
  const code = reasonCode(reason);
  const spec = code in ERROR_CATALOGUE ? ERROR_CATALOGUE[code as ErrorCode] : undefined;
  return spec && spec.retry !== 'permanent' ? 'AR' : 'AE';
}

/** MSH-16: AL always, ER only AE/AR, SU only AA; NE, empty or original mode: none. */
export function wantsAppAck(msg: Message, code: AckCode): boolean {
  const { mode, appAck } = ackModeOf(msg);
  if (mode !== 'enhanced') return false;
  if (appAck === 'AL') return true;
  if (appAck === 'ER') return code !== 'AA';
  if (appAck === 'SU') return code === 'AA';
  return false;
}

/** The machine code in a stored reason (`<destination>: <code>: text` or `<code>: text`); texts stay in the store. */
function reasonCode(reason: string | null): string {
  const m = /\b(PSL_[A-Z0-9_]+|HL7_[A-Z0-9_]+)\b/.exec(reason ?? '');
  return m ? m[1]! : 'PSL_INTERNAL';
}

/** ERR of an AE/AR application ACK: HL7 207 (application internal error), our code in ERR-5, its catalogue summary as text. */
function appAckError(code: string): ErrDetail {
  const summary = code in ERROR_CATALOGUE ? ERROR_CATALOGUE[code as ErrorCode].summary : 'processing failed';
  return { hl7Code: 207, severity: 'E', appCode: code, userMessage: summary };
}

/**
 * The store as the pipeline sees it when application ACKs are on: every change to a terminal
 * state (however the pipeline got there: delivered, filtered, dead-lettered, reprocessed) is
 * reported after it is stored. Everything else is the store itself.
 */
export function observeTerminalStates(
  store: MessageStore,
  onTerminal: (id: string, state: MessageState, reason: string | null) => void,
): MessageStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'setState') {
        return async (id: string, state: MessageState, reason?: string | null): Promise<void> => {
          await target.setState(id, state, reason);
          if (state === 'done' || state === 'filtered' || state === 'dead') onTerminal(id, state, reason ?? null);
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

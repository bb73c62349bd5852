import { Message, decode, type Charset } from '../hl7';
import { wireBytes, type WireCharsetOptions } from './wire-charset';
import { MllpClient, type MllpClientOptions } from '../mllp';
import { PasserelleError } from '../errors';
import type { Destination, OutboundMessage } from './destination';

export interface MllpDestinationOptions extends MllpClientOptions {
  name: string;
  /** Forced output charset, MSH-18 rewritten to match. Default: the charset MSH-18 declares. */
  charset?: Charset;
  /** Charset for messages whose MSH-18 is empty. Default utf-8. */
  defaultCharset?: Charset;
}

/**
 * Sends to a downstream MLLP listener and maps its answer onto retry classes:
 * AA/CA done; AR/CR transient (rejected for now: retry later); AE/CE permanent (content error);
 * no answer in time: ambiguous (the peer may have it; same MSH-10 on a resend lets it dedupe).
 */
export class MllpDestination implements Destination {
  readonly name: string;
  private readonly client: MllpClient;
  private readonly charsets: WireCharsetOptions;

  constructor(opts: MllpDestinationOptions) {
    this.name = opts.name;
    this.charsets = { charset: opts.charset, defaultCharset: opts.defaultCharset };
    this.client = new MllpClient(opts);
  }

  async deliver(out: OutboundMessage): Promise<string> {
    const response = await this.client.send(wireBytes(out.message, this.charsets));
    return classifyAck(answerText(response), out.controlId, this.name);
  }

  /**
   * Sends and returns the peer's answer when it is for this message, whatever its MSA-1: for
   * answers whose body matters (ORL^O22 to a sub-order: each order's ORC-1). A garbled answer
   * or one for another message throws PSL_DEST_BAD_ACK.
   */
  async exchange(out: OutboundMessage): Promise<Message> {
    const response = answerText(await this.client.send(wireBytes(out.message, this.charsets)));
    let answer: Message;
    try {
      answer = Message.parse(response);
    } catch {
      throw new PasserelleError('PSL_DEST_BAD_ACK', `${this.name}: response is not an HL7 message`);
    }
    if (answer.get('MSA-2') !== out.controlId) throw new PasserelleError('PSL_DEST_BAD_ACK', `${this.name}: answer is for ${answer.get('MSA-2') || '(none)'}, expected ${out.controlId}`);
    return answer;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** An answer's text in the charset its MSH-18 declares (an ERR text may carry accents); bytes that do not decode are replaced. */
function answerText(bytes: Buffer): string {
  try {
    return decode(bytes, { strict: false }).text;
  } catch {
    return bytes.toString('latin1');
  }
}

/** Returns the ACK code when it means "done"; throws a coded error otherwise. */
export function classifyAck(responseText: string, sentControlId: string, destination: string): string {
  let ack: Message;
  try {
    ack = Message.parse(responseText);
  } catch {
    throw new PasserelleError('PSL_DEST_BAD_ACK', `${destination}: response is not an HL7 message`);
  }
  const code = ack.get('MSA-1');
  const acked = ack.get('MSA-2');
  if (acked !== sentControlId) {
    throw new PasserelleError('PSL_DEST_BAD_ACK', `${destination}: ACK is for ${acked || '(none)'}, expected ${sentControlId}`);
  }
  const why = ack.get('ERR-3.2') || ack.get('ERR-8') || ack.get('MSA-3');
  switch (code) {
    case 'AA':
    case 'CA':
      return code;
    case 'AR':
    case 'CR':
      throw new PasserelleError('PSL_DEST_NAK_RETRY', `${destination}: ${code}${why ? ' ' + why : ''}`);
    case 'AE':
    case 'CE':
      throw new PasserelleError('PSL_DEST_NAK_ERROR', `${destination}: ${code}${why ? ' ' + why : ''}`);
    default:
      throw new PasserelleError('PSL_DEST_BAD_ACK', `${destination}: unknown MSA-1 "${code}"`);
  }
}

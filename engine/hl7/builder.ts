import { randomBytes } from 'node:crypto';
import { DEFAULT_DELIMITERS, type Delimiters, delimitersFrom, encodingCharacters } from './delimiters';
import { Hl7Error } from './errors';
import { escape } from './escape';
import { Message } from './message';

export interface MessageBuilderOptions {
  delimiters?: Delimiters;
  /** default '2.5' */
  version?: string;
  /** 'ORU^R01^ORU_R01' */
  messageType: string;
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
  /** default: generated (see generateControlId) */
  controlId?: string;
  /** default 'P' */
  processingId?: string;
  /** MSH-18 text, e.g. 'UNICODE UTF-8' or '8859/15'; omitted when undefined */
  charset?: string;
  now?: Date;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** HL7 DTM to the second, local wall time (what French lab systems send). */
export function hl7Timestamp(d: Date = new Date()): string {
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

let sequence = 0;
/** 20 characters (the v2.5 MSH-10 length): timestamp + counter + randomness, unique per process. */
export function generateControlId(now: Date = new Date()): string {
  sequence = (sequence + 1) % 1296;
  return hl7Timestamp(now) + sequence.toString(36).padStart(2, '0') + randomBytes(3).toString('hex').slice(0, 4);
}

/**
 * Composite header values are written with '^' between components and '&' between
 * subcomponents (the HL7 default, whatever the target delimiters); each leaf is escaped.
 */
export function composite(text: string, d: Delimiters): string {
  if (!/[\^&]/.test(text)) return escape(text, d);
  return text
    .split('^')
    .map((c) => c.split('&').map((s) => escape(s, d)).join(d.subcomponent))
    .join(d.component);
}

/** Builds new messages; every value passed is escaped, so data can never inject structure. */
export class MessageBuilder {
  private readonly d: Delimiters;
  private readonly lines: string[] = [];

  constructor(opts: MessageBuilderOptions) {
    const d = opts.delimiters ?? DEFAULT_DELIMITERS;
    // validate custom delimiters exactly as the parser will
    this.d = delimitersFrom(d.field, encodingCharacters(d));
    const now = opts.now ?? new Date();
    const f = this.d.field;
    const msh = [
      'MSH',
      encodingCharacters(this.d),
      composite(opts.sendingApplication ?? '', this.d),
      composite(opts.sendingFacility ?? '', this.d),
      composite(opts.receivingApplication ?? '', this.d),
      composite(opts.receivingFacility ?? '', this.d),
      hl7Timestamp(now),
      '',
      composite(opts.messageType, this.d),
      escape(opts.controlId ?? generateControlId(now), this.d),
      composite(opts.processingId ?? 'P', this.d),
      composite(opts.version ?? '2.5', this.d),
    ];
    if (opts.charset !== undefined) {
      while (msh.length < 17) msh.push('');
      msh.push(escape(opts.charset, this.d));
    }
    this.lines.push(msh.join(f));
  }

  /** Adds a segment; field n is the n-th value; an array gives the components of that field. */
  segment(name: string, ...fields: (string | string[])[]): this {
    if (!/^[A-Z0-9]{3}$/.test(name) || name === 'MSH') {
      throw new Hl7Error('HL7_BAD_SEGMENT', `invalid segment name for the builder: ${JSON.stringify(name)}`, {
        location: { segment: name },
      });
    }
    const d = this.d;
    let line = name;
    for (const v of fields) {
      line += d.field + (Array.isArray(v) ? v.map((c) => escape(c, d)).join(d.component) : escape(v, d));
    }
    this.lines.push(line);
    return this;
  }

  build(): Message {
    return Message.parse(this.lines.join('\r') + '\r');
  }
}

import { generateControlId, hl7Timestamp } from './builder';
import { DEFAULT_DELIMITERS, type Delimiters, encodingCharacters, tryDelimitersFrom } from './delimiters';
import { type ErrLocation, Hl7Error, HL70357 } from './errors';
import { escape } from './escape';
import { Message } from './message';

/** Acknowledgements (hl7-lab.md §7): original (AA/AE/AR) and enhanced (CA/CE/CR) modes. */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';
export type Outcome = 'accept' | 'error' | 'reject';

export interface ErrDetail {
  /** HL70357 */
  hl7Code: number;
  severity: 'E' | 'W' | 'I';
  location?: ErrLocation;
  userMessage?: string;
  /** ERR-5, composite text with '^' between components, e.g. '902^Patient inconnu^applicationErrorCode' */
  appCode?: string;
  diagnostic?: string;
}

export interface AckOptions {
  code: AckCode;
  errors?: ErrDetail[];
  controlId?: string;
  now?: Date;
  /** MSA-3 (deprecated in 2.5, still expected by many partners) */
  text?: string;
  /**
   * ERR layout. `v2.5`: ERR-2 location, ERR-3 HL70357 code, ERR-4 severity, ERR-5, ERR-7, ERR-8.
   * `v2.3` (also 2.4 and older): everything in ERR-1, `segment^sequence^field^code&text&HL70357`
   * (no severity field: MSA-3 carries the first error's text). `auto` (default) picks by MSH-12.
   */
  errLayout?: 'auto' | 'v2.3' | 'v2.5';
  /** MSH-9 of the answer, components as sent (default `ACK^<trigger>^ACK`): ORL^O22^ORL_O22 for an order response. */
  responseType?: string[];
  /** Segments after MSA and ERR (an order response's PID, ORC, OBR), already in the message's delimiters. */
  body?: string[];
}

/** MSH-12 below 2.5 (2.1 … 2.4.x) answers with the ERR-1 layout older partners parse. */
export function legacyErrLayout(version: string): boolean {
  const m = /^\s*2\.(\d+)/.exec(version);
  return !!m && Number(m[1]) < 5;
}

/** Header values of the acknowledged message, as wire text in `d`. */
interface AckHeader {
  sendingApp: string;
  sendingFacility: string;
  receivingApp: string;
  receivingFacility: string;
  trigger: string;
  processingId: string;
  version: string;
  charset: string;
  controlId: string;
}

export function ackModeOf(msg: Message): { mode: 'original' | 'enhanced'; acceptAck: string; appAck: string } {
  const acceptAck = msg.acceptAckType.trim().toUpperCase();
  const appAck = msg.appAckType.trim().toUpperCase();
  return { mode: acceptAck || appAck ? 'enhanced' : 'original', acceptAck, appAck };
}

/** Enhanced mode answers at commit level (CA/CE/CR); original mode with AA/AE/AR. */
export function ackCodeFor(msg: Message, outcome: Outcome): AckCode {
  const enhanced = ackModeOf(msg).mode === 'enhanced';
  switch (outcome) {
    case 'accept': return enhanced ? 'CA' : 'AA';
    case 'error': return enhanced ? 'CE' : 'AE';
    case 'reject': return enhanced ? 'CR' : 'AR';
  }
}

/**
 * Whether an (accept) acknowledgement goes back at all: original mode always answers;
 * enhanced mode follows MSH-15 (AL or empty: always, NE: never, ER: only on error/reject,
 * SU: only on success).
 */
export function shouldSendAck(msg: Message, outcome: Outcome): boolean {
  const { mode, acceptAck } = ackModeOf(msg);
  if (mode === 'original') return true;
  switch (acceptAck) {
    case 'NE': return false;
    case 'ER': return outcome !== 'accept';
    case 'SU': return outcome === 'accept';
    default: return true;
  }
}

/** ERL text: SEG^sequence^field^repetition^component^subcomponent (trailing empties dropped). */
export function formatErl(loc: ErrLocation, d: Delimiters = DEFAULT_DELIMITERS): string {
  const parts = [escape(loc.segment, d), String(loc.sequence ?? 1)];
  const rest = [loc.field, loc.repetition, loc.component, loc.subcomponent];
  let last = -1;
  rest.forEach((v, i) => {
    if (v !== undefined) last = i;
  });
  for (let i = 0; i <= last; i++) parts.push(rest[i] === undefined ? (i === 1 ? '1' : '') : String(rest[i]));
  return parts.join(d.component);
}

function appCode(text: string, d: Delimiters): string {
  return text.split('^').map((c) => escape(c, d)).join(d.component);
}

function errSegment(e: ErrDetail, d: Delimiters): string {
  const f = d.field;
  const code = `${e.hl7Code}${d.component}${escape(HL70357[e.hl7Code] ?? '', d)}${d.component}HL70357`;
  const fields = ['ERR', '', e.location ? formatErl(e.location, d) : '', code, e.severity, e.appCode ? appCode(e.appCode, d) : '', '', e.diagnostic ? escape(e.diagnostic.slice(0, ERR_TEXT_MAX), d) : '', e.userMessage ? escape(e.userMessage.slice(0, ERR_TEXT_MAX), d) : ''];
  while (fields.length > 4 && fields[fields.length - 1] === '') fields.pop();
  return fields.join(f);
}

/** v2.3/v2.4 ERR-1 (CM / ELD): segment^sequence^field^code&text&HL70357; fields absent stay empty. */
function legacyErrSegment(e: ErrDetail, d: Delimiters): string {
  const s = d.subcomponent;
  const code = [String(e.hl7Code), escape(HL70357[e.hl7Code] ?? '', d), 'HL70357'].join(s);
  const loc = e.location;
  const parts = [loc ? escape(loc.segment, d) : '', loc ? String(loc.sequence ?? 1) : '', loc?.field !== undefined ? String(loc.field) : '', code];
  return ['ERR', parts.join(d.component)].join(d.field);
}

function ackText(d: Delimiters, h: AckHeader, opts: AckOptions): string {
  const c = d.component;
  const msh = [
    'MSH',
    encodingCharacters(d),
    h.receivingApp,
    h.receivingFacility,
    h.sendingApp,
    h.sendingFacility,
    hl7Timestamp(opts.now),
    '',
    (opts.responseType ?? ['ACK', h.trigger, 'ACK']).join(c),
    escape(opts.controlId ?? generateControlId(opts.now), d),
    h.processingId,
    h.version,
  ];
  if (h.charset) {
    while (msh.length < 17) msh.push('');
    msh.push(h.charset);
  }
  const layout = opts.errLayout && opts.errLayout !== 'auto' ? opts.errLayout : legacyErrLayout(h.version) ? 'v2.3' : 'v2.5';
  const errors = opts.errors ?? [];
  // Older partners read the reason in MSA-3 (their ERR has no text field).
  const first = errors.find((e) => e.severity === 'E') ?? errors[0];
  const text = opts.text ?? (layout === 'v2.3' && first ? (first.userMessage ?? first.diagnostic ?? HL70357[first.hl7Code]) : undefined);
  const msa = ['MSA', opts.code, h.controlId];
  if (text) msa.push(escape(text.slice(0, 80), d));
  const lines = [msh.join(d.field), msa.join(d.field)];
  for (const e of errors) lines.push(layout === 'v2.3' ? legacyErrSegment(e, d) : errSegment(e, d));
  if (opts.body) lines.push(...opts.body);
  // Values copied from the message may hold control bytes; a VT or FS in an ACK would break
  // the sender's MLLP framing (found by the fuzzer), and none has a meaning in HL7 text.
  return lines.join('\r').replace(ACK_CONTROL, '') + '\r';
}

/** Longest header value (and ERR text) an ACK echoes; HL7 v2.5 caps MSH-10 at 199. */
const ACK_VALUE_MAX = 200;
const ERR_TEXT_MAX = 1000;

// eslint-disable-next-line no-control-regex
const ACK_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

/** Builds the acknowledgement of a parsed message (same delimiters, header swapped). */
export function buildAck(original: Message, opts: AckOptions): Message {
  return Message.parse(buildAckText(original, opts));
}

/** The text of `buildAck(original, opts)`, for a caller that only sends it (no parse of the ACK). */
export function buildAckText(original: Message, opts: AckOptions): string {
  // Header values are echoed at most ACK_VALUE_MAX characters each: an ACK must stay small
  // whatever the message holds (the fuzzer found a 1.4 MB NAK echoing a 1.4 MB MSH-6).
  const g = (p: string): string => original.getRaw(p).slice(0, ACK_VALUE_MAX);
  const h: AckHeader = {
    sendingApp: g('MSH-3'),
    sendingFacility: g('MSH-4'),
    receivingApp: g('MSH-5'),
    receivingFacility: g('MSH-6'),
    trigger: g('MSH-9.2'),
    processingId: g('MSH-11'),
    version: g('MSH-12'),
    charset: g('MSH-18'),
    controlId: g('MSH-10'),
  };
  return ackText(original.delimiters, h, opts);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/**
 * NAK for text that could not be parsed. Recovers what it can from the MSH line (delimiters
 * if sane, MSH-3..6, MSH-9.2, MSH-10, MSH-11, MSH-12, MSH-18), falls back to defaults, and
 * never throws.
 */
export function nakFromRaw(text: string, err: Hl7Error | ErrDetail, opts: { code?: AckCode; controlId?: string; now?: Date } = {}): string {
  const detail: ErrDetail =
    err instanceof Hl7Error
      ? { hl7Code: err.hl7Code, severity: 'E', diagnostic: err.message, ...(err.location ? { location: err.location } : {}) }
      : err;
  const ackOpts: AckOptions = { code: opts.code ?? 'AR', errors: [detail], controlId: opts.controlId, now: opts.now };
  try {
    const t = typeof text === 'string' ? text : '';
    const at = t.slice(0, 4096).indexOf('MSH');
    let line = at >= 0 ? t.slice(at, at + 4096) : '';
    const eol = line.search(/[\r\n]/);
    if (eol >= 0) line = line.slice(0, eol);
    const fs = line.charAt(3);
    const sep = /^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/.test(fs) ? fs : '';
    const fields = sep ? line.split(sep) : [];
    const found = sep ? tryDelimitersFrom(sep, fields[1] ?? '') : undefined;
    const d = found ?? DEFAULT_DELIMITERS;
    // With sane delimiters the values are copied as wire text; otherwise each is one escaped leaf.
    const value = (n: number): string => {
      const raw = (fields[n - 1] ?? '').replace(CONTROL, '').slice(0, 200);
      return found ? raw : escape(raw, d);
    };
    const msh9 = (fields[8] ?? '').replace(CONTROL, '');
    const trigger = found ? msh9.split(d.component)[1] ?? '' : '';
    const h: AckHeader = {
      sendingApp: value(3),
      sendingFacility: value(4),
      receivingApp: value(5),
      receivingFacility: value(6),
      trigger: /^[A-Za-z0-9]{1,8}$/.test(trigger) ? trigger : '',
      processingId: value(11) || 'P',
      version: value(12) || '2.5',
      charset: value(18),
      controlId: value(10),
    };
    const out = ackText(d, h, ackOpts);
    Message.parse(out); // guarantee the result is parseable
    return out;
  } catch {
    const h: AckHeader = { sendingApp: '', sendingFacility: '', receivingApp: '', receivingFacility: '', trigger: '', processingId: 'P', version: '2.5', charset: '', controlId: '' };
    try {
      return ackText(DEFAULT_DELIMITERS, h, ackOpts);
    } catch {
      return `MSH|^~\\&|||||||ACK^^ACK||P|2.5\rMSA|${opts.code ?? 'AR'}|\r`;
    }
  }
}

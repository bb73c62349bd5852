import type { ErrDetail } from './ack';
import type { Message } from './message';

/**
 * Acceptance as data: a channel declares which messages it takes, and `accept` says why a
 * message is refused in HL7 terms (HL70357 code + ERR location), in hl7-lab.md §8 order.
 */
export interface AcceptanceProfile {
  /** 'ORU^R01', 'OUL^R22', or 'ORU' for any event */
  messageTypes: string[];
  /** '2.5' also matches '2.5.1'; empty/undefined = any */
  versions?: string[];
  /** default ['P', 'D', 'T'] */
  processingIds?: string[];
  /** default true */
  requireControlId?: boolean;
  /** default 'AR' (HL7); ANS partners expect 'AE' */
  versionRejectCode?: 'AR' | 'AE';
}

export type Acceptance =
  | { accepted: true; warnings: ErrDetail[] }
  | { accepted: false; outcome: 'reject' | 'error'; errors: ErrDetail[]; reason: string };

function refuse(outcome: 'reject' | 'error', hl7Code: number, field: number, reason: string, component?: number): Acceptance {
  const location = { segment: 'MSH', sequence: 1, field, ...(component ? { component } : {}) };
  return { accepted: false, outcome, reason, errors: [{ hl7Code, severity: 'E', location, diagnostic: reason }] };
}

function versionMatches(version: string, wanted: string): boolean {
  return version === wanted || version.startsWith(`${wanted}.`);
}

/** Checks, in order: type (200), event (201), processing id (202), version (203), MSH-10 (101). */
export function accept(msg: Message, profile: AcceptanceProfile): Acceptance {
  const code = msg.messageCode;
  const event = msg.triggerEvent;
  const wanted = profile.messageTypes.map((t) => {
    const [c, e] = t.split('^');
    return { code: c, event: e ?? '' };
  });
  const sameCode = wanted.filter((w) => w.code === code);
  if (sameCode.length === 0) {
    return refuse('reject', 200, 9, `message type ${JSON.stringify(code)} is not accepted on this channel`, 1);
  }
  if (!sameCode.some((w) => w.event === '' || w.event === event)) {
    return refuse('reject', 201, 9, `event ${JSON.stringify(`${code}^${event}`)} is not accepted on this channel`, 2);
  }
  const pid = msg.processingId;
  if (!(profile.processingIds ?? ['P', 'D', 'T']).includes(pid)) {
    return refuse('reject', 202, 11, `processing id ${JSON.stringify(pid)} is not accepted on this channel`);
  }
  const version = msg.version;
  if (profile.versions && profile.versions.length > 0 && !profile.versions.some((v) => versionMatches(version, v))) {
    const outcome = profile.versionRejectCode === 'AE' ? 'error' : 'reject';
    return refuse(outcome, 203, 12, `version ${JSON.stringify(version)} is not supported (expected ${profile.versions.join(', ')})`);
  }
  if ((profile.requireControlId ?? true) && msg.controlId.trim() === '') {
    return refuse('reject', 101, 10, 'MSH-10 (message control id) is missing: the message cannot be acknowledged');
  }
  const warnings: ErrDetail[] = [];
  if (msg.messageStructure === '') {
    // v2.3-era senders omit MSH-9.3; accepted, the structure is derived from the event
    warnings.push({ hl7Code: 0, severity: 'I', location: { segment: 'MSH', sequence: 1, field: 9, component: 3 }, diagnostic: 'MSH-9.3 (message structure) is empty' });
  }
  return { accepted: true, warnings };
}

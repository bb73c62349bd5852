/** What both stores share for retention (types.ts "Retention"; engine/channels/retention.ts runs it). */
import { createHash } from 'node:crypto';
import type { MessageState, RetentionCandidate, RetentionNote, RetentionState, TrimRequest } from './types';
import { RETENTION_NOTE, RETENTION_STATES } from './types';

/** Name of the mark of the last report read by refreshPatientActivity. */
export const PATIENTS_MARK = 'report_patients';

/** Refuses any state retention may not touch: a waiting, retrying, dead-lettered or refused message is never removed or trimmed. */
export function checkRetentionStates(states: readonly string[]): void {
  if (!Array.isArray(states) || states.length === 0) throw new TypeError('retention: states must be a non-empty list');
  for (const s of states) {
    if (!(RETENTION_STATES as readonly string[]).includes(s)) throw new TypeError(`retention never acts on messages in state ${JSON.stringify(s)} (only ${RETENTION_STATES.join(', ')})`);
  }
}

export function checkTrim(how: TrimRequest): void {
  if (!how || (how.mode !== 'metadata' && how.mode !== 'content-after-delivery')) throw new TypeError(`trimMessages: unknown mode ${JSON.stringify(how?.mode)}`);
  if (!Number.isInteger(how.excerptBytes) || how.excerptBytes < 0) throw new TypeError('trimMessages: excerptBytes must be an integer >= 0');
  if (!(how.olderThan instanceof Date) || Number.isNaN(how.olderThan.getTime())) throw new TypeError('trimMessages: olderThan must be a valid Date');
  checkRetentionStates(how.states);
}

/** The patient identifiers of a report's `patient` (engine/reports/state.ts PatientKeys), as JSON text. */
export function patientIdsOf(patient: string | object | null): string[] {
  if (patient === null) return [];
  let p: { ins?: unknown; local?: unknown };
  try {
    p = (typeof patient === 'string' ? JSON.parse(patient) : patient) as typeof p;
  } catch {
    return [];
  }
  const out: string[] = [];
  if (typeof p?.ins === 'string' && p.ins !== '') out.push(`ins:${p.ins}`);
  if (Array.isArray(p?.local)) for (const l of p.local) if (typeof l === 'string' && l !== '') out.push(`local:${l}`);
  return out;
}

export interface RetentionDbRow {
  seq: number | string;
  id: string;
  state: MessageState;
  received_at: number | Date;
  updated_at: number | Date;
  raw_bytes: number | string;
  has_contents: number | boolean;
}

export function retentionCandidateOf(r: RetentionDbRow): RetentionCandidate {
  return {
    id: r.id,
    seq: Number(r.seq),
    state: r.state,
    receivedAt: new Date(r.received_at),
    updatedAt: new Date(r.updated_at),
    rawBytes: Number(r.raw_bytes),
    hasContents: r.has_contents === true || r.has_contents === 1,
  };
}

/**
 * What a trim writes: the raw message kept (an excerpt, or nothing) and the note, which keeps
 * the size and hash of the original across a second trim (a mode changed from metadata to
 * content-after-delivery). Undefined when there is nothing left to trim.
 */
export function trimPlan(raw: Buffer, contents: readonly string[], how: TrimRequest, at: string, previous: Buffer | undefined): { raw: Buffer; note: Buffer } | undefined {
  const kept = how.mode === 'metadata' ? raw.subarray(0, how.excerptBytes) : raw.subarray(0, 0);
  const dropped = contents.filter((n) => n !== RETENTION_NOTE);
  if (kept.length === raw.length && dropped.length === 0) return undefined;
  let before: Partial<RetentionNote> = {};
  try {
    if (previous) before = JSON.parse(previous.toString('utf8')) as RetentionNote;
  } catch {
    before = {};
  }
  const note: RetentionNote = {
    mode: how.mode,
    rawBytes: typeof before.rawBytes === 'number' ? before.rawBytes : raw.length,
    sha256: typeof before.sha256 === 'string' ? before.sha256 : createHash('sha256').update(raw).digest('hex'),
    keptBytes: kept.length,
    contents: [...new Set([...(Array.isArray(before.contents) ? before.contents : []), ...dropped])],
    at,
  };
  return { raw: Buffer.from(kept), note: Buffer.from(JSON.stringify(note), 'utf8') };
}

export type { RetentionState };

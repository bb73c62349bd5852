/**
 * Applies one message's results to a report (../shared/docs/hl7-lab.md §5.3): each result
 * message is a cumulative snapshot of its filler order, so observations are upserted per
 * (OBX-3, OBX-4) within the order; OBX-11 C replaces a final value and keeps the old one in the
 * history; D/W removes it; X marks a test that cannot be done. A late P/R never overwrites a
 * stored F/C: status rank first, then OBX-19 / OBR-22 times. What cannot be ordered safely is
 * parked with a reason, never guessed. A message about another patient is refused whole.
 *
 * Pure: state in, state out. The store persists it; the caller decides what a change publishes.
 */
import type { Organization, Patient, Report, Request, Result, ResultCode, Withdrawal } from '../lab';
import { cloneReport } from './serialize';
import type { ObservationEntry, ParkedItem, PatientKeys, ReportHeader, ReportState, RequestEntry } from './state';

/** The part of one message about one report: its requests (with results and withdrawals). */
export interface ReportUpdate {
  messageId: string;
  lab: string;
  fillerOrder: string;
  /**
   * A subcontractor's results for our report: where they go if that report does not exist
   * (their own filling lab and number, kept, never published on their own).
   */
  subcontractor?: { lab: string; fillerOrder: string };
  patient: Patient;
  header: ReportHeader;
  requests: Request[];
}

export type Change =
  | { kind: 'added'; key: string }
  | { kind: 'updated'; key: string; endedBy: 'correction' | 'update' }
  | { kind: 'withdrawn'; key: string }
  | { kind: 'request'; key: string }
  | { kind: 'identity-completed'; what: 'ins' | 'local' };

export type ApplyOutcome =
  /** `changes` empty: nothing new (a resend, or the same snapshot again). */
  | { kind: 'applied'; state: ReportState; changes: Change[]; parked: ParkedItem[] }
  /** The message names another patient than the report's: nothing applied. */
  | { kind: 'identity-mismatch'; detail: string };

/**
 * `<LOINC>|<local code>^<system>|<OBX-4>`: what makes two OBX the same observation. Only the
 * codes the sender sent count: a LOINC the lab's transcoding added is left out.
 */
export function observationKey(code: ResultCode, subId?: string): string {
  const local = code.local ? `${code.local.code}^${code.local.systemName ?? ''}` : '';
  const loinc = code.transcoded ? '' : (code.loinc?.code ?? '');
  return `${loinc}|${local}|${subId ?? ''}`;
}

function requestKey(r: Request): string {
  return observationKey(r.code);
}

export function patientKeys(p: Patient): PatientKeys {
  const keys: PatientKeys = { local: [] };
  if (p.insReceived) keys.ins = `${p.insReceived.oid}:${p.insReceived.matricule}`;
  for (const id of p.identifiers) {
    if ((id.type ?? 'PI').toUpperCase() !== 'PI') continue;
    keys.local.push(`${id.authorityOid ?? id.authorityName ?? ''}:${id.id}`);
  }
  return keys;
}

/** Why `incoming` is not the patient of `known`, or undefined when nothing disagrees. */
function identityConflict(known: PatientKeys, incoming: PatientKeys): string | undefined {
  if (known.ins && incoming.ins && known.ins !== incoming.ins) return 'INS differs from the one the report was opened with';
  const authority = (k: string): string => k.slice(0, k.lastIndexOf(':'));
  for (const k of incoming.local) {
    const same = known.local.filter((x) => authority(x) === authority(k));
    if (same.length > 0 && !same.includes(k)) return `local identifier of authority ${JSON.stringify(authority(k))} differs from the one the report was opened with`;
  }
  return undefined;
}

/** F/C/X (a fact) > P/R/S (a value not final) > I/O (nothing yet). */
function rank(r: { status: Result['status'] }): number {
  switch (r.status) {
    case 'final':
    case 'corrected':
    case 'cancelled':
      return 3;
    case 'preliminary':
      return 2;
    default:
      return 1;
  }
}

/** Times compare on their first 14 digits (time zone ignored), as in engine/lab. */
function timeKey(ts: string | undefined): string | undefined {
  return ts === undefined ? undefined : ts.replace(/[^0-9]/g, '').slice(0, 14).padEnd(14, '0');
}

/** Same value as rendered: the result id (r1, r2… of its message) does not count. */
function sameContent(a: Result, b: Result): boolean {
  return JSON.stringify({ ...a, id: '' }) === JSON.stringify({ ...b, id: '' });
}

export function emptyReport(update: ReportUpdate): ReportState {
  return {
    lab: update.lab,
    fillerOrder: update.fillerOrder,
    patient: patientKeys(update.patient),
    patientRecord: update.patient,
    header: update.header,
    revision: 0,
    requests: [],
    observations: [],
    parked: [],
    messages: [],
  };
}

export function applyUpdate(current: ReportState | undefined, update: ReportUpdate): ApplyOutcome {
  const base = current ?? emptyReport(update);
  if (base.messages.includes(update.messageId)) return { kind: 'applied', state: base, changes: [], parked: [] };
  const incoming = patientKeys(update.patient);
  const conflict = identityConflict(base.patient, incoming);
  if (conflict) return { kind: 'identity-mismatch', detail: conflict };

  const state = cloneReport(base);
  const changes: Change[] = [];
  const parked: ParkedItem[] = [];
  const at = new Map(state.observations.map((e, i) => [e.key, i]));

  if (!state.patient.ins && incoming.ins) {
    state.patient.ins = incoming.ins;
    changes.push({ kind: 'identity-completed', what: 'ins' });
  }
  const newLocal = incoming.local.filter((k) => !state.patient.local.includes(k));
  if (newLocal.length > 0) {
    state.patient.local.push(...newLocal);
    changes.push({ kind: 'identity-completed', what: 'local' });
  }

  for (const request of update.requests) {
    const rKey = requestKey(request);
    upsertRequest(state.requests, request, rKey, update.messageId, changes);
    for (const result of request.results) {
      const key = observationKey(result.code, result.subId);
      const i = at.get(key);
      if (i === undefined) {
        at.set(key, state.observations.length);
        state.observations.push({ key, requestKey: rKey, current: result, messageId: update.messageId, history: [] });
        changes.push({ kind: 'added', key });
        continue;
      }
      const verdict = decide(state.observations[i]!, result);
      if (verdict.kind === 'park') {
        parked.push({ messageId: update.messageId, observationKey: key, reason: verdict.reason, detail: verdict.detail, result });
        continue;
      }
      if (verdict.kind === 'same') continue;
      const e = state.observations[i]!;
      if (e.current) e.history.push({ result: e.current, messageId: e.messageId, endedBy: verdict.endedBy });
      e.current = result;
      delete e.withdrawn;
      e.requestKey = rKey;
      e.messageId = update.messageId;
      changes.push(e.history.length > 0 ? { kind: 'updated', key, endedBy: verdict.endedBy } : { kind: 'added', key });
    }
    for (const w of request.withdrawn ?? []) {
      const key = observationKey(w.code, w.subId);
      const e = state.observations[at.get(key) ?? -1];
      if (!e?.current) continue; // nothing stored to take back
      const storedAt = timeKey(e.current.statusAt);
      const wAt = timeKey(w.at);
      if (storedAt && wAt && wAt < storedAt) {
        parked.push({ messageId: update.messageId, observationKey: key, reason: 'older', detail: `withdrawal dated ${w.at} is older than the stored value (${e.current.statusAt})`, withdrawal: w });
        continue;
      }
      e.history.push({ result: e.current, messageId: e.messageId, endedBy: 'withdrawal' });
      delete e.current;
      e.withdrawn = withdrawalRecord(w, update.messageId);
      e.messageId = update.messageId;
      changes.push({ kind: 'withdrawn', key });
    }
  }

  // A subcontractor's results fused into our report bring their message's header (their
  // dossier, no prescriber): our report keeps its own header and patient record.
  const fusedIntoOurs = !!update.subcontractor && !!current && update.lab !== update.subcontractor.lab;
  if (!fusedIntoOurs) {
    state.patientRecord = update.patient;
    // A sharing choice stays until a later message states another one (a refusal is not lost to a message that says nothing).
    const sharing = { ...state.header?.sharing, ...update.header.sharing };
    state.header = Object.keys(sharing).length > 0 ? { ...update.header, sharing } : update.header;
  }
  state.messages.push(update.messageId);
  state.parked.push(...parked);
  if (changes.length > 0) state.revision++;
  return { kind: 'applied', state, changes, parked };
}

type Verdict = { kind: 'same' } | { kind: 'replace'; endedBy: 'correction' | 'update' } | { kind: 'park'; reason: ParkedItem['reason']; detail: string };

/** What an incoming value does to a stored observation. */
function decide(e: ObservationEntry, incoming: Result): Verdict {
  const stored = e.current;
  if (!stored) {
    // Withdrawn earlier: a value sent again comes back, unless it predates the withdrawal.
    const wAt = timeKey(e.withdrawn?.at);
    const inAt = timeKey(incoming.statusAt);
    if (wAt && inAt && inAt < wAt) return { kind: 'park', reason: 'older', detail: `value dated ${incoming.statusAt} predates the withdrawal (${e.withdrawn?.at})` };
    return { kind: 'replace', endedBy: 'update' };
  }
  if (sameContent(stored, incoming)) return { kind: 'same' };
  const rIn = rank(incoming);
  const rStored = rank(stored);
  if (rIn < rStored) {
    return { kind: 'park', reason: 'late-lower-status', detail: `a ${incoming.status} value arrived after a ${stored.status} one` };
  }
  const endedBy = incoming.status === 'corrected' ? 'correction' : 'update';
  if (rIn > rStored) return { kind: 'replace', endedBy };
  const inAt = timeKey(incoming.statusAt);
  const storedAt = timeKey(stored.statusAt);
  if (inAt && storedAt) {
    if (inAt < storedAt) return { kind: 'park', reason: 'older', detail: `value dated ${incoming.statusAt} is older than the stored one (${stored.statusAt})` };
    if (inAt > storedAt) return { kind: 'replace', endedBy };
  }
  // Same rank and no time that orders them. Below final, snapshots arrive in order (MLLP keeps
  // order per connection): the later one stands. A final value changes only by a correction.
  if (rIn < 3 || incoming.status === 'corrected') return { kind: 'replace', endedBy };
  return {
    kind: 'park',
    reason: 'final-changed-without-correction',
    detail: `a ${stored.status} value was sent again with another content, without OBX-11 C and without a later OBX-19 / OBR-22`,
  };
}

function withdrawalRecord(w: Withdrawal, messageId: string): NonNullable<ObservationEntry['withdrawn']> {
  return w.at ? { reason: w.reason, at: w.at, messageId } : { reason: w.reason, messageId };
}

function upsertRequest(entries: RequestEntry[], request: Request, key: string, messageId: string, changes: Change[]): void {
  const { results: _results, isolates: _isolates, withdrawn: _withdrawn, ...header } = request;
  const e = entries.find((x) => x.key === key);
  if (!e) {
    entries.push({ key, request: header, messageId });
    changes.push({ kind: 'request', key });
    return;
  }
  if (JSON.stringify({ ...e.request, id: '' }) === JSON.stringify({ ...header, id: '' })) return;
  // A late message (lower OBR-25 rank) says nothing newer about the request.
  if (rank(header) < rank(e.request)) return;
  e.request = header;
  e.messageId = messageId;
  changes.push({ kind: 'request', key });
}

/** Observations still waiting for a final value (pending or preliminary), by key. */
export function pendingObservations(state: ReportState): string[] {
  return state.observations.filter((e) => e.current && rank(e.current) < 3).map((e) => e.key);
}

/**
 * The parts of one message's report per report key: requests grouped by (filling lab, filler
 * order number). The lab is OBR-3.2 when sent, else `defaultLab` (the channel's). Requests
 * without a filler order number cannot be attached to a report: they come back in `unkeyed`.
 *
 * With `ownFillers` (the OBR-3 namespaces this lab assigns), a request filled by another lab
 * whose placer number is in one of our namespaces is a subcontractor's result (ILW) for our
 * report of that number: it goes there (`subcontractor` says where it goes instead if we have
 * no such report), to be fused with our own results, naming its performing lab (OBX-23..25).
 * Filled by another lab for anything else, it stays in a report of that lab's (kept, never
 * published on its own: DOC.14).
 */
export function splitByReport(report: Report, messageId: string, defaultLab: string, ownFillers?: readonly string[]): { updates: ReportUpdate[]; unkeyed: Request[] } {
  const { requests: _r, patient, completeness: _c, validatedAt: _v, validator: _p, autoValidated: _a, ...header } = report;
  const byKey = new Map<string, ReportUpdate>();
  const unkeyed: Request[] = [];
  for (const r of report.requests) {
    if (!r.fillerOrder) {
      unkeyed.push(r);
      continue;
    }
    const own = (ns: string): boolean => ns === defaultLab || !!ownFillers?.includes(ns);
    const forOurReport = !!ownFillers && r.fillerAuthority !== undefined && !own(r.fillerAuthority) && !!r.placerOrder && r.placerAuthority !== undefined && own(r.placerAuthority);
    const lab = forOurReport ? r.placerAuthority! : (r.fillerAuthority ?? defaultLab);
    const fillerOrder = forOurReport ? r.placerOrder! : r.fillerOrder;
    const k = `${lab}\u0000${fillerOrder}`;
    let u = byKey.get(k);
    if (!u) {
      u = { messageId, lab, fillerOrder, patient, header, requests: [] };
      if (forOurReport) u.subcontractor = { lab: r.fillerAuthority!, fillerOrder: r.fillerOrder };
      byKey.set(k, u);
    }
    u.requests.push(forOurReport ? withPerformingLab(r, report.sendingFacility) : r);
  }
  return { updates: [...byKey.values()], unkeyed };
}

/**
 * A subcontractor's results name their performing lab: OBX-23..25, else OBX-15, else the
 * message's MSH-4 (../shared/docs/hl7-lab.md §5.3, item 7), so the fused version says who did them.
 */
function withPerformingLab(r: Request, sender: Organization | undefined): Request {
  if (r.results.every((x) => x.performer)) return r;
  const results = r.results.map((x) => {
    const organization = x.performer ? undefined : (x.producer ?? sender);
    return organization ? { ...x, performer: { organization } } : x;
  });
  const out: Request = { ...r, results };
  const first = results[0]?.performer;
  if (!out.performer && first && results.every((x) => x.performer && JSON.stringify(x.performer.organization) === JSON.stringify(first.organization))) out.performer = first;
  return out;
}

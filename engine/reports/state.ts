/**
 * A report across messages (issue 8, docs/design.md "Reports across messages"): one lab file,
 * keyed by the filling lab and its filler order number (OBR-3), whose results arrive over
 * several ORU / OUL — partial, final, corrections that resend only the changed OBX, withdrawals.
 * Plain JSON: the store keeps it as it is, and a version is rendered from it.
 */
import type { Patient, Report, Request, Result, Withdrawal } from '../lab';

/** Who the report is about, fixed by its first message; later messages must agree. */
export interface PatientKeys {
  /** `<INS OID>:<matricule>` as received (qualified or not). */
  ins?: string;
  /** `<assigning authority>:<id>` of each PI (IPP) identifier. */
  local: string[];
}

/** An earlier value of an observation, and what took its place. */
export interface ObservationVersion {
  result: Result;
  messageId: string;
  /** What ended it: a correction (OBX-11 C), a later status or value, or a withdrawal. */
  endedBy: 'correction' | 'update' | 'withdrawal';
  /** Set when an operator's decision on a parked item ended it: who and when (engine/reports/parked-actions.ts). */
  by?: string;
}

/** One observation of the report: (OBX-3, OBX-4) within the filler order. */
export interface ObservationEntry {
  key: string;
  /** Key of the request (OBR-4) it was last sent under. */
  requestKey: string;
  /** The value now; absent once withdrawn. */
  current?: Result;
  withdrawn?: { reason: Withdrawal['reason']; at?: string; messageId: string };
  /** Message that set `current` (or the withdrawal). */
  messageId: string;
  /** Earlier values, oldest first. */
  history: ObservationVersion[];
}

/** One requested test or battery (OBR-4) of the report, without its results. */
export interface RequestEntry {
  key: string;
  request: Omit<Request, 'results' | 'isolates' | 'withdrawn'>;
  messageId: string;
}

/** Something a message said that was not applied, kept for an operator with the reason. */
export interface ParkedItem {
  messageId: string;
  observationKey: string;
  reason: ParkReason;
  detail: string;
  result?: Result;
  withdrawal?: Withdrawal;
}

export type ParkReason =
  /** A lower status (P/R/I) after a final or corrected value. */
  | 'late-lower-status'
  /** The same status rank with an older OBX-19 / OBR-22 than the stored value. */
  | 'older'
  /** A final value changed without OBX-11 C and without times to tell which is newer. */
  | 'final-changed-without-correction';

export interface ReportState {
  /** Filling lab: OBR-3.2 namespace, else the channel's lab. */
  lab: string;
  /** OBR-3.1. */
  fillerOrder: string;
  patient: PatientKeys;
  /** The patient as the latest applied message described them. */
  patientRecord: Patient;
  /** Report-level facts (dossier, prescriber, copies, comments) of the latest applied message. */
  header: ReportHeader;
  /** Bumped by every message that changed something. */
  revision: number;
  requests: RequestEntry[];
  /** In the order first seen, which is the order a version lists them. */
  observations: ObservationEntry[];
  parked: ParkedItem[];
  /** Ids of the messages applied, oldest first: applying one twice changes nothing. */
  messages: string[];
  /** What operators did to the report, oldest first (docs/design.md "Operator actions"). */
  actions?: ReportAction[];
}

/** One operator action on a report: a parked item accepted or dropped, subcontracted results fused or dropped, a version asked for. */
export interface ReportAction {
  action: 'accept-parked' | 'drop-parked' | 'accept-subcontracted' | 'drop-subcontracted' | 'publish';
  /** Who (`console:alice`, `cli:bob`) and when (ISO time). */
  by: string;
  at: string;
  note?: string;
  /** The parked item decided on. */
  item?: ParkedItem;
  /** The sub-order whose results were decided on. */
  subOrder?: string;
  /** What it gave (the publisher's words, a version number). */
  outcome?: string;
}

/** What a message says of the whole report, apart from its requests. */
export type ReportHeader = Omit<Report, 'requests' | 'patient' | 'completeness' | 'validatedAt' | 'validator' | 'autoValidated'>;

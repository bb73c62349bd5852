/**
 * The message store is the source of truth (see docs/design.md, "Intake guarantee").
 * Redis/BullMQ only carries message ids; everything needed to redo work lives here.
 */
import type { DirectoryBatch, DirectoryKind, DirectoryLoad, DirectoryLoadCounts, DirectoryLookup } from './directory-types';
export type * from './directory-types';

/** Life of a message. Terminal states: done, filtered, refused, dead, discarded. */
export type MessageState =
  | 'received' // committed, ACK sent (or about to be); not yet picked by the channel
  | 'processing' // the inbound stage (filter/transform) is running or retrying
  | 'routed' // transformed; destination deliveries pending
  | 'done' // every destination delivered
  | 'filtered' // dropped by the channel's filter on purpose
  | 'refused' // refused at acceptance (NAK sent); kept for operators
  | 'dead' // failed permanently or exhausted retries; `reason` says why; can be reprocessed
  | 'discarded'; // a dead message an operator closed for good; `reason` says who, when and why

export const TERMINAL_STATES: readonly MessageState[] = ['done', 'filtered', 'refused', 'dead', 'discarded'];

export type DeliveryState = 'pending' | 'delivered' | 'dead';

export interface InboundMessage {
  channel: string;
  /** MSH-10; may be '' when the message had none (refused ones). */
  controlId: string;
  /** Sending application and facility as on the wire: `MSH-3|MSH-4`. Part of the dedupe key. */
  sender: string;
  /** e.g. `ORU^R01`. */
  messageType: string;
  /** Ordering key (placer order number, else patient id); '' when none. */
  orderingKey: string;
  /** Charset the raw bytes were decoded with. */
  charset: string;
  /** The frame exactly as received. */
  raw: Buffer;
  /** The ACK/NAK that will be written to the socket once this commit resolves. */
  ack: Buffer;
  receivedAt: Date;
  /** Initial state: `received` for accepted messages, `refused` for NAKed ones. */
  state: 'received' | 'refused';
  /** For refused messages: why. */
  reason?: string;
  /** What operators look it up by (accepted messages; refused ones may have none). */
  keys?: MessageKey[];
}

export interface StoredMessage {
  id: string;
  /** Monotonic per store; arrival order. */
  seq: number;
  channel: string;
  controlId: string;
  sender: string;
  messageType: string;
  orderingKey: string;
  charset: string;
  receivedAt: Date;
  state: MessageState;
  /** Reason of the last failure (machine code first, e.g. `PSL_DEST_CONNECT: ...`). */
  reason: string | null;
  ack: Buffer;
  updatedAt: Date;
}

export type ReceiveResult =
  /**
   * `stored`, when present, settles once the message can be read back through the store's
   * other calls (a journalled intake indexes it a moment after the ACK; enqueue it then).
   */
  | { duplicate: false; id: string; stored?: Promise<void> }
  /** Same (channel, sender, controlId) inside the dedupe window: replay `ack`, process nothing. */
  | { duplicate: true; id: string; ack: Buffer };

export interface DeliveryRecord {
  messageId: string;
  destination: string;
  state: DeliveryState;
  attempts: number;
  detail: string | null;
  updatedAt: Date;
}

/**
 * A delivery not yet done for one destination: opened when the message is routed (or a dead
 * delivery is reprocessed), closed when it is delivered or dead-lettered. A destination's line
 * advances on these rows only, so a stuck destination never slows another one.
 */
export interface OpenDelivery {
  messageId: string;
  seq: number;
  channel: string;
  destination: string;
  orderingKey: string;
  /** When the row was (re)opened; recovery leaves very fresh rows to their own stage. */
  openedAt: Date;
}

/** What `repairRouted` did with one page of routed messages. */
export interface RepairPage {
  /** Seq of the last routed message looked at (page cursor); `afterSeq` when none. */
  lastSeq: number;
  /** Routed messages looked at (0: the scan is over). */
  scanned: number;
  /** Routed messages of the page with no open delivery left for the given destinations. */
  settled: string[];
}

/** A channel's budget for refused messages (docs/channels.md `refusals`). */
export interface RefusalQuota {
  /** Refused messages kept; the oldest beyond are deleted. */
  maxCount: number;
  /** Bytes (stored raw + NAK) of refused messages kept; the oldest beyond are deleted. */
  maxBytes: number;
}

/** A report's accumulated state (engine/reports), as JSON text, with the version of its row. */
export interface StoredReport {
  lab: string;
  fillerOrder: string;
  state: string;
  /** 1 at the first write, + 1 at each: what `putReport` compares before writing. */
  rowVersion: number;
  updatedAt: Date;
}

/** One delivery of a report version to one target (engine/delivery: PFI, DMP, MSSanté…), as the store keeps it. */
export interface StoredVersionDelivery {
  lab: string;
  fillerOrder: string;
  version: number;
  /**
   * Destination and recipient, e.g. `pfi`; a receipt of what the PFI did with it:
   * `pfi>dmp`, `pfi>mss:<address>`, `pfi>read:<address>` (ZAM^Z01 / Z02 / Z03).
   */
  target: string;
  /**
   * queued → sent (the peer took it); held (the version failed the full ANS set); dead (given
   * up). Receipts: acknowledged (done over there) or failed (refused there, with the reason).
   */
  state: 'queued' | 'sent' | 'held' | 'dead' | 'acknowledged' | 'failed';
  /** Remote id (MSH-10, Message-ID, entryUUID) or the reason of a hold / a death. */
  detail: string | null;
  updatedAt: Date;
}

/** A lab order (engine/orders), as JSON text, with the version of its row. */
export interface StoredOrder {
  /** `<placer namespace>|<placer order number>` (engine/orders/state.ts orderKey). */
  key: string;
  state: string;
  /** 1 at the first write, + 1 at each: what `putOrder` compares before writing. */
  rowVersion: number;
  updatedAt: Date;
}

/** One published version of a report (engine/reports/versions.ts), as the store keeps it. */
export interface StoredReportVersion {
  lab: string;
  fillerOrder: string;
  version: number;
  /** `deleted`: the deletion of the version before; `active` / `completed`: a document set. */
  status: 'active' | 'completed' | 'deleted';
  contentHash: string;
  /** Report revision it was made from. */
  revision: number;
  /** False from the reservation until its documents are written. */
  written: boolean;
  createdAt: Date;
}

/**
 * What operators look a message up by (issue 10): extracted from the parsed message at intake
 * (engine/channels/search-keys.ts), stored with it, indexed by (kind, value).
 * - `ins`: the INS (NIR / NIA, 15 characters) of PID-3, whatever its qualification;
 * - `patient`: a local patient id of PID-3 (the id alone, without its authority);
 * - `order`: a placer / filler order number or lab file number (ORC-2/3, OBR-2/3, the id alone).
 */
export interface MessageKey {
  kind: 'ins' | 'patient' | 'order';
  value: string;
}

/**
 * A message search (operators' console); every field narrows; newest first: by seq (store
 * order), except a date range searched without a key or control id, ordered by (receivedAt,
 * channel, seq) descending so that a page of a wide range costs its own rows. `beforeSeq` is
 * the seq of the last message of the previous page, in either order.
 */
export interface MessageQuery {
  channel?: string;
  state?: MessageState;
  /** received_at >= from */
  from?: Date;
  /** received_at < to */
  to?: Date;
  /** MSH-10, exact. */
  controlId?: string;
  /** Order / lab file number, exact (a `order` key). */
  order?: string;
  /** Local patient id, exact (a `patient` key). */
  patient?: string;
  /** INS, exact (an `ins` key). */
  ins?: string;
  /** Page cursor: the messages after this one in the search's order (seq < beforeSeq in store order). */
  beforeSeq?: number;
  /** At most this many (the caller bounds it, e.g. 100). */
  limit: number;
}

/** One destination of a channel as operators watch it (queue drill-down, /metrics). */
export interface DestinationStats {
  destination: string;
  /** Open deliveries (queued, retrying). */
  open: number;
  /**
   * When the oldest open delivery was opened (among the first 64 of the line in store order on
   * SQLite, where counting every row would stall the event loop during an outage); null when none.
   */
  oldestOpenAt: Date | null;
  /** Dead deliveries the store holds for it. */
  dead: number;
  /** Delivered in the last 1, 5 and 60 minutes (by delivery time; SQLite: within 10 s, counted per 10-second bucket). */
  delivered: { m1: number; m5: number; m60: number };
  /** The last few failures (dead or retrying with a reason), newest first, detail bounded to 500 characters. */
  lastFailures: { messageId: string; state: DeliveryState; detail: string; at: Date }[];
}

/** The inbound side of a channel as operators watch it. */
export interface ChannelStats {
  /** Message counts per state. */
  counts: StoreCounts;
  /** Received (any state) in the last 1, 5 and 60 minutes. */
  received: { m1: number; m5: number; m60: number };
  /**
   * When the oldest message not yet through the inbound stage (received / processing) was
   * received: the head of the line, in store order; null when none.
   */
  oldestInboundAt: Date | null;
  destinations: DestinationStats[];
}

/** Report version deliveries (DMP, MSSanté, PFI) per target kind, as operators watch them. */
export interface VersionDeliveryStats {
  /** `dmp`, `mss`, `pfi`, or a receipt kind such as `pfi>dmp`, `mss>dsn`. */
  kind: string;
  counts: { [state: string]: number };
  oldestQueuedAt: Date | null;
  lastFailures: { lab: string; fillerOrder: string; version: number; target: string; state: StoredVersionDelivery['state']; detail: string; at: Date }[];
}

/**
 * What the Ségur indicators (TBB.01/.03) count a version by, recorded when it is reserved:
 * the lab's geographic FINESS, the validating biologist's RPPS, and whether the patient's INS
 * was qualified.
 */
export interface VersionFacts {
  finess?: string;
  rpps?: string;
  insQualified: boolean;
}

/** One version delivery joined with its version's facts (engine/reports/indicators.ts counts these). */
export interface IndicatorRow extends VersionFacts {
  lab: string;
  fillerOrder: string;
  version: number;
  target: string;
  state: StoredVersionDelivery['state'];
  updatedAt: Date;
  /** The version's status when the store knows it: a `deleted` version is a withdrawal, not a CR-BIO sent. */
  status?: StoredReportVersion['status'];
}

/** Terminal states retention may remove or trim (never received, processing, routed, refused or dead: see RETENTION_STATES). */
export type RetentionState = 'done' | 'filtered' | 'discarded';
/**
 * States retention may act on: delivered, filtered out on purpose, or closed by an operator.
 * A message waiting, retrying, dead-lettered or refused is never touched (refusals have their
 * own quota); the stores refuse any other state.
 */
export const RETENTION_STATES: readonly RetentionState[] = ['done', 'filtered', 'discarded'];

/** A message as a retention pass sees it (no payload). */
export interface RetentionCandidate {
  id: string;
  seq: number;
  state: MessageState;
  receivedAt: Date;
  updatedAt: Date;
  /** Bytes of raw message stored now (0 once removed). */
  rawBytes: number;
  /** Contents (e.g. `transformed`) still stored, the retention note aside. */
  hasContents: boolean;
}

/**
 * How a message's payload is trimmed (channel `retention.storage`): `metadata` keeps the first
 * `excerptBytes` of the raw message; `content-after-delivery` keeps none. Both remove its
 * contents, and note what was there in the contents entry RETENTION_NOTE.
 */
export interface TrimRequest {
  mode: 'metadata' | 'content-after-delivery';
  excerptBytes: number;
  states: readonly RetentionState[];
  /** Only messages last updated before this (terminal for that long). */
  olderThan: Date;
}

/** Contents entry written when a message's payload is trimmed: JSON `RetentionNote`. */
export const RETENTION_NOTE = '#retention';
export interface RetentionNote {
  mode: TrimRequest['mode'];
  /** Size and SHA-256 of the raw message before trimming; bytes of it kept. */
  rawBytes: number;
  sha256: string;
  keptBytes: number;
  /** Names of the contents removed. */
  contents: string[];
  /** ISO time. */
  at: string;
}

/** Where a walk of reports by last change stopped (the last report it read). */
export interface ReportCursor {
  updatedAt: Date;
  lab: string;
  fillerOrder: string;
}

/** A report as document retention (SGL.DOC.20) sees it. */
export interface ReportActivity extends ReportCursor {
  /** The latest activity of its patient (any report sharing an INS or local id with it), or of the report itself. */
  lastActivity: Date;
  /** Versions published. */
  versions: number;
  /** When its documents were archived; null when not. */
  archivedAt: Date | null;
}

export interface RefusalStats {
  /** Refused messages the store holds for the channel. */
  count: number;
  /** Their stored bytes (raw excerpt + NAK). */
  bytes: number;
  /** Refused messages deleted by the quota since the store was created. */
  dropped: number;
}

export interface StoreCounts {
  [state: string]: number;
}

export interface MessageStore {
  /** Creates tables if needed. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;

  /**
   * Inserts the message and its ACK in one durable transaction, unless a message with the same
   * (channel, sender, controlId) was received less than `dedupeWindowMs` ago (0 = no dedupe;
   * empty controlIds are never deduplicated). Resolves only after the commit is durable.
   */
  receive(msg: InboundMessage, dedupeWindowMs: number): Promise<ReceiveResult>;

  get(id: string): Promise<StoredMessage | undefined>;
  /** The raw bytes of a message. */
  raw(id: string): Promise<Buffer | undefined>;
  setState(id: string, state: MessageState, reason?: string | null): Promise<void>;

  /** Named content attached to a message (e.g. `transformed`). Overwrites. */
  putContent(id: string, name: string, data: Buffer): Promise<void>;
  getContent(id: string, name: string): Promise<Buffer | undefined>;

  /**
   * Marks a transformed message `routed` and opens one delivery per destination (rows already
   * delivered or dead stay closed), in one transaction: recovery never sees a routed message
   * without its open deliveries.
   */
  route(id: string, destinations: readonly string[]): Promise<void>;

  /**
   * Upserts the delivery state of one destination; increments attempts when `attempt` is true.
   * `pending` (re)opens the destination's open delivery, `delivered`/`dead` close it, in the
   * same transaction.
   */
  setDelivery(id: string, destination: string, state: DeliveryState, detail?: string | null, attempt?: boolean): Promise<void>;
  getDelivery(id: string, destination: string): Promise<DeliveryRecord | undefined>;
  deliveries(id: string): Promise<DeliveryRecord[]>;

  /** Non-terminal messages of a channel in arrival order (seq ascending), after `afterSeq`. */
  pending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** Messages waiting for the inbound stage (received, processing), seq ascending, after `afterSeq`. */
  inboundPending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** Open deliveries of a channel in (seq, destination) order, after the given position (recovery). */
  openDeliveries(channel: string, afterSeq: number, afterDestination: string, limit: number): Promise<OpenDelivery[]>;
  /**
   * Start-up repair, one page of `routed` messages (seq > afterSeq): opens the delivery of every
   * destination named that has neither an open row nor a final (delivered/dead) one — databases
   * written before open deliveries existed, destinations added since — and reports the messages
   * left with no open delivery for these destinations (all final; the caller finishes them).
   */
  repairRouted(channel: string, destinations: readonly string[], afterSeq: number, limit: number): Promise<RepairPage>;
  /**
   * Earlier unfinished messages of one ordering key (seq < beforeSeq), oldest first. Without
   * `destination`: those not yet through the inbound stage (received, processing). With it:
   * those with an open delivery for that destination (whatever other destinations' state), one
   * indexed range of the open deliveries. Queue jobs are only triggers; this is what keeps
   * per-key order even when Redis lost jobs and newer ones arrived first.
   */
  earlierPending(channel: string, orderingKey: string, beforeSeq: number, limit: number, destination?: string): Promise<StoredMessage[]>;
  /** The search keys stored with a message. */
  messageKeys(id: string): Promise<MessageKey[]>;
  /** Operators' search (console); newest first; no payloads. */
  searchMessages(q: MessageQuery): Promise<StoredMessage[]>;
  /** A channel's inbound side and destinations, for the console and /metrics. */
  channelStats(channel: string, destinations: readonly string[], now?: Date): Promise<ChannelStats>;
  /** Report version deliveries grouped by target kind. */
  versionDeliveryStats(now?: Date): Promise<VersionDeliveryStats[]>;
  /** Version deliveries changed in [from, to), joined with their version's facts (indicators). */
  indicatorRows(from: Date, to: Date): Promise<IndicatorRow[]>;
  /** Messages of a channel in a state, newest first (operators' view). */
  list(channel: string, state: MessageState | undefined, limit: number): Promise<StoredMessage[]>;
  counts(channel: string): Promise<StoreCounts>;
  /**
   * Deletes terminal messages older than the date; returns how many. Chunked internally. Every
   * terminal state goes, dead and refused included: channel retention uses `deleteMessages`,
   * which never deletes those.
   */
  prune(olderThan: Date): Promise<number>;
  /**
   * Keeps the channel's refused messages within `quota`, deleting the oldest first, and adds
   * what it deleted to the channel's dropped counter (same transaction). Returns how many.
   */
  pruneRefusals(channel: string, quota: RefusalQuota): Promise<number>;
  /** What the channel's refused messages hold, and how many the quota dropped so far. */
  refusalStats(channel: string): Promise<RefusalStats>;
  /** The report of a filling lab's filler order number (engine/reports), if any. */
  getReport(lab: string, fillerOrder: string): Promise<StoredReport | undefined>;
  /** The reports of one filler order number, whatever the filling lab (operators' look-up). */
  reportsByFillerOrder(fillerOrder: string): Promise<StoredReport[]>;
  /**
   * Writes a report's state if its row is still at `expectedVersion` (null: no row yet).
   * False when another writer got there first: read it again and re-apply (compare-and-set;
   * two channels may update one report, e.g. our results and a subcontractor's).
   */
  putReport(lab: string, fillerOrder: string, state: string, expectedVersion: number | null): Promise<boolean>;
  /**
   * Reserves version `v.version` of a report (written = false). False when that number is
   * taken: versions are strictly increasing per report whoever publishes, the primary key
   * refusing a second writer of one number. A reservation left unwritten for `staleAfterMs`
   * (its writer died between reserving and writing) is taken over, with the new content.
   */
  reserveReportVersion(v: Omit<StoredReportVersion, 'written' | 'createdAt'> & { facts?: VersionFacts }, staleAfterMs: number): Promise<boolean>;
  /** The version's documents are written. */
  markReportVersionWritten(lab: string, fillerOrder: string, version: number): Promise<void>;
  /**
   * Gives back a reservation whose writer failed (its documents are not written): the next
   * attempt takes the same number at once instead of waiting for the lease. A written version
   * is never touched.
   */
  releaseReportVersion(lab: string, fillerOrder: string, version: number): Promise<void>;
  /** A report's versions, oldest first. */
  reportVersions(lab: string, fillerOrder: string): Promise<StoredReportVersion[]>;
  /** Records a version delivery's state (created queued, then moved on; a later state replaces an earlier one). */
  putVersionDelivery(d: Omit<StoredVersionDelivery, 'updatedAt'>): Promise<void>;
  /** A report's version deliveries, by version then target. */
  versionDeliveries(lab: string, fillerOrder: string): Promise<StoredVersionDelivery[]>;
  /** Version deliveries for operators: in a state, of a filler order number, newest first (at most `limit`). */
  findVersionDeliveries(filter: { state?: StoredVersionDelivery['state']; fillerOrder?: string; limit: number }): Promise<StoredVersionDelivery[]>;
  /**
   * Deliveries still queued, oldest first (at most `limit`), changed at or after `since` (ms
   * epoch, default 0): what a restart puts back on their lines, a page at a time.
   */
  queuedVersionDeliveries(limit: number, since?: number): Promise<StoredVersionDelivery[]>;
  /** An order (engine/orders) by its key, if any. */
  getOrder(key: string): Promise<StoredOrder | undefined>;
  /** Writes an order's state if its row is still at `expectedVersion` (null: no row yet); compare-and-set like putReport. */
  putOrder(key: string, state: string, expectedVersion: number | null): Promise<boolean>;
  /**
   * Links another number of an order to it (`filler:<lab>|<n>`, `sub:<lab>|<n>`). The first
   * link of a number wins; returns the order key the number is linked to afterwards.
   */
  linkOrder(ref: string, orderKey: string): Promise<string>;
  /** The order a number is linked to. */
  orderKeyOf(ref: string): Promise<string | undefined>;
  /** The next value of a named sequence (1, 2, …); a number handed out is never handed out again. */
  nextSequence(name: string): Promise<number>;

  // Retention (channel `retention`, engine/channels/retention.ts). Every call is one bounded
  // page or one short transaction: the pass pauses between them.

  /** A page of a channel's messages in `states` with seq > afterSeq, by seq (no payloads). */
  retentionCandidates(channel: string, states: readonly RetentionState[], afterSeq: number, limit: number): Promise<RetentionCandidate[]>;
  /**
   * Deletes these messages (contents, deliveries, keys with them) in one transaction, each only
   * if it is still in one of `states`, was received and last updated before `olderThan`, and
   * has no open delivery. Returns how many were deleted.
   */
  deleteMessages(ids: readonly string[], states: readonly RetentionState[], olderThan: Date): Promise<number>;
  /**
   * Trims the payload of these messages (TrimRequest), each only if it is still in one of
   * `states` and was last updated before `olderThan`; writes RETENTION_NOTE. Returns how many
   * were trimmed (a message already trimmed is not counted again).
   */
  trimMessages(ids: readonly string[], how: TrimRequest): Promise<number>;
  /**
   * Reads the patient identifiers (INS, local ids) of up to `limit` reports changed since the
   * last call, so that a patient's last activity is known across their reports. Returns how many
   * reports it read (0: up to date).
   */
  refreshPatientActivity(limit: number): Promise<number>;
  /**
   * One page of the reports last changed before `before`, oldest change first, after the
   * cursor: at most `limit` read, those whose patient's last activity is also before `before`
   * returned (`unarchived`: not archived yet). `next` is where to go on; undefined at the end.
   */
  inactiveReports(before: Date, which: 'unarchived' | 'any', after: ReportCursor | undefined, limit: number): Promise<{ reports: ReportActivity[]; next: ReportCursor | undefined }>;
  /** Notes that a report's documents were archived (moved out of the live folder). */
  markReportArchived(lab: string, fillerOrder: string, at: Date): Promise<void>;
  /** Deletes a report with its versions, their deliveries and what retention kept of it (SGL.DOC.20 purge). */
  purgeReport(lab: string, fillerOrder: string): Promise<void>;

  // RPPS / MSSanté directory (engine/directory; *-directory.ts). A load writes into a generation
  // of its own, invisible until directoryFinishLoad switches to it in one transaction.

  /** Opens a load of `kind` read from `file`; drops the rows of loads that never finished. Returns its id. */
  directoryBeginLoad(kind: DirectoryKind, file: string): Promise<number>;
  /** Writes one batch of the load's rows in one transaction (repeats of a key are kept once). */
  directoryPutBatch(loadId: number, batch: DirectoryBatch): Promise<void>;
  /**
   * Makes the load the current directory of its kind, in one transaction. Persons: whoever the
   * previous load listed and this one does not is kept, flagged inactive since now (or since
   * when they first went). The previous generation's rows are deleted afterwards.
   */
  directoryFinishLoad(loadId: number, counts: DirectoryLoadCounts): Promise<DirectoryLoad>;
  /** Records the load as failed with why and drops its rows: the current directory stays. */
  directoryFailLoad(loadId: number, error: string, counts: DirectoryLoadCounts): Promise<void>;
  /** The latest loads, newest first. */
  directoryLoads(limit: number): Promise<DirectoryLoad[]>;
  /** What the current directory says of a professional: RPPS (11 digits), national id (8 + RPPS) or ADELI. */
  directoryLookup(id: string): Promise<DirectoryLookup>;
  /** Takes (or renews) the one directory loader lease for `ttlMs`; false while another holder has it. */
  directoryLease(holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease back (only if `holder` has it). */
  directoryReleaseLease(holder: string): Promise<void>;
}

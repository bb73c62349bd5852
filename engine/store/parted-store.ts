/**
 * The MessageStore calls both stores pass on to their parts, listed once: SqliteStore and
 * PgStore keep their lifecycle and the intake path, and give this class their parts (messages,
 * search, stats, retention, reports, directory), each in its dialect's files (sqlite-*.ts, pg-*.ts).
 */
import type { DirectoryBatch, DirectoryKind, DirectoryLoad, DirectoryLoadCounts, DirectoryLookup } from './directory-types';
import type { ChannelStats, DeliveryRecord, DeliveryState, IndicatorRow, MessageKey, MessageQuery, MessageState, MessageStore, OpenDelivery, RefusalQuota, RefusalStats, RepairPage, ReportActivity, ReportCursor, RetentionCandidate, RetentionState, StoreCounts, StoredMessage, StoredOrder, StoredReport, StoredReportVersion, StoredVersionDelivery, TrimRequest, VersionDeliveryStats, VersionFacts } from './types';

export abstract class PartedStore {
  protected abstract readonly messages: Pick<MessageStore, 'get' | 'raw' | 'setState' | 'putContent' | 'getContent' | 'setDelivery' | 'route' | 'getDelivery' | 'deliveries' | 'pending' | 'earlierPending' | 'inboundPending' | 'openDeliveries' | 'repairRouted' | 'list' | 'counts'>;
  protected abstract readonly search: Pick<MessageStore, 'messageKeys' | 'searchMessages'>;
  protected abstract readonly stats: Pick<MessageStore, 'channelStats' | 'versionDeliveryStats' | 'indicatorRows'>;
  protected abstract readonly retention: Pick<MessageStore, 'prune' | 'pruneRefusals' | 'refusalStats' | 'retentionCandidates' | 'deleteMessages' | 'trimMessages' | 'refreshPatientActivity' | 'inactiveReports' | 'markReportArchived' | 'purgeReport'>;
  protected abstract readonly directory: Pick<MessageStore, 'directoryBeginLoad' | 'directoryPutBatch' | 'directoryFinishLoad' | 'directoryFailLoad' | 'directoryLoads' | 'directoryLookup' | 'directoryLease' | 'directoryReleaseLease'>;
  protected abstract readonly reports: Pick<MessageStore, 'getReport' | 'reportsByFillerOrder' | 'putReport' | 'reserveReportVersion' | 'markReportVersionWritten' | 'releaseReportVersion' | 'reportVersions' | 'putVersionDelivery' | 'versionDeliveries' | 'findVersionDeliveries' | 'queuedVersionDeliveries' | 'getOrder' | 'putOrder' | 'linkOrder' | 'orderKeyOf' | 'nextSequence'>;

  // Messages, their contents and deliveries: *-messages.ts.

  get(id: string): Promise<StoredMessage | undefined> {
    return this.messages.get(id);
  }

  raw(id: string): Promise<Buffer | undefined> {
    return this.messages.raw(id);
  }

  setState(id: string, state: MessageState, reason?: string | null): Promise<void> {
    return this.messages.setState(id, state, reason);
  }

  putContent(id: string, name: string, data: Buffer): Promise<void> {
    return this.messages.putContent(id, name, data);
  }

  getContent(id: string, name: string): Promise<Buffer | undefined> {
    return this.messages.getContent(id, name);
  }

  setDelivery(id: string, destination: string, state: DeliveryState, detail?: string | null, attempt?: boolean): Promise<void> {
    return this.messages.setDelivery(id, destination, state, detail, attempt);
  }

  route(id: string, destinations: readonly string[]): Promise<void> {
    return this.messages.route(id, destinations);
  }

  getDelivery(id: string, destination: string): Promise<DeliveryRecord | undefined> {
    return this.messages.getDelivery(id, destination);
  }

  deliveries(id: string): Promise<DeliveryRecord[]> {
    return this.messages.deliveries(id);
  }

  pending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.messages.pending(channel, afterSeq, limit);
  }

  earlierPending(channel: string, orderingKey: string, beforeSeq: number, limit: number, destination?: string): Promise<StoredMessage[]> {
    return this.messages.earlierPending(channel, orderingKey, beforeSeq, limit, destination);
  }

  inboundPending(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.messages.inboundPending(channel, afterSeq, limit);
  }

  openDeliveries(channel: string, afterSeq: number, afterDestination: string, limit: number): Promise<OpenDelivery[]> {
    return this.messages.openDeliveries(channel, afterSeq, afterDestination, limit);
  }

  repairRouted(channel: string, destinations: readonly string[], afterSeq: number, limit: number): Promise<RepairPage> {
    return this.messages.repairRouted(channel, destinations, afterSeq, limit);
  }

  list(channel: string, state: MessageState | undefined, limit: number): Promise<StoredMessage[]> {
    return this.messages.list(channel, state, limit);
  }

  counts(channel: string): Promise<StoreCounts> {
    return this.messages.counts(channel);
  }

  // Search keys and message search: *-search.ts.

  messageKeys(id: string): Promise<MessageKey[]> {
    return this.search.messageKeys(id);
  }

  searchMessages(q: MessageQuery): Promise<StoredMessage[]> {
    return this.search.searchMessages(q);
  }

  // The console's stats and the indicators' rows: *-stats.ts.

  channelStats(channel: string, destinations: readonly string[], now?: Date): Promise<ChannelStats> {
    return this.stats.channelStats(channel, destinations, now);
  }

  versionDeliveryStats(now?: Date): Promise<VersionDeliveryStats[]> {
    return this.stats.versionDeliveryStats(now);
  }

  indicatorRows(from: Date, to: Date): Promise<IndicatorRow[]> {
    return this.stats.indicatorRows(from, to);
  }

  // Pruning, refusal quotas and retention passes: *-retention.ts.

  prune(olderThan: Date): Promise<number> {
    return this.retention.prune(olderThan);
  }

  pruneRefusals(channel: string, quota: RefusalQuota): Promise<number> {
    return this.retention.pruneRefusals(channel, quota);
  }

  refusalStats(channel: string): Promise<RefusalStats> {
    return this.retention.refusalStats(channel);
  }

  retentionCandidates(channel: string, states: readonly RetentionState[], afterSeq: number, limit: number): Promise<RetentionCandidate[]> {
    return this.retention.retentionCandidates(channel, states, afterSeq, limit);
  }

  deleteMessages(ids: readonly string[], states: readonly RetentionState[], olderThan: Date): Promise<number> {
    return this.retention.deleteMessages(ids, states, olderThan);
  }

  trimMessages(ids: readonly string[], how: TrimRequest): Promise<number> {
    return this.retention.trimMessages(ids, how);
  }

  refreshPatientActivity(limit: number): Promise<number> {
    return this.retention.refreshPatientActivity(limit);
  }

  inactiveReports(before: Date, which: 'unarchived' | 'any', after: ReportCursor | undefined, limit: number): Promise<{ reports: ReportActivity[]; next: ReportCursor | undefined }> {
    return this.retention.inactiveReports(before, which, after, limit);
  }

  markReportArchived(lab: string, fillerOrder: string, at: Date): Promise<void> {
    return this.retention.markReportArchived(lab, fillerOrder, at);
  }

  purgeReport(lab: string, fillerOrder: string): Promise<void> {
    return this.retention.purgeReport(lab, fillerOrder);
  }

  // Reports, versions, version deliveries, orders and sequences: *-reports.ts.

  getReport(lab: string, fillerOrder: string): Promise<StoredReport | undefined> {
    return this.reports.getReport(lab, fillerOrder);
  }

  reportsByFillerOrder(fillerOrder: string): Promise<StoredReport[]> {
    return this.reports.reportsByFillerOrder(fillerOrder);
  }

  putReport(lab: string, fillerOrder: string, state: string, expectedVersion: number | null): Promise<boolean> {
    return this.reports.putReport(lab, fillerOrder, state, expectedVersion);
  }

  reserveReportVersion(v: Omit<StoredReportVersion, 'written' | 'createdAt'> & { facts?: VersionFacts }, staleAfterMs: number): Promise<boolean> {
    return this.reports.reserveReportVersion(v, staleAfterMs);
  }

  markReportVersionWritten(lab: string, fillerOrder: string, version: number): Promise<void> {
    return this.reports.markReportVersionWritten(lab, fillerOrder, version);
  }

  releaseReportVersion(lab: string, fillerOrder: string, version: number): Promise<void> {
    return this.reports.releaseReportVersion(lab, fillerOrder, version);
  }

  reportVersions(lab: string, fillerOrder: string): Promise<StoredReportVersion[]> {
    return this.reports.reportVersions(lab, fillerOrder);
  }

  putVersionDelivery(d: Omit<StoredVersionDelivery, 'updatedAt'>): Promise<void> {
    return this.reports.putVersionDelivery(d);
  }

  versionDeliveries(lab: string, fillerOrder: string): Promise<StoredVersionDelivery[]> {
    return this.reports.versionDeliveries(lab, fillerOrder);
  }

  findVersionDeliveries(f: { state?: StoredVersionDelivery['state']; fillerOrder?: string; limit: number }): Promise<StoredVersionDelivery[]> {
    return this.reports.findVersionDeliveries(f);
  }

  queuedVersionDeliveries(limit: number, since?: number): Promise<StoredVersionDelivery[]> {
    return this.reports.queuedVersionDeliveries(limit, since);
  }

  getOrder(key: string): Promise<StoredOrder | undefined> {
    return this.reports.getOrder(key);
  }

  putOrder(key: string, state: string, expectedVersion: number | null): Promise<boolean> {
    return this.reports.putOrder(key, state, expectedVersion);
  }

  linkOrder(ref: string, orderKey: string): Promise<string> {
    return this.reports.linkOrder(ref, orderKey);
  }

  orderKeyOf(ref: string): Promise<string | undefined> {
    return this.reports.orderKeyOf(ref);
  }

  nextSequence(name: string): Promise<number> {
    return this.reports.nextSequence(name);
  }

  // The RPPS / MSSanté directory: *-directory.ts.

  directoryBeginLoad(kind: DirectoryKind, file: string): Promise<number> {
    return this.directory.directoryBeginLoad(kind, file);
  }

  directoryPutBatch(loadId: number, batch: DirectoryBatch): Promise<void> {
    return this.directory.directoryPutBatch(loadId, batch);
  }

  directoryFinishLoad(loadId: number, counts: DirectoryLoadCounts): Promise<DirectoryLoad> {
    return this.directory.directoryFinishLoad(loadId, counts);
  }

  directoryFailLoad(loadId: number, error: string, counts: DirectoryLoadCounts): Promise<void> {
    return this.directory.directoryFailLoad(loadId, error, counts);
  }

  directoryLoads(limit: number): Promise<DirectoryLoad[]> {
    return this.directory.directoryLoads(limit);
  }

  directoryLookup(id: string): Promise<DirectoryLookup> {
    return this.directory.directoryLookup(id);
  }

  directoryLease(holder: string, ttlMs: number): Promise<boolean> {
    return this.directory.directoryLease(holder, ttlMs);
  }

  directoryReleaseLease(holder: string): Promise<void> {
    return this.directory.directoryReleaseLease(holder);
  }
}

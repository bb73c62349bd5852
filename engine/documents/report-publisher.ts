/**
 * Report version → validated document set (issue 8; docs/design.md "Reports across
 * messages"). Each result message updates the reports it names (engine/reports); when a report
 * changed in a way its channel publishes, the next version is rendered through the same
 * builders and official rules as any document, and written under
 * `<directory>/<filler order number>/v<version>/` (a deletion as `v<version>.deleted.json`).
 *
 * The order of writes makes a crash at any point harmless: the report's state first (a message
 * applied twice changes nothing), then the version number is reserved in the store (one writer
 * per number), then the files, then the version is marked written. A retry after a crash finds
 * the unwritten reservation and, once its lease has passed, writes that same version again.
 */
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { PasserelleError } from '../errors';
import type { Message } from '../hl7';
import { reportFromMessage, type Report } from '../lab';
import type { CrBioVersion, DocumentProfile, LabProfile, RenderOptions } from '../lab/profile';
import type { Transcoding } from '../lab/mappings';
import { TranscodingFiles } from '../lab/transcoding-files';
import { kitUnavailable, renderDocumentSet, type DocumentSet } from './document-set';
import { reportVersionIds } from '../cda/ids';
import type { RenderPool } from './render-pool';
import { writeDocumentSet } from './document-writer';
import { FullChecks } from './full-checks';
import { quarantineOrRethrow } from './quarantine';
import { ReportBook, nextPublication, reportOf, splitByReport, type PublishPolicy, type PublishedVersion, type ReportState, type ReportUpdate } from '../reports';
import { OrderBook, activeTests, placerStatusLine, setStatus, type OrderState, type OrderStatus, type OrderStore } from '../orders';
import type { MessageStore, StoredReportVersion } from '../store';
import { versionFacts } from '../reports/indicators';
import type { PublishedVersionEvent } from '../delivery/version-line';
import type { Correspondents } from '../config/correspondents';
import { resolveCorrespondents, type DirectoryLookupStore } from '../directory/resolver';
import type { AnsKit, ValidationPool } from '../validation';
import type { Logger } from '../runtime/logger';

/** An unwritten version reservation older than this belongs to a writer that died. */
export const VERSION_LEASE_MS = 30_000;

export interface ReportPublisherOptions {
  store: Pick<MessageStore, 'getReport' | 'putReport' | 'reserveReportVersion' | 'markReportVersionWritten' | 'releaseReportVersion' | 'reportVersions'> & OrderStore;
  /** `<directory>/<filler order number>/v<n>/<profile>.*`; refused documents under `quarantine/`. */
  directory: string;
  version: CrBioVersion;
  profiles: DocumentProfile[];
  lab: LabProfile;
  /** The filling lab when OBR-3 names none (the channel's lab: its FINESS or name). */
  defaultLab: string;
  /** Default every-change. */
  policy?: PublishPolicy;
  /**
   * Filler order namespaces (OBR-3.2) this lab assigns. Results filled by anyone else are a
   * subcontractor's: kept in their own report until fused into ours, never published on their
   * own (DSR SGL DOC.14). Absent: every filler is this lab's.
   */
  ownFillers?: string[];
  kit: AnsKit | undefined;
  renderPool?: Pick<RenderPool, 'renderReport'>;
  visibility?: RenderOptions['visibility'];
  /** Runs the five ANS profile sets after the inline check, off the main thread; the report lands beside the set. */
  fullValidator?: Pick<ValidationPool, 'validate'>;
  /** How long an unwritten version reservation is left to its writer (default VERSION_LEASE_MS). */
  versionLeaseMs?: number;
  /** The lab's correspondents (RPPS → MSSanté address): fills the addresses the messages left out. */
  correspondents?: Correspondents;
  /** The lab's catalogue and LOINC transcoding (default mappings/catalogue.yaml + loinc.yaml), or its files re-read when they change. */
  transcoding?: Transcoding | TranscodingFiles;
  /** The RPPS directory in the store, asked after the correspondents file (engine/directory/resolver.ts). */
  rppsDirectory?: DirectoryLookupStore;
  /**
   * Where written versions go next (engine/delivery): `record` runs before the version is
   * marked written (its delivery rows exist before anyone can see the version), `enqueue` after.
   */
  deliveries?: { record(v: PublishedVersionEvent): Promise<void>; enqueue(v: PublishedVersionEvent): Promise<void> }[];
  logger: Logger;
}

export class ReportPublisher {
  private readonly book: ReportBook;
  private readonly orders: OrderBook;
  private readonly fullChecks: FullChecks | undefined;

  constructor(private readonly o: ReportPublisherOptions) {
    this.book = new ReportBook(o.store);
    // Read and status only here: sub-orders are numbered by the orders channel.
    this.orders = new OrderBook(o.store, { authority: '' });
    this.fullChecks = o.fullValidator && new FullChecks(o.fullValidator, o.logger, 'reports');
  }

  /** Waits for the full validations still running (the caller bounds the wait). */
  async close(): Promise<void> {
    await this.fullChecks?.close();
  }

  /** Applies one result message to its reports and publishes what changed; returns a summary. */
  async handle(message: Message, messageId: string): Promise<string> {
    const { updates, unkeyed } = splitByReport(reportFromMessage(message, { withdrawalsOnly: true, transcoding: this.o.transcoding instanceof TranscodingFiles ? this.o.transcoding.get() : this.o.transcoding }), messageId, this.o.defaultLab, this.o.ownFillers);
    if (updates.length === 0) {
      throw new PasserelleError('PSL_REPORT_NO_FILLER_ORDER', `${unkeyed.length} request(s) without OBR-3 / ORC-3: no report to update`);
    }
    if (unkeyed.length > 0) this.o.logger.warn('requests without a filler order number left out of the reports', { code: 'PSL_REPORT_NO_FILLER_ORDER', count: unkeyed.length });
    const done: string[] = [];
    for (const planned of updates) {
      const update = planned.subcontractor ? await this.routeSubcontracted(planned) : planned;
      const out = await this.book.apply(update);
      if (out.kind === 'identity-mismatch') {
        if (planned.subcontractor && update.lab !== planned.subcontractor.lab) {
          done.push(await this.parkSubcontracted(planned, out.detail));
          continue;
        }
        throw new PasserelleError('PSL_REPORT_IDENTITY_MISMATCH', `report ${update.fillerOrder}: ${out.detail}`);
      }
      for (const p of out.parked) this.o.logger.warn('result parked for an operator', { code: 'PSL_REPORT_PARKED', reason: p.reason });
      if (!this.isOwn(update.lab)) {
        done.push(`report ${update.fillerOrder} of ${update.lab}: subcontracted results kept, never published on their own`);
        continue;
      }
      const state = (await this.followOrder(out.state, messageId)) ?? out.state;
      done.push(await this.publish(state, false));
    }
    return done.join('; ');
  }

  /**
   * Where a subcontractor's results for one of our numbers go (IHE ILW LAB-36): our sub-order
   * number leads to the order, whose filler number is our report; our filler number sent as
   * their placer number is our report itself. Otherwise (our report does not exist yet) they
   * wait in the subcontractor's own report, noted on the sub-order, and are fused when ours
   * appears (followOrder).
   */
  private async routeSubcontracted(planned: ReportUpdate): Promise<ReportUpdate> {
    const order = await this.orders.byRef('sub', planned.lab, planned.fillerOrder);
    if (order?.filler) return { ...planned, lab: order.filler.authority, fillerOrder: order.filler.number };
    if (!order && (await this.book.get(planned.lab, planned.fillerOrder))) return planned;
    const kept = { ...planned, ...planned.subcontractor! };
    if (order) await this.noteSubOrder(order.key, planned.fillerOrder, (s) => (s.keptIn ? false : ((s.keptIn = { lab: kept.lab, fillerOrder: kept.fillerOrder }), true)));
    return kept;
  }

  /** INS.46/.47: another lab's identity that disagrees with ours is never fused; kept for verification. */
  private async parkSubcontracted(planned: ReportUpdate, detail: string): Promise<string> {
    const kept = { ...planned, ...planned.subcontractor! };
    await this.book.apply(kept);
    const order = await this.orders.byRef('sub', planned.lab, planned.fillerOrder);
    if (order) {
      await this.noteSubOrder(order.key, planned.fillerOrder, (s) => {
        s.keptIn = { lab: kept.lab, fillerOrder: kept.fillerOrder };
        s.parked = `identity to verify: ${detail}`;
        return true;
      });
    }
    this.o.logger.warn('subcontracted results parked: identity to verify', { code: 'PSL_REPORT_PARKED', reason: 'identity', subOrder: planned.fillerOrder });
    return `report ${kept.fillerOrder} of ${kept.lab}: subcontracted results parked, the patient identity disagrees with our report (INS.46/.47)`;
  }

  private async noteSubOrder(key: string, number: string, fn: (s: OrderState['subOrders'][number]) => boolean): Promise<void> {
    await this.orders.update(key, (o) => {
      const sub = o.subOrders.find((x) => x.number === number);
      return !!sub && fn(sub);
    });
  }

  /**
   * Our report and the order it answers: the order learns our filler number and the lab's
   * status; results a subcontractor sent before our report existed are fused now. Returns the
   * report as it is afterwards (undefined: no order, unchanged).
   */
  private async followOrder(state: ReportState, messageId: string): Promise<ReportState | undefined> {
    const keys = new Set<string>();
    for (const { request: r } of state.requests) {
      if (!r.placerOrder) continue;
      const order = await this.orders.byPlacer(r.placerAuthority ?? '', r.placerOrder);
      if (order) keys.add(order.key);
    }
    let current: ReportState | undefined;
    for (const key of keys) {
      const order = await this.orders.update(key, (o) => {
        if (o.filler) return false;
        o.filler = { number: state.fillerOrder, authority: state.lab };
        return true;
      });
      if (!order || order.filler?.number !== state.fillerOrder || order.filler.authority !== state.lab) continue;
      for (const sub of order.subOrders) {
        if (!sub.keptIn || sub.parked) continue;
        const kept = await this.book.get(sub.keptIn.lab, sub.keptIn.fillerOrder);
        if (!kept) continue;
        const { updates } = splitByReport(reportOf(kept), `kept:${sub.keptIn.lab}|${sub.keptIn.fillerOrder}|${kept.revision}`, this.o.defaultLab, this.o.ownFillers);
        for (const u of updates) {
          const out = await this.book.apply({ ...u, lab: state.lab, fillerOrder: state.fillerOrder });
          if (out.kind === 'applied') current = out.state;
          else await this.noteSubOrder(order.key, sub.number, (s) => ((s.parked = `identity to verify: ${out.detail}`), true));
        }
      }
      // The lab's progress, as the placer will read it (ORC-5): never backwards, never over a cancel.
      const status = labStatus(current ?? state, activeTests(order).map((t) => t.code.code));
      const moved = await this.orders.update(key, (o) => o.status !== 'CA' && statusRank(status) > statusRank(o.status) && setStatus(o, status, messageId));
      // The placer is told by the orders channel's line (when it has one and runs in this process; else at its next order message).
      if (moved) await placerStatusLine(moved.statusLine)?.schedule(moved);
    }
    return current;
  }

  /** The ordered tests' codes still awaited for a report (none without an order). */
  private async awaitedTests(lab: string, fillerOrder: string): Promise<string[]> {
    const order = await this.orders.byRef('filler', lab, fillerOrder);
    return order ? activeTests(order).map((t) => t.code.code) : [];
  }

  private isOwn(lab: string): boolean {
    return !this.o.ownFillers || lab === this.o.defaultLab || this.o.ownFillers.includes(lab);
  }

  /** Publishes the report's next version if its policy (or `requested`) says so. */
  async publish(state: ReportState, requested: boolean): Promise<string> {
    const { lab, fillerOrder } = state;
    if (!this.isOwn(lab)) return `report ${fillerOrder} of ${lab}: a subcontractor's results, never published on their own`;
    const versions = await this.o.store.reportVersions(lab, fillerOrder);
    const unwritten = versions.at(-1)?.written === false ? versions.at(-1) : undefined;
    const last = lastWritten(versions);
    const awaited = await this.awaitedTests(lab, fillerOrder);
    const decision = nextPublication(state, last, this.o.policy ?? 'every-change', requested, awaited);
    if (decision.kind === 'none') {
      // A reservation whose writer died is finished with what the report holds now.
      if (!unwritten) return `report ${fillerOrder}: no new version (${decision.why})`;
    }
    const version = unwritten?.version ?? (decision.kind === 'none' ? 0 : decision.version);
    if (decision.kind !== 'none' && unwritten && decision.version !== unwritten.version) {
      throw new PasserelleError('PSL_REPORT_VERSION_BUSY', `report ${fillerOrder}: version ${unwritten.version} is reserved and not written`);
    }
    // A reservation finished with today's content takes today's status (its pending tests may be done now).
    const status =
      decision.kind === 'delete' ? 'deleted' : decision.kind === 'publish' ? decision.status : unwritten!.status === 'deleted' ? 'deleted' : reportOf(state, awaited).completeness === 'complete' ? 'completed' : 'active';
    const contentHash = decision.kind === 'none' ? unwritten!.contentHash : decision.contentHash;
    // No kit, no documents: the message waits (retried) without holding a version number.
    if (status !== 'deleted' && !this.o.kit) throw kitUnavailable();
    // The report is made once: its facts go with the reservation (Ségur indicators), its documents below.
    const made = reportOf(state, awaited);
    const facts = versionFacts(this.o.lab, made);
    if (!(await this.o.store.reserveReportVersion({ lab, fillerOrder, version, status, contentHash, revision: state.revision, facts }, this.o.versionLeaseMs ?? VERSION_LEASE_MS))) {
      throw new PasserelleError('PSL_REPORT_VERSION_BUSY', `report ${fillerOrder}: version ${version} is being written by another worker`);
    }
    const folder = join(this.o.directory, safeName(fillerOrder));
    if (status === 'deleted') {
      const deletes = last?.version ?? version - 1;
      this.writeDeletion(folder, state, version, deletes);
      await this.written({ lab, fillerOrder, version, status });
      return `report ${fillerOrder}: v${version} deletes v${deletes}`;
    }
    const replaces = last && last.status !== 'deleted' ? last.version : undefined;
    const report = await resolveCorrespondents(made, this.o.correspondents, this.o.rppsDirectory);
    try {
      await this.render(folder, state, report, version, replaces);
    } catch (e) {
      // This writer failed and knows it: the number goes back now, not after the lease.
      await this.o.store.releaseReportVersion(lab, fillerOrder, version).catch(() => undefined);
      throw e;
    }
    await this.written({ lab, fillerOrder, version, status, report });
    return `report ${fillerOrder}: v${version} (${status})`;
  }

  /** Delivery rows, then the version marked written, then the delivery jobs (a crash between leaves rows a scan re-queues). */
  private async written(v: PublishedVersionEvent): Promise<void> {
    for (const d of this.o.deliveries ?? []) await d.record(v);
    await this.o.store.markReportVersionWritten(v.lab, v.fillerOrder, v.version);
    for (const d of this.o.deliveries ?? []) await d.enqueue(v);
  }

  private async render(folder: string, state: ReportState, report: Report, version: number, replaces: number | undefined): Promise<void> {
    const ids = reportVersionIds(this.o.lab, state.lab, state.fillerOrder, version);
    const parent = replaces === undefined ? undefined : reportVersionIds(this.o.lab, state.lab, state.fillerOrder, replaces).documentId;
    for (const profile of this.o.profiles) {
      const options: RenderOptions = { version: this.o.version, profile, visibility: this.o.visibility, setId: ids.setId, documentId: ids.documentId, versionNumber: version };
      if (parent) options.replaces = parent;
      try {
        const set = await this.renderOne(report, options);
        const w = writeDocumentSet(join(folder, `v${version}`), profile, set);
        this.fullChecks?.start(set.n3, set.n1, w.dir, profile);
      } catch (e) {
        quarantineOrRethrow(e, join(this.o.directory, 'quarantine', safeName(state.fillerOrder), `v${version}`), profile);
      }
    }
  }

  private renderOne(report: Report, options: RenderOptions): Promise<DocumentSet> {
    if (!this.o.kit) throw kitUnavailable();
    return this.o.renderPool ? this.o.renderPool.renderReport(report, this.o.lab, options) : renderDocumentSet(report, this.o.lab, options, { kit: this.o.kit });
  }

  /** What the delivery stage needs to withdraw the published document (DMP, MSSanté, PFI). */
  private writeDeletion(folder: string, state: ReportState, version: number, deletes: number): void {
    const ids = reportVersionIds(this.o.lab, state.lab, state.fillerOrder, deletes);
    const event = { event: 'deletion', lab: state.lab, fillerOrder: state.fillerOrder, version, setId: ids.setId, deletesVersion: deletes, deletesDocumentId: ids.documentId };
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `v${version}.deleted.json`);
    writeFileSync(file + '.tmp', JSON.stringify(event, null, 2) + '\n');
    renameSync(file + '.tmp', file);
  }
}

/** The order status the lab's results say (HL7 table 0038): all done CM, some results A, else IP. */
function labStatus(state: ReportState, awaited: readonly string[]): OrderStatus {
  const report = reportOf(state, awaited);
  if (report.completeness === 'complete') return 'CM';
  return report.requests.some((r) => r.results.some((x) => x.status !== 'pending')) ? 'A' : 'IP';
}

function statusRank(s: OrderStatus): number {
  return { SC: 0, IP: 1, A: 2, CM: 3, CA: 4 }[s];
}

/** The newest version whose documents were written. */
function lastWritten(versions: StoredReportVersion[]): PublishedVersion | undefined {
  const v = [...versions].reverse().find((x) => x.written);
  return v && { version: v.version, status: v.status, contentHash: v.contentHash, revision: v.revision };
}

/** The folder name of a report's versions (its filler order number, file-safe). */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'report';
}

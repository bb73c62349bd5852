/**
 * Retention (issue 10 item 5; channel files `retention`, docs/channels.md): what is kept of each
 * channel's messages, and of the report documents (SGL.DOC.20), run in the background.
 *
 * - Messages: `storage` metadata / content-after-delivery trims the payload of finished messages
 *   (after `contentDays`); `messagesDays` deletes done, filtered and discarded messages. A
 *   message waiting, retrying, dead-lettered or refused is never touched: the store refuses
 *   those states, and checks state and age again in the statement that trims or deletes, so a
 *   message reprocessed meanwhile stays (Mirth's pruner once deleted queued messages).
 * - Documents: the report folders of the channels' reports destinations are moved to the
 *   archive once the patient has had no activity for `archiveAfterYears` (5), and deleted with
 *   the report's store rows after `purgeAfterYears` (20). A dry run says what would go.
 *
 * Everything goes in small batches (one short transaction each) with a pause between them, so
 * intake and the lines keep the store. Logs give counts only, never patient data.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChannelConfig } from '../config/channel-schema';
import type { MessageStore, ReportActivity, ReportCursor, RetentionCandidate, RetentionState } from '../store/types';
import type { Logger } from '../runtime/logger';
import { Periodic } from '../runtime/periodic';
import { safeName } from '../documents/report-publisher';

const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
const DEFAULT_INTERVAL_MS = 3_600_000;
const DEFAULT_BATCH = 200;
const DEFAULT_PAUSE_MS = 20;
/** Trimming passes resume where they stopped; once a day they start over, for messages finished late. */
const FULL_TRIM_EVERY_MS = DAY;
/** Reports listed by a dry run (the counts are complete). */
const SAMPLE = 100;

export interface RetentionOptions {
  store: MessageStore;
  /** The channels' settings; a function when they change (the engine's reloads). */
  channels: readonly Readonly<ChannelConfig>[] | (() => readonly Readonly<ChannelConfig>[]);
  logger: Logger;
  /** Between the start of two passes. Default 1 h. */
  intervalMs?: number;
  /** Messages or reports per batch. Default 200. */
  batchSize?: number;
  /** Pause between two batches. Default 20 ms. */
  pauseMs?: number;
  now?: () => Date;
}

export interface ChannelRetentionReport {
  channel: string;
  trimmed: number;
  deleted: number;
}

export interface DocumentPlanItem {
  lab: string;
  fillerOrder: string;
  lastActivity: Date;
  versions: number;
}

export interface DocumentsReport {
  dryRun: boolean;
  /** Reports archived (or that would be), at most SAMPLE listed. */
  archive: { count: number; reports: DocumentPlanItem[] };
  purge: { count: number; reports: DocumentPlanItem[] };
  /** Folders moved to an archive directory, deleted. */
  foldersArchived: number;
  foldersDeleted: number;
}

export interface RetentionReport {
  messages: ChannelRetentionReport[];
  documents: DocumentsReport | undefined;
}

/** Reports destinations' folders and the document rules (the longest years when channels differ: nothing goes early). */
export interface DocumentRules {
  archiveAfterYears: number;
  purgeAfterYears: number;
  /** Live folder → its archive folder. */
  directories: { live: string; archive: string }[];
}

export function documentRules(channels: readonly Readonly<ChannelConfig>[], dryRunDefaults = false): DocumentRules | undefined {
  const configured = channels.filter((c) => c.retention.documents);
  if (configured.length === 0 && !dryRunDefaults) return undefined;
  const directories: DocumentRules['directories'] = [];
  for (const c of channels) {
    for (const d of c.destinations) {
      if (d.type !== 'reports') continue;
      const live = path.resolve(d.directory);
      const archive = c.retention.documents?.archiveDirectory ? path.resolve(c.retention.documents.archiveDirectory) : path.join(live, 'archive');
      if (!directories.some((x) => x.live === live)) directories.push({ live, archive });
    }
  }
  const years = (k: 'archiveAfterYears' | 'purgeAfterYears', fallback: number): number =>
    configured.length === 0 ? fallback : Math.max(...configured.map((c) => c.retention.documents![k]));
  return { archiveAfterYears: years('archiveAfterYears', 5), purgeAfterYears: years('purgeAfterYears', 20), directories };
}

export class RetentionRunner {
  private readonly batch: number;
  private readonly pauseMs: number;
  private readonly now: () => Date;
  private readonly periodic = new Periodic(
    () => this.runOnce(),
    (e) => this.o.logger.warn('retention pass failed', { error: (e as Error).message, code: 'PSL_STORE_TRANSIENT' }),
  );
  private running: Promise<RetentionReport> | undefined;
  private stopped = false;
  /** Per channel: seq up to which finished messages were looked at for trimming, and when that pass began from 0. */
  private readonly trimCursor = new Map<string, { seq: number; since: number }>();

  constructor(private readonly o: RetentionOptions) {
    this.batch = o.batchSize ?? DEFAULT_BATCH;
    this.pauseMs = o.pauseMs ?? DEFAULT_PAUSE_MS;
    this.now = o.now ?? (() => new Date());
  }

  private channels(): readonly Readonly<ChannelConfig>[] {
    return typeof this.o.channels === 'function' ? this.o.channels() : this.o.channels;
  }

  /** A pass soon after the start, then one every interval (one at a time). */
  start(firstDelayMs = 60_000): void {
    if (this.stopped) return;
    this.periodic.start(firstDelayMs, this.o.intervalMs ?? DEFAULT_INTERVAL_MS);
  }

  /** No new pass; the one running stops at its next batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.periodic.stop();
    await this.running?.catch(() => undefined);
  }

  /** One pass over every channel and the documents (a pass already running is joined). */
  runOnce(): Promise<RetentionReport> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** What the document rules would archive and purge now (nothing changed). */
  async documentsDryRun(): Promise<DocumentsReport> {
    const rules = documentRules(this.channels(), true)!;
    return this.documents(rules, true);
  }

  private async pass(): Promise<RetentionReport> {
    const messages: ChannelRetentionReport[] = [];
    for (const c of this.channels()) {
      if (this.stopped) break;
      const r: ChannelRetentionReport = { channel: c.name, trimmed: 0, deleted: 0 };
      // Deleted first: no need to trim what goes anyway.
      if (c.retention.messagesDays !== undefined) r.deleted = await this.prune(c, c.retention.messagesDays);
      if (c.retention.storage !== 'everything' && !this.stopped) r.trimmed = await this.trim(c);
      if (r.trimmed > 0 || r.deleted > 0) this.o.logger.info('retention: messages trimmed and deleted', { channel: c.name, trimmed: r.trimmed, deleted: r.deleted });
      messages.push(r);
    }
    const rules = documentRules(this.channels());
    const documents = rules && !this.stopped ? await this.documents(rules, false) : undefined;
    if (documents && (documents.archive.count > 0 || documents.purge.count > 0)) {
      this.o.logger.info('retention: report documents archived and purged', { archived: documents.archive.count, purged: documents.purge.count });
    }
    return { messages, documents };
  }

  private async trim(c: Readonly<ChannelConfig>): Promise<number> {
    const { storage, contentDays, excerptBytes } = c.retention;
    if (storage === 'everything') return 0;
    const mode = storage;
    // content-after-delivery: only what every destination took; metadata: whatever finished.
    const states: RetentionState[] = mode === 'content-after-delivery' ? ['done'] : ['done', 'filtered', 'discarded'];
    const now = this.now().getTime();
    let cursor = this.trimCursor.get(c.name);
    if (!cursor || now - cursor.since >= FULL_TRIM_EVERY_MS) cursor = { seq: 0, since: now };
    const olderThan = new Date(now - contentDays * DAY);
    let trimmed = 0;
    while (!this.stopped) {
      const page = await this.o.store.retentionCandidates(c.name, states, cursor.seq, this.batch);
      if (page.length === 0) break;
      // A message finished too recently stops the pass here: the next one starts from it.
      const young = page.findIndex((m) => m.updatedAt.getTime() >= olderThan.getTime());
      const ready = young < 0 ? page : page.slice(0, young);
      const ids = ready.filter((m) => needsTrim(m, mode, excerptBytes)).map((m) => m.id);
      if (ids.length > 0) trimmed += await this.o.store.trimMessages(ids, { mode, excerptBytes, states, olderThan });
      if (ready.length > 0) cursor.seq = ready[ready.length - 1]!.seq;
      if (young >= 0 || page.length < this.batch) break;
      await this.pause();
    }
    this.trimCursor.set(c.name, cursor);
    return trimmed;
  }

  private async prune(c: Readonly<ChannelConfig>, days: number): Promise<number> {
    const states: RetentionState[] = ['done', 'filtered', 'discarded'];
    const olderThan = new Date(this.now().getTime() - days * DAY);
    let cursor = 0;
    let deleted = 0;
    while (!this.stopped) {
      const page = await this.o.store.retentionCandidates(c.name, states, cursor, this.batch);
      if (page.length === 0) break;
      const old = page.filter((m) => m.receivedAt < olderThan && m.updatedAt < olderThan);
      if (old.length > 0) deleted += await this.o.store.deleteMessages(old.map((m) => m.id), states, olderThan);
      // Store order follows arrival: a page received after the cut-off ends the pass.
      if (page.every((m) => m.receivedAt >= olderThan) || page.length < this.batch) break;
      cursor = page[page.length - 1]!.seq;
      await this.pause();
    }
    return deleted;
  }

  private async documents(rules: DocumentRules, dryRun: boolean): Promise<DocumentsReport> {
    const report: DocumentsReport = { dryRun, archive: { count: 0, reports: [] }, purge: { count: 0, reports: [] }, foldersArchived: 0, foldersDeleted: 0 };
    while (!this.stopped && (await this.o.store.refreshPatientActivity(this.batch)) > 0) await this.pause();
    const now = this.now().getTime();
    const purgeBefore = new Date(now - rules.purgeAfterYears * YEAR);
    const archiveBefore = new Date(now - rules.archiveAfterYears * YEAR);
    // Purged first: what is purged is not archived on the way.
    const purged = new Set<string>();
    await this.walk(purgeBefore, 'any', async (r) => {
      purged.add(`${r.lab}\u0000${r.fillerOrder}`);
      note(report.purge, r);
      if (dryRun) return;
      for (const d of rules.directories) {
        for (const dir of [d.live, d.archive]) report.foldersDeleted += removeFolder(path.join(dir, folderName(r.fillerOrder)));
      }
      await this.o.store.purgeReport(r.lab, r.fillerOrder);
    });
    await this.walk(archiveBefore, 'unarchived', async (r) => {
      if (purged.has(`${r.lab}\u0000${r.fillerOrder}`)) return;
      note(report.archive, r);
      if (dryRun) return;
      for (const d of rules.directories) report.foldersArchived += moveFolder(path.join(d.live, folderName(r.fillerOrder)), path.join(d.archive, folderName(r.fillerOrder)));
      await this.o.store.markReportArchived(r.lab, r.fillerOrder, new Date(now));
    });
    return report;
  }

  private async walk(before: Date, which: 'unarchived' | 'any', each: (r: ReportActivity) => Promise<void>): Promise<void> {
    let after: ReportCursor | undefined;
    while (!this.stopped) {
      const page = await this.o.store.inactiveReports(before, which, after, this.batch);
      for (const r of page.reports) await each(r);
      if (!page.next) break;
      after = page.next;
      await this.pause();
    }
  }

  private pause(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.pauseMs));
  }
}

function needsTrim(m: RetentionCandidate, mode: 'metadata' | 'content-after-delivery', excerptBytes: number): boolean {
  return m.hasContents || m.rawBytes > (mode === 'metadata' ? excerptBytes : 0);
}

function note(into: { count: number; reports: DocumentPlanItem[] }, r: ReportActivity): void {
  into.count++;
  if (into.reports.length < SAMPLE) into.reports.push({ lab: r.lab, fillerOrder: r.fillerOrder, lastActivity: r.lastActivity, versions: r.versions });
}

/** The folder of a report under a reports destination's directory, as the publisher names it. */
const folderName = safeName;

/** Moves a report folder's entries into its archive folder (entries of the same name replaced); 1 when there was one. */
function moveFolder(from: string, to: string): number {
  if (!fs.existsSync(from)) return 0;
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from)) {
    const target = path.join(to, entry);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(path.join(from, entry), target);
  }
  fs.rmdirSync(from);
  return 1;
}

function removeFolder(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  fs.rmSync(dir, { recursive: true, force: true });
  return 1;
}

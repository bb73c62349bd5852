/**
 * What every delivery of report versions shares (PFI, MSSanté, DMP; issue 9, items 1 and 6;
 * docs/design.md "Delivery of report versions"):
 *
 *  - Each (version, target) is a row of the store (`version_deliveries`), written `queued`
 *    before the version is marked written: a crash before the job exists leaves a row that the
 *    next scan puts back on the line. The row's state decides whether there is still something
 *    to send, so a job added twice (a scan, a retry) sends once.
 *  - One ordering key per (report, target): a newer version never overtakes an older one for
 *    the same recipient, and a job whose older version is still queued waits for it.
 *  - One breaker per line (DestinationHealth): an outage is logged once when it starts and once
 *    when it ends, and jobs wait at the gate instead of spending their attempts.
 *  - The subclass names the targets of a version and sends to one of them.
 */
import type { Report } from '../lab';
import type { MessageStore, StoredReportVersion, StoredVersionDelivery } from '../store';
import { OrderedQueue } from '../queue';
import type { OrderedJob } from '../queue/types';
import type { RetryConfig } from '../config/channel-schema';
import { PasserelleError, errorCodeOf } from '../errors';
import { DestinationHealth, failingAfterFor } from './destination-health';
import type { LineDeps } from './outbound-line';

/** A version written by the publisher (or the deletion of one). */
export interface PublishedVersionEvent {
  lab: string;
  fillerOrder: string;
  version: number;
  status: 'active' | 'completed' | 'deleted';
  /** The report the version's documents print (absent for a deletion). */
  report?: Report;
}

/** What a line records for a version: its targets, each queued, or held with why. */
export interface PlannedDelivery {
  target: string;
  state: 'queued' | 'held';
  detail: string | null;
}

/** What `deliver` is given: the row's version, where it stands among the report's versions, and what this target got before. */
export interface DeliveryContext {
  lab: string;
  fillerOrder: string;
  version: number;
  target: string;
  current: StoredReportVersion;
  versions: StoredReportVersion[];
  /** This target's rows of earlier versions, oldest first. */
  earlier: StoredVersionDelivery[];
}

/** What became of a delivery: `sent` with the remote id, or `held` with the reason. */
export type DeliveryOutcome = { state: 'sent' | 'held'; detail: string };

export type VersionLineStore = Pick<MessageStore, 'putVersionDelivery' | 'versionDeliveries' | 'findVersionDeliveries' | 'queuedVersionDeliveries' | 'reportVersions' | 'getReport'>;

export interface VersionLineOptions extends LineDeps {
  /** `<channel>.<destination>`: the queue is `<name>.<kind>`. */
  name: string;
  store: VersionLineStore;
  retry: RetryConfig;
  /** Partitions of the line's queue (reports spread over them by key). Default 4. */
  partitions?: number;
}

/** How often rows still queued are put back on the line (jobs lost with Redis, a crash before the add). */
const SCAN_MS = 30_000;
/** Rows read per page of a scan. */
const SCAN_PAGE = 1000;

export abstract class VersionLine {
  protected readonly queue: OrderedQueue;
  private scanTimer?: NodeJS.Timeout;

  /**
   * @param kind the targets' prefix: the line owns `kind` and `kind:<recipient>`.
   */
  constructor(
    readonly kind: string,
    protected readonly base: VersionLineOptions,
  ) {
    const r = base.retry;
    this.queue = new OrderedQueue({
      name: `${base.name}.${kind}`,
      connection: base.connection,
      prefix: base.prefix,
      partitions: base.partitions ?? 4,
      consume: base.consume,
      maxAttempts: r.maxAttempts,
      backoff: { baseMs: r.backoffBaseMs, maxMs: r.backoffMaxMs },
      retryAmbiguous: r.retryAmbiguous,
      gate: new DestinationHealth({ channel: base.name, destination: kind, failingAfter: failingAfterFor(r.maxAttempts), backoff: { baseMs: r.backoffBaseMs, maxMs: r.backoffMaxMs }, logger: base.logger }),
      processor: (job) => this.process(job),
      onDead: async (job, err) => {
        const code = errorCodeOf(err);
        base.logger.error('report version not delivered', { destination: base.name, target: kind, job: job.id, code });
        await this.settle(job.data.lab!, job.data.filler!, Number(job.data.version), job.data.target!, 'dead', `${code}: ${(err as Error)?.message ?? String(err)}`);
      },
      onError: (err, context) => base.logger.warn('queue trouble', { destination: base.name, target: kind, queue: context, error: (err as Error)?.message ?? String(err) }),
    });
  }

  /** The targets of a written version (its recipients). A deletion's default: every target an earlier version was for. */
  protected abstract plan(v: PublishedVersionEvent): Promise<PlannedDelivery[]>;

  /** Sends one version (or deletion) to one target; throws a coded error to retry or give up. */
  protected abstract deliver(ctx: DeliveryContext): Promise<DeliveryOutcome>;

  async start(): Promise<void> {
    await this.queue.start();
    await this.scan();
    this.scanTimer = setInterval(() => void this.scan(), SCAN_MS);
    this.scanTimer.unref();
  }

  async stop(drainDeadlineMs: number): Promise<void> {
    if (this.scanTimer) clearInterval(this.scanTimer);
    await this.queue.stop({ drainDeadlineMs });
  }

  owns(target: string): boolean {
    return target === this.kind || target.startsWith(`${this.kind}:`);
  }

  /** Before the version is marked written: its delivery rows, so nothing written is ever forgotten. */
  async record(v: PublishedVersionEvent): Promise<void> {
    for (const p of await this.plan(v)) {
      await this.base.store.putVersionDelivery({ lab: v.lab, fillerOrder: v.fillerOrder, version: v.version, target: p.target, state: p.state, detail: p.detail?.slice(0, 1000) ?? null });
    }
  }

  /**
   * Once the version is written: a job per queued row of it. The job id carries the row's last
   * change (its generation), so the scan re-adding a row whose job still waits is a no-op, and a
   * row queued again by an operator (`passerelle retry`) is a new job, where the old one may
   * still sit in the failed set.
   */
  async enqueue(v: Pick<PublishedVersionEvent, 'lab' | 'fillerOrder' | 'version'>): Promise<void> {
    const rows = await this.base.store.versionDeliveries(v.lab, v.fillerOrder);
    for (const r of rows) if (r.version === v.version && r.state === 'queued' && this.owns(r.target)) await this.add(r);
  }

  private async add(r: Pick<StoredVersionDelivery, 'lab' | 'fillerOrder' | 'version' | 'target' | 'updatedAt'>): Promise<void> {
    const id = `${r.lab}|${r.fillerOrder}|v${r.version}|${r.target}|g${r.updatedAt.getTime()}`;
    await this.queue.add(`${r.lab}|${r.fillerOrder}|${r.target}`, id, { lab: r.lab, filler: r.fillerOrder, version: String(r.version), target: r.target });
  }

  /** Every target an earlier version of the report was recorded for (a deletion goes to each). */
  protected async earlierTargets(v: PublishedVersionEvent): Promise<string[]> {
    const rows = await this.base.store.versionDeliveries(v.lab, v.fillerOrder);
    return [...new Set(rows.filter((r) => r.version < v.version && this.owns(r.target) && (r.state === 'sent' || r.state === 'queued')).map((r) => r.target))];
  }

  /**
   * Puts the rows still queued back on the line, every page of them (a Redis that lost its jobs
   * may leave thousands). Re-adding a row whose job still waits is a no-op (same id).
   */
  private async scan(): Promise<void> {
    try {
      let since = 0;
      for (;;) {
        const rows = await this.base.store.queuedVersionDeliveries(SCAN_PAGE, since);
        // Oldest versions first within the page, so a report's line gets them in order.
        for (const r of [...rows].sort((a, b) => a.version - b.version)) {
          // Only versions whose documents are written: a reservation still being written enqueues its own.
          if (!this.owns(r.target)) continue;
          const v = (await this.base.store.reportVersions(r.lab, r.fillerOrder)).find((x) => x.version === r.version);
          if (v?.written) await this.add(r);
        }
        if (rows.length < SCAN_PAGE) break;
        const last = rows.at(-1)!.updatedAt.getTime();
        // A full page of one millisecond: step past it (a row skipped is found by the next scan).
        since = last > since ? last : since + 1;
      }
    } catch (e) {
      this.base.logger.warn('delivery scan failed', { destination: this.base.name, target: this.kind, error: (e as Error).message });
    }
  }

  private async process(job: OrderedJob): Promise<void> {
    const lab = job.data.lab!;
    const fillerOrder = job.data.filler!;
    const version = Number(job.data.version);
    const target = job.data.target!;
    const rows = (await this.base.store.versionDeliveries(lab, fillerOrder)).filter((d) => d.target === target);
    if (rows.find((d) => d.version === version)?.state !== 'queued') return; // sent, held or given up already
    const earlier = rows.filter((d) => d.version < version);
    const waiting = earlier.find((d) => d.state === 'queued');
    if (waiting) throw new PasserelleError('PSL_REPORT_VERSION_BUSY', `report ${fillerOrder}: v${version} waits for v${waiting.version} to ${target}`);
    const versions = await this.base.store.reportVersions(lab, fillerOrder);
    const current = versions.find((x) => x.version === version);
    if (!current?.written) throw new PasserelleError('PSL_REPORT_VERSION_BUSY', `report ${fillerOrder}: version ${version} is not written yet`);
    const outcome = await this.deliver({ lab, fillerOrder, version, target, current, versions, earlier });
    await this.settle(lab, fillerOrder, version, target, outcome.state, outcome.detail);
  }

  protected settle(lab: string, fillerOrder: string, version: number, target: string, state: 'sent' | 'held' | 'dead', detail: string): Promise<void> {
    return this.base.store.putVersionDelivery({ lab, fillerOrder, version, target, state, detail: detail.slice(0, 1000) });
  }
}

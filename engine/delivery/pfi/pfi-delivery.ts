/**
 * Report versions to the hospital's integration platform (PFI) as ORU^R01 over MLLP (issue 9,
 * item 5; docs/design.md "Delivery of report versions"). One ordered line per destination, one
 * report per ordering key: a newer version never overtakes an older one, whatever the retries.
 *
 * Each (version, `pfi`) is a row of the store (`version_deliveries`): written `queued` before
 * the version is marked written, so a crash before the job exists leaves a row that the next
 * scan puts back on the line; the row's state decides whether there is still something to send,
 * so a job added twice sends once. A version that fails the full ANS set is `held` with the
 * reason (never sent); a deletion withdraws the last version sent.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { LabProfile } from '../../lab';
import type { PfiConfig } from '../../config/channel-schema';
import type { MessageStore } from '../../store';
import type { OrderedQueue } from '../../queue';
import type { OrderedJob } from '../../queue/types';
import type { ValidationPool } from '../../validation';
import { reportFromJson, reportOf } from '../../reports';
import { fullCheck } from '../../documents/release-check';
import { withCorrespondents, type Correspondents } from '../../config/correspondents';
import { PasserelleError } from '../../errors';
import { outboundLine, type LineDeps } from '../outbound-line';
import type { MllpDestination } from '../mllp-destination';
import { buildPfiMessage, type PfiAction } from './oru-message';

export const PFI_TARGET = 'pfi';
/** How often rows still queued are put back on the line (jobs lost with Redis, a crash before the add). */
const SCAN_MS = 30_000;

/** A version written by the publisher (or the deletion of one). */
export interface PublishedVersionEvent {
  lab: string;
  fillerOrder: string;
  version: number;
  status: 'active' | 'completed' | 'deleted';
}

export interface PfiDeliveryOptions extends LineDeps {
  /** `<channel>.<destination>`: the queue is `<name>.pfi`. */
  name: string;
  config: PfiConfig;
  store: Pick<MessageStore, 'putVersionDelivery' | 'versionDeliveries' | 'queuedVersionDeliveries' | 'reportVersions' | 'getReport'>;
  lab: LabProfile;
  /** Where a report's versions are: `<directory>/<folder of filler order>`. */
  folderOf: (fillerOrder: string) => string;
  /** The lab's correspondents: the same addresses as the documents print. */
  correspondents?: Correspondents;
  /** Runs the full ANS set; absent: the kit in this thread. */
  validator: Pick<ValidationPool, 'validate'>;
}

export class PfiDelivery {
  private readonly queue: OrderedQueue;
  private readonly out: MllpDestination;
  private scanTimer?: NodeJS.Timeout;

  constructor(private readonly o: PfiDeliveryOptions) {
    ({ queue: this.queue, out: this.out } = outboundLine({
      name: `${o.name}.pfi`,
      peer: 'pfi',
      config: o.config,
      defaultCharset: o.defaultCharset,
      connection: o.connection,
      prefix: o.prefix,
      partitions: 4,
      consume: o.consume,
      processor: (job) => this.send(job),
      logFields: { destination: o.name, target: PFI_TARGET },
      deadMessage: 'report version not delivered to the PFI',
      onDead: (job, err) => this.settle(job.data.lab!, job.data.filler!, Number(job.data.version), 'dead', `${(err as { code?: string })?.code ?? 'PSL_INTERNAL'}: ${(err as Error)?.message ?? String(err)}`),
      logger: o.logger,
    }));
  }

  async start(): Promise<void> {
    await this.queue.start();
    await this.scan();
    this.scanTimer = setInterval(() => void this.scan(), SCAN_MS);
    this.scanTimer.unref();
  }

  async stop(drainDeadlineMs: number): Promise<void> {
    if (this.scanTimer) clearInterval(this.scanTimer);
    await this.queue.stop({ drainDeadlineMs });
    await this.out.close();
  }

  /** Before the version is marked written: its delivery row, so nothing written is ever forgotten. */
  async record(v: PublishedVersionEvent): Promise<void> {
    await this.o.store.putVersionDelivery({ lab: v.lab, fillerOrder: v.fillerOrder, version: v.version, target: PFI_TARGET, state: 'queued', detail: null });
  }

  /**
   * Once the version is written: its job on the report's line. `generation` (the row's last
   * change) makes a row queued again by an operator (`passerelle retry`) a new job, where the
   * old one may still sit in the failed set under the plain id.
   */
  async enqueue(v: Pick<PublishedVersionEvent, 'lab' | 'fillerOrder' | 'version'>, generation?: number): Promise<void> {
    const id = `${v.lab}|${v.fillerOrder}|v${v.version}|${PFI_TARGET}${generation === undefined ? '' : `|g${generation}`}`;
    await this.queue.add(`${v.lab}|${v.fillerOrder}`, id, { lab: v.lab, filler: v.fillerOrder, version: String(v.version) });
  }

  private async scan(): Promise<void> {
    try {
      const rows = await this.o.store.queuedVersionDeliveries(1000);
      for (const r of rows) {
        // Only versions whose documents are written: a reservation still being written enqueues its own.
        if (r.target !== PFI_TARGET) continue;
        const v = (await this.o.store.reportVersions(r.lab, r.fillerOrder)).find((x) => x.version === r.version);
        if (v?.written) await this.enqueue(r, r.updatedAt.getTime());
      }
    } catch (e) {
      this.o.logger.warn('delivery scan failed', { destination: this.o.name, error: (e as Error).message });
    }
  }

  private async send(job: OrderedJob): Promise<void> {
    const lab = job.data.lab!;
    const fillerOrder = job.data.filler!;
    const version = Number(job.data.version);
    const row = (await this.o.store.versionDeliveries(lab, fillerOrder)).find((d) => d.version === version && d.target === PFI_TARGET);
    if (row?.state !== 'queued') return; // sent, held or given up already
    const versions = await this.o.store.reportVersions(lab, fillerOrder);
    const current = versions.find((x) => x.version === version);
    if (!current?.written) throw new PasserelleError('PSL_REPORT_VERSION_BUSY', `report ${fillerOrder}: version ${version} is not written yet`);
    const folder = this.o.folderOf(fillerOrder);
    const earlier = versions.filter((x) => x.version < version && x.written);
    const lastShown = [...earlier].reverse().find((x) => x.status !== 'deleted');
    let action: PfiAction;
    let dir: string;
    if (current.status === 'deleted') {
      if (!lastShown) return this.settle(lab, fillerOrder, version, 'sent', 'nothing published to withdraw');
      action = 'delete';
      dir = join(folder, `v${lastShown.version}`);
    } else {
      dir = join(folder, `v${version}`);
      const verdict = await fullCheck(dir, 'pro', this.o.validator);
      if (!verdict.valid) {
        this.o.logger.warn('report version held: it fails the full ANS set', { destination: this.o.name, code: 'PSL_VERSION_HELD', version });
        return this.settle(lab, fillerOrder, version, 'held', verdict.reason ?? 'fails the full ANS set');
      }
      action = lastShown && earlier.at(-1)?.status !== 'deleted' ? 'replace' : 'create';
    }
    const stored = await this.o.store.getReport(lab, fillerOrder);
    if (!stored) throw new PasserelleError('PSL_MESSAGE_MISSING', `report ${fillerOrder} is not in the store`);
    const report = withCorrespondents(reportOf(reportFromJson(stored.state)), this.o.correspondents);
    const c = this.o.config;
    const message = buildPfiMessage({
      action,
      report,
      lab: this.o.lab,
      filler: { number: fillerOrder, authority: lab },
      n1: readFileSync(join(dir, 'pro.n1.xml'), 'utf8'),
      n3: readFileSync(join(dir, 'pro.n3.xml'), 'utf8'),
      flags: {
        ...this.visibility(dir),
        dmp: c.dmp,
        mssProfessionals: c.mssProfessionals,
        mssPatient: c.mssPatient,
        ackReception: c.ackReception,
        ackRead: c.ackRead,
      },
      header: { application: c.application ?? lab, facility: c.facility ?? this.o.lab.lab.name, receivingApplication: c.receivingApplication, receivingFacility: c.receivingFacility },
      // Deterministic: a resend after a lost ACK carries the same MSH-10 for the PFI to dedupe.
      controlId: `${fillerOrder}.v${version}`.slice(-20),
      replyTo: c.replyTo,
      mailBody: c.mailBody,
    });
    const ack = await this.out.deliver({ id: `${fillerOrder}.v${version}`, controlId: message.controlId, message });
    await this.settle(lab, fillerOrder, version, 'sent', `MSH-10 ${message.controlId}, ${ack}`);
    this.o.logger.info('report version delivered to the PFI', { destination: this.o.name, version, action });
  }

  /** The masking and visibility the version was made with (its metadata). */
  private visibility(dir: string): { maskedFromProfessionals: boolean; invisibleToPatient: boolean; invisibleToLegalRepresentatives: boolean } {
    const meta = JSON.parse(readFileSync(join(dir, 'pro.metadata.json'), 'utf8')) as { confidentiality?: { maskedFromProfessionals: boolean; invisibleToPatient: boolean; invisibleToLegalRepresentatives: boolean } };
    return meta.confidentiality ?? { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false };
  }

  private settle(lab: string, fillerOrder: string, version: number, state: 'sent' | 'held' | 'dead', detail: string): Promise<void> {
    return this.o.store.putVersionDelivery({ lab, fillerOrder, version, target: PFI_TARGET, state, detail: detail.slice(0, 1000) });
  }
}

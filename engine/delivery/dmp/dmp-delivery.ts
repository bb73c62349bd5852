/**
 * Report versions filed in the patient's DMP (issue 9, item 2; ../shared/docs/dmp-mss-ins.md §1;
 * docs/design.md "Delivery of report versions"). One target, `dmp`, per version whose identity
 * is qualified (routing.ts); the rows, the order and the outage handling are VersionLine's.
 *
 *  - A version: ITI-41 with the N3, the N1 and the XAdES signature of the submission set, and
 *    an RPLC association from each to the entry the DMP holds of the last version filed (its
 *    entryUUID derived from that version's CDA id: we assign entryUUIDs, so nothing has to be
 *    looked up). A version that fails the full ANS set is held with the reason.
 *  - A withdrawal: ITI-57, the last filed version's N3 and N1 entries set to Deleted.
 *  - A resend after a lost answer carries the same document uniqueIds: the DMP's
 *    XDSDuplicateUniqueIdInRegistry then means "already filed", and the row says so.
 */
import { join } from 'node:path';
import type { LabProfile } from '../../lab';
import type { DmpConfig } from '../../config/channel-schema';
import type { ValidationPool } from '../../validation';
import { fullCheck } from '../../documents/release-check';
import { PasserelleError } from '../../errors';
import { readClientTls } from '../client-tls';
import { routeVersion } from '../routing';
import { readWrittenVersion, type WrittenVersion } from '../version-folder';
import { buildDeletionRequest, xdsFactsOfCda } from '../xds/metadata';
import { entryUuidOf } from '../xds/xdm';
import { VersionLine, type DeliveryContext, type DeliveryOutcome, type PlannedDelivery, type PublishedVersionEvent, type VersionLineOptions } from '../version-line';
import { DmpClient, type DmpOutcome } from './dmp-client';
import { loadSeal, type Seal } from './signer';
import { updateDocumentSet } from './soap';
import { cdaUniqueId, filingRequest, newOid, sourceIdOf, vihfFor } from './filing';
import type { BuildPool } from '../build-pool';

export const DMP_TARGET = 'dmp';

export interface DmpDeliveryOptions extends Omit<VersionLineOptions, 'retry'> {
  config: DmpConfig;
  lab: LabProfile;
  folderOf: (fillerOrder: string) => string;
  /** Runs the full ANS set. */
  validator: Pick<ValidationPool, 'validate'>;
  /** Builds the ITI-41 requests in worker threads (absent: on this thread). */
  builder?: Pick<BuildPool, 'dmpFiling'>;
}

export class DmpDelivery extends VersionLine {
  private readonly client: DmpClient;
  private readonly seal: Seal;

  constructor(private readonly o: DmpDeliveryOptions) {
    super(DMP_TARGET, { ...o, retry: o.config.retry });
    this.seal = loadSeal(o.config.seal, `destination ${o.name}: dmp.seal`);
    this.client = new DmpClient({
      url: o.config.url,
      tls: readClientTls(o.config.tls),
      connectTimeoutMs: o.config.connectTimeoutMs,
      responseTimeoutMs: o.config.responseTimeoutMs,
      maxSockets: o.partitions ?? 4,
    });
  }

  override async stop(drainDeadlineMs: number): Promise<void> {
    await super.stop(drainDeadlineMs);
    this.client.close();
  }

  protected async plan(v: PublishedVersionEvent): Promise<PlannedDelivery[]> {
    if (v.status === 'deleted') return (await this.earlierTargets(v)).map((target) => ({ target, state: 'queued' as const, detail: null }));
    if (!v.report) return [];
    const routing = routeVersion(v.report, { dmp: true, mssProfessionals: false, mssPatient: false });
    return [routing.dmp.send ? { target: DMP_TARGET, state: 'queued', detail: null } : { target: DMP_TARGET, state: 'held', detail: `not filed: ${routing.dmp.why}` }];
  }

  protected async deliver(ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const { fillerOrder, version, current, versions, earlier } = ctx;
    const folder = this.o.folderOf(fillerOrder);
    const statusOf = (n: number): string | undefined => versions.find((x) => x.version === n)?.status;
    // What the DMP holds of this report: the last version filed, unless withdrawn since.
    const filed = [...earlier].reverse().find((r) => r.state === 'sent' && r.detail?.startsWith('entryUUID'));
    const holds = filed && statusOf(filed.version) !== 'deleted' ? this.read(join(folder, `v${filed.version}`)) : undefined;

    if (current.status === 'deleted') {
      if (!holds) return { state: 'sent', detail: 'nothing filed to withdraw' };
      const entries = [holds.n3, ...(holds.n1 ? [holds.n1] : [])].map((x) => entryUuidOf(cdaUniqueId(x)));
      const facts = xdsFactsOfCda(holds.n3);
      const req = updateDocumentSet({
        to: this.client.endpoint('registry'),
        vihf: vihfFor(this.seal, this.o.lab, this.o.config, facts),
        submitObjects: buildDeletionRequest({ facts, lab: this.o.lab, entries, submissionUniqueId: newOid(), sourceId: sourceIdOf(this.o.config, this.o.lab), submissionTime: new Date() }),
      });
      const outcome = await this.client.send('registry', req);
      this.o.logger.info('report withdrawn from the DMP', { destination: this.o.name, target: DMP_TARGET, version });
      return { state: 'sent', detail: `deleted ${entries.join(', ')}${this.note(outcome)}` };
    }

    const dir = join(folder, `v${version}`);
    const verdict = await fullCheck(dir, 'pro', this.o.validator);
    if (!verdict.valid) {
      this.o.logger.warn('report version held: it fails the full ANS set', { destination: this.o.name, target: DMP_TARGET, code: 'PSL_VERSION_HELD', version });
      return { state: 'held', detail: verdict.reason ?? 'fails the full ANS set' };
    }
    const shown = this.read(dir);
    if (!xdsFactsOfCda(shown.n3).patient.ins) return { state: 'held', detail: 'not filed: the documents carry no qualified INS' };
    const endpoint = this.client.endpoint('repository');
    const filing = this.o.builder
      ? await this.o.builder.dmpFiling({ seal: this.o.config.seal, lab: this.o.lab, config: this.o.config, shownDir: dir, ...(holds ? { holdsDir: holds.dir } : {}), endpoint })
      : filingRequest({ seal: this.seal, lab: this.o.lab, config: this.o.config, shown, holds, endpoint });
    const req = filing.request;
    const outcome = await this.client.send('repository', req);
    this.o.logger.info('report version filed in the DMP', { destination: this.o.name, target: DMP_TARGET, version, replaces: holds ? filed!.version : undefined });
    const n1 = filing.n1Entry ? `; N1 entryUUID ${filing.n1Entry}` : '';
    return { state: 'sent', detail: `entryUUID ${filing.n3Entry}, uniqueId ${filing.n3UniqueId}${n1}; submission ${filing.submissionUniqueId}${this.note(outcome)}` };
  }

  private note(outcome: DmpOutcome): string {
    if (outcome.status === 'duplicate') return ' (already filed: a resend)';
    if (outcome.status === 'partial') return ` (partial success: ${outcome.errors.map((e) => e.errorCode).join(', ')})`;
    return '';
  }

  private read(dir: string): WrittenVersion {
    const v = readWrittenVersion(dir, 'pro');
    if (!v) throw new PasserelleError('PSL_MESSAGE_MISSING', `${dir}: the version's documents are missing`);
    return v;
  }
}

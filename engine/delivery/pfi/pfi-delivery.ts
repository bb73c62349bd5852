/**
 * Report versions to the hospital's integration platform (PFI) as ORU^R01 over MLLP (issue 9,
 * item 5; docs/design.md "Delivery of report versions"). One target, `pfi`, per version: the
 * rows, the order per report and the outage handling are VersionLine's. A version that fails
 * the full ANS set is `held` with the reason (never sent); a deletion withdraws the last
 * version sent.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { LabProfile } from '../../lab';
import type { PfiConfig } from '../../config/channel-schema';
import type { ValidationPool } from '../../validation';
import { reportFromJson, reportOf } from '../../reports';
import { fullCheck } from '../../documents/release-check';
import type { Correspondents } from '../../config/correspondents';
import { resolveCorrespondents, type DirectoryLookupStore } from '../../directory/resolver';
import { PasserelleError } from '../../errors';
import { lineClient } from '../outbound-line';
import type { MllpDestination } from '../mllp-destination';
import { VersionLine, type DeliveryContext, type DeliveryOutcome, type PlannedDelivery, type PublishedVersionEvent, type VersionLineOptions } from '../version-line';
import { directoryDoubts } from '../routing';
import { buildPfiMessage, type PfiAction } from './oru-message';

export const PFI_TARGET = 'pfi';
export type { PublishedVersionEvent } from '../version-line';

export interface PfiDeliveryOptions extends Omit<VersionLineOptions, 'retry'> {
  config: PfiConfig;
  lab: LabProfile;
  /** Where a report's versions are: `<directory>/<folder of filler order>`. */
  folderOf: (fillerOrder: string) => string;
  /** The lab's correspondents: the same addresses as the documents print. */
  correspondents?: Correspondents;
  /** The RPPS directory, asked after the correspondents file. */
  rppsDirectory?: DirectoryLookupStore;
  /** Runs the full ANS set. */
  validator: Pick<ValidationPool, 'validate'>;
}

export class PfiDelivery extends VersionLine {
  private readonly out: MllpDestination;

  constructor(private readonly o: PfiDeliveryOptions) {
    super(PFI_TARGET, { ...o, retry: o.config.retry });
    this.out = lineClient('pfi', o.config, o.defaultCharset);
  }

  override async stop(drainDeadlineMs: number): Promise<void> {
    await super.stop(drainDeadlineMs);
    await this.out.close();
  }

  protected async plan(v: PublishedVersionEvent): Promise<PlannedDelivery[]> {
    // The PFI mails the version; who the RPPS directory doubts is recorded here, beside the send.
    const doubts = v.status !== 'deleted' && v.report ? directoryDoubts(v.report) : [];
    return [
      { target: PFI_TARGET, state: 'queued', detail: null },
      ...doubts.map((d) => ({ target: `${PFI_TARGET}:(${d.who})`, state: 'held' as const, detail: `sent to the PFI, but ${d.why}` })),
    ];
  }

  protected async deliver(ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const { lab, fillerOrder, version, current, versions } = ctx;
    const folder = this.o.folderOf(fillerOrder);
    const earlier = versions.filter((x) => x.version < version && x.written);
    const lastShown = [...earlier].reverse().find((x) => x.status !== 'deleted');
    let action: PfiAction;
    let dir: string;
    if (current.status === 'deleted') {
      if (!lastShown) return { state: 'sent', detail: 'nothing published to withdraw' };
      action = 'delete';
      dir = join(folder, `v${lastShown.version}`);
    } else {
      dir = join(folder, `v${version}`);
      const verdict = await fullCheck(dir, 'pro', this.o.validator);
      if (!verdict.valid) {
        this.o.logger.warn('report version held: it fails the full ANS set', { destination: this.o.name, code: 'PSL_VERSION_HELD', version });
        return { state: 'held', detail: verdict.reason ?? 'fails the full ANS set' };
      }
      action = lastShown && earlier.at(-1)?.status !== 'deleted' ? 'replace' : 'create';
    }
    const stored = await this.o.store.getReport(lab, fillerOrder);
    if (!stored) throw new PasserelleError('PSL_MESSAGE_MISSING', `report ${fillerOrder} is not in the store`);
    const report = await resolveCorrespondents(reportOf(reportFromJson(stored.state)), this.o.correspondents, this.o.rppsDirectory);
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
    this.o.logger.info('report version delivered to the PFI', { destination: this.o.name, version, action });
    return { state: 'sent', detail: `MSH-10 ${message.controlId}, ${ack}` };
  }

  /** The masking and visibility the version was made with (its metadata). */
  private visibility(dir: string): { maskedFromProfessionals: boolean; invisibleToPatient: boolean; invisibleToLegalRepresentatives: boolean } {
    const meta = JSON.parse(readFileSync(join(dir, 'pro.metadata.json'), 'utf8')) as { confidentiality?: { maskedFromProfessionals: boolean; invisibleToPatient: boolean; invisibleToLegalRepresentatives: boolean } };
    return meta.confidentiality ?? { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false };
  }
}

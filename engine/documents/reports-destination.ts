/**
 * The `reports` destination of a channel: each result message updates the reports it names
 * and publishes their next versions (ReportPublisher). A message too large for a report is
 * refused before anything is parsed into it (the crbio destination's limits).
 */
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import type { Destination, OutboundMessage } from '../delivery/destination';
import { PfiDelivery } from '../delivery/pfi/pfi-delivery';
import { MssDelivery } from '../delivery/mss/mss-delivery';
import { DmpDelivery } from '../delivery/dmp/dmp-delivery';
import { BuildPool } from '../delivery/build-pool';
import type { VersionLine } from '../delivery/version-line';
import type { DmpConfig, MssConfig, PfiConfig } from '../config/channel-schema';
import type { Charset } from '../hl7';
import { checkReportLimits, DEFAULT_REPORT_LIMITS, type ReportLimits } from './limits';
import { ReportPublisher, safeName, type ReportPublisherOptions } from './report-publisher';
import { PasserelleError } from '../errors';
import type { MessageStore } from '../store';

export interface ReportsDestinationOptions extends Omit<ReportPublisherOptions, 'store'> {
  store: ReportPublisherOptions['store'] & Pick<MessageStore, 'putVersionDelivery' | 'versionDeliveries' | 'findVersionDeliveries' | 'queuedVersionDeliveries'>;
  name: string;
  limits?: ReportLimits;
  /** Versions to a PFI (ORU^R01), once they passed the full ANS set. Needs `lines`. */
  pfi?: PfiConfig;
  /** Versions mailed by MSSanté, once they passed the full ANS set. Needs `lines`. */
  mss?: MssConfig;
  /** Versions filed in the patient's DMP (qualified INS), once they passed the full ANS set. Needs `lines`. */
  dmp?: DmpConfig;
  /** Worker threads building the DMP requests; 0 = on the lines' thread. Default 1. */
  deliveryThreads?: number;
  /** What the destination's own outbound lines need (the engine's Redis; `<channel>.<destination>` names them). */
  lines?: { name: string; connection: RedisOptions; prefix: string; consume: boolean; defaultCharset: Charset };
}

export class ReportsDestination implements Destination {
  readonly name: string;
  /** Its publisher, with its delivery lines: what operators' actions publish through (engine/documents/publish-now.ts). */
  readonly publisher: ReportPublisher;

  /** The delivery lines of report versions (DMP, PFI, MSSanté), each on its own queue and breaker. */
  private readonly lines: VersionLine[] = [];

  /** Its delivery lines, to put a delivery an operator queued again on its line at once. */
  deliveryLines(): readonly Pick<VersionLine, 'owns' | 'enqueue'>[] {
    return this.lines;
  }
  /** Builds the DMP line's requests off the main thread. */
  private builder?: BuildPool;

  constructor(private readonly o: ReportsDestinationOptions) {
    this.name = o.name;
    if (o.pfi && !o.pfi.enabled) o.logger.warn('PFI delivery disabled: no address (set PASSERELLE_PFI_MLLP, e.g. mllp://127.0.0.1:2590)', { destination: o.name, code: 'PSL_DELIVERY_DISABLED' });
    if (o.mss && !o.mss.enabled) o.logger.warn('MSSanté delivery disabled: no SMTP server (set PASSERELLE_MSS_SMTP_URL, e.g. smtp://127.0.0.1:2525)', { destination: o.name, code: 'PSL_DELIVERY_DISABLED' });
    if (o.dmp && !o.dmp.enabled) o.logger.warn('DMP delivery disabled: no address (set PASSERELLE_DMP_URL, e.g. https://127.0.0.1:8443/si-dmp-server/v2/services)', { destination: o.name, code: 'PSL_DELIVERY_DISABLED' });
    const folderOf = (f: string): string => join(o.directory, safeName(f));
    if (o.dmp?.enabled) {
      if ((o.deliveryThreads ?? 1) > 0) this.builder = new BuildPool(o.deliveryThreads ?? 1);
      this.lines.push(new DmpDelivery({ ...this.lineDeps('dmp'), config: o.dmp, store: o.store, lab: o.lab, folderOf, validator: this.releaseValidator('dmp'), builder: this.builder, logger: o.logger }));
    }
    if (o.pfi?.enabled) this.lines.push(new PfiDelivery({ ...this.lineDeps('pfi'), config: o.pfi, store: o.store, lab: o.lab, folderOf, validator: this.releaseValidator('pfi'), correspondents: o.correspondents, rppsDirectory: o.rppsDirectory, logger: o.logger }));
    if (o.mss?.enabled) {
      this.lines.push(
        new MssDelivery({ ...this.lineDeps('mss'), config: o.mss, store: o.store, lab: o.lab, folderOf, validator: this.releaseValidator('mss'), invisibleToPatient: o.visibility?.invisibleToPatient, logger: o.logger }),
      );
    }
    // With a delivery, its release check runs the full ANS set (once, gating the send); no background run besides.
    this.publisher = new ReportPublisher(this.lines.length > 0 ? { ...o, fullValidator: undefined, deliveries: this.lines } : o);
  }

  private lineDeps(what: string): NonNullable<ReportsDestinationOptions['lines']> {
    if (!this.o.lines) throw new PasserelleError('PSL_CONFIG_INVALID', `destination ${this.o.name}: a ${what} delivery needs the engine's Redis`);
    return this.o.lines;
  }

  private releaseValidator(what: string): NonNullable<ReportsDestinationOptions['fullValidator']> | NonNullable<ReportsDestinationOptions['kit']> {
    const validator = this.o.fullValidator ?? this.o.kit;
    if (!validator) throw new PasserelleError('PSL_DOCUMENT_KIT_UNAVAILABLE', `destination ${this.o.name}: a ${what} delivery needs the ANS kit to check each version first`);
    return validator;
  }

  async start(): Promise<void> {
    for (const l of this.lines) await l.start();
  }

  async stop(drainDeadlineMs: number): Promise<void> {
    await Promise.all(this.lines.map((l) => l.stop(drainDeadlineMs)));
    await this.builder?.close();
  }

  deliver(out: OutboundMessage): Promise<string> {
    checkReportLimits(out.message, this.o.limits ?? DEFAULT_REPORT_LIMITS);
    return this.publisher.handle(out.message, out.id);
  }

  /** Waits for the full validations still running (the engine bounds the wait by its stop deadline). */
  async close(): Promise<void> {
    await this.publisher.close();
  }
}

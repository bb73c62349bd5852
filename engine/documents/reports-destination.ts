/**
 * The `reports` destination of a channel: each result message updates the reports it names
 * and publishes their next versions (ReportPublisher). A message too large for a report is
 * refused before anything is parsed into it (the crbio destination's limits).
 */
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import type { Destination, OutboundMessage } from '../delivery/destination';
import { PfiDelivery } from '../delivery/pfi/pfi-delivery';
import type { PfiConfig } from '../config/channel-schema';
import type { Charset } from '../hl7';
import { checkReportLimits, DEFAULT_REPORT_LIMITS, type ReportLimits } from './limits';
import { ReportPublisher, safeName, type ReportPublisherOptions } from './report-publisher';
import { PasserelleError } from '../errors';
import type { MessageStore } from '../store';

export interface ReportsDestinationOptions extends Omit<ReportPublisherOptions, 'store'> {
  store: ReportPublisherOptions['store'] & Pick<MessageStore, 'putVersionDelivery' | 'versionDeliveries' | 'queuedVersionDeliveries'>;
  name: string;
  limits?: ReportLimits;
  /** Versions to a PFI (ORU^R01), once they passed the full ANS set. Needs `lines`. */
  pfi?: PfiConfig;
  /** What the destination's own outbound lines need (the engine's Redis; `<channel>.<destination>` names them). */
  lines?: { name: string; connection: RedisOptions; prefix: string; consume: boolean; defaultCharset: Charset };
}

export class ReportsDestination implements Destination {
  readonly name: string;
  private readonly publisher: ReportPublisher;

  private readonly pfi?: PfiDelivery;

  constructor(private readonly o: ReportsDestinationOptions) {
    this.name = o.name;
    if (o.pfi && !o.pfi.enabled) o.logger.warn('PFI delivery disabled: no address (set PASSERELLE_PFI_MLLP, e.g. mllp://127.0.0.1:2590)', { destination: o.name, code: 'PSL_DELIVERY_DISABLED' });
    if (o.pfi?.enabled) {
      if (!o.lines) throw new PasserelleError('PSL_CONFIG_INVALID', `destination ${o.name}: a pfi delivery needs the engine's Redis`);
      const validator = o.fullValidator ?? o.kit;
      if (!validator) throw new PasserelleError('PSL_DOCUMENT_KIT_UNAVAILABLE', `destination ${o.name}: a pfi delivery needs the ANS kit to check each version first`);
      this.pfi = new PfiDelivery({ ...o.lines, config: o.pfi, store: o.store, lab: o.lab, folderOf: (f) => join(o.directory, safeName(f)), validator, correspondents: o.correspondents, logger: o.logger });
    }
    // With a delivery, its release check runs the full ANS set (once, gating the send); no background run besides.
    this.publisher = new ReportPublisher(this.pfi ? { ...o, fullValidator: undefined, deliveries: [this.pfi] } : o);
  }

  async start(): Promise<void> {
    await this.pfi?.start();
  }

  async stop(drainDeadlineMs: number): Promise<void> {
    await this.pfi?.stop(drainDeadlineMs);
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

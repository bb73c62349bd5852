/**
 * The `reports` destination of a channel: each result message updates the reports it names
 * and publishes their next versions (ReportPublisher). A message too large for a report is
 * refused before anything is parsed into it (the crbio destination's limits).
 */
import type { Destination, OutboundMessage } from '../delivery/destination';
import { checkReportLimits, DEFAULT_REPORT_LIMITS, type ReportLimits } from './limits';
import { ReportPublisher, type ReportPublisherOptions } from './report-publisher';

export interface ReportsDestinationOptions extends ReportPublisherOptions {
  name: string;
  limits?: ReportLimits;
}

export class ReportsDestination implements Destination {
  readonly name: string;
  private readonly publisher: ReportPublisher;

  constructor(private readonly o: ReportsDestinationOptions) {
    this.name = o.name;
    this.publisher = new ReportPublisher(o);
  }

  deliver(out: OutboundMessage): Promise<string> {
    checkReportLimits(out.message, this.o.limits ?? DEFAULT_REPORT_LIMITS);
    return this.publisher.handle(out.message, out.id);
  }

  /** Waits for the full validations still running (the engine bounds the wait by its stop deadline). */
  close(): Promise<void> {
    return this.publisher.close();
  }
}

/**
 * Report version → validated document set (issue 8). engine/documents sits between the
 * reports (engine/reports) and the builders (engine/cda, engine/pdf, engine/validation).
 */
export { ReportPublisher, VERSION_LEASE_MS } from './report-publisher';
export type { ReportPublisherOptions } from './report-publisher';
export { ReportsDestination } from './reports-destination';
export type { ReportsDestinationOptions } from './reports-destination';
export { reportsDestinationOptions } from './from-config';

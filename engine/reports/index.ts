/**
 * Reports across messages (issue 8): a lab file's results accumulated over its messages, and
 * the versions published from them. engine/reports imports engine/lab and the store's
 * interface; documents render its state (reportOf) as any report.
 */
export type * from './state';
export { applyUpdate, emptyReport, observationKey, patientKeys, pendingObservations, splitByReport } from './accumulate';
export type { ApplyOutcome, Change, ReportUpdate } from './accumulate';
export { ReportBook } from './report-book';
export { cloneReport, reportFromJson, reportToJson } from './serialize';
export { hasContent, reportOf } from './to-report';
export { contentHash, nextPublication } from './versions';
export type { Publication, PublishPolicy, PublishedVersion } from './versions';

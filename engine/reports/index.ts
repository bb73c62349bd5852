/**
 * Reports across messages (issue 8): a lab file's results accumulated over its messages.
 * engine/reports imports engine/lab and the store's interface; documents render its state.
 */
export type * from './state';
export { applyUpdate, emptyReport, observationKey, patientKeys, pendingObservations, splitByReport } from './accumulate';
export type { ApplyOutcome, Change, ReportUpdate } from './accumulate';
export { ReportBook } from './report-book';
export { cloneReport, reportFromJson, reportToJson } from './serialize';

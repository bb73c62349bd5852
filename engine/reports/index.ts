/**
 * Reports across messages (issue 8): a lab file's results accumulated over its messages.
 * engine/reports imports engine/lab only; the store persists its state, documents render it.
 */
export type * from './state';
export { applyUpdate, emptyReport, observationKey, patientKeys, pendingObservations, splitByReport } from './accumulate';
export type { ApplyOutcome, Change, ReportUpdate } from './accumulate';

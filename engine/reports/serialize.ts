/**
 * ReportState ↔ the JSON text the store keeps; binary results stay Buffers (engine/lab/wire-json.ts).
 */
import { fromWireJson, toWireJson } from '../lab';
import type { ReportState } from './state';

export function reportToJson(state: ReportState): string {
  return toWireJson(state);
}

export function reportFromJson(text: string): ReportState {
  return fromWireJson<ReportState>(text);
}

/** A deep copy that keeps Buffers Buffers (structuredClone gives back plain Uint8Arrays). */
export function cloneReport(state: ReportState): ReportState {
  return reportFromJson(reportToJson(state));
}

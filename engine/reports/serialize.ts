/**
 * ReportState ↔ the JSON text the store keeps. Binary values (ED results: a subcontractor's
 * PDF) travel as base64 and come back as Buffers, which JSON alone would turn into arrays of
 * numbers that renderers could not use.
 */
import type { ReportState } from './state';

const BINARY = '$base64';

export function reportToJson(state: ReportState): string {
  return JSON.stringify(state, function (this: Record<string, unknown>, key: string, value: unknown) {
    const original = this[key]; // before Buffer#toJSON
    return original instanceof Uint8Array ? { [BINARY]: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') } : value;
  });
}

export function reportFromJson(text: string): ReportState {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const b64 = (value as Record<string, unknown>)[BINARY];
      if (typeof b64 === 'string' && Object.keys(value).length === 1) return Buffer.from(b64, 'base64');
    }
    return value;
  }) as ReportState;
}

/** A deep copy that keeps Buffers Buffers (structuredClone gives back plain Uint8Arrays). */
export function cloneReport(state: ReportState): ReportState {
  return reportFromJson(reportToJson(state));
}

/**
 * A report's accumulated state → the typed Report that engine/cda and engine/pdf render: the
 * requests in the order first seen, each with its observations' current values (withdrawn ones
 * left out), renumbered r1, r2… so narrative references stay unique. The same renderers as for
 * one message: a version is rendered like any report.
 */
import { groupIsolates } from '../lab';
import type { Professional, Report, Request, Result, ResultStatus } from '../lab';
import type { ReportState } from './state';

const DONE: ReadonlySet<ResultStatus> = new Set(['final', 'corrected', 'cancelled']);

function tsKey(ts: string | undefined): string {
  return (ts ?? '').replace(/[^0-9]/g, '').slice(0, 14).padEnd(14, '0');
}

/**
 * `awaited`: OBR-4 codes of the tests the order asks for (engine/orders, cancelled ones left
 * out). The report is complete only when each of them has a request whose results are done;
 * without an order, the requests the results name are all there is to wait for.
 */
export function reportOf(state: ReportState, awaited: readonly string[] = []): Report {
  let n = 0;
  const requests: Request[] = [];
  for (const entry of state.requests) {
    const results: Result[] = state.observations
      .filter((e) => e.requestKey === entry.key && e.current)
      .map((e) => ({ ...e.current!, id: `r${++n}` }));
    if (results.length === 0) continue; // every result withdrawn: nothing left to show
    const request: Request = { ...entry.request, results, status: requestStatus(entry.request.status, results) };
    const isolates = groupIsolates(results);
    if (isolates) request.isolates = isolates;
    requests.push(request);
  }
  const all = requests.flatMap((r) => r.results);
  const validated = all.filter((r) => r.validatedAt);
  let latest: Result | undefined;
  for (const r of validated) if (!latest || tsKey(r.validatedAt) >= tsKey(latest.validatedAt)) latest = r;
  const validator: Professional | undefined = [...validated].reverse().find((r) => r.validator && tsKey(r.validatedAt) === tsKey(latest?.validatedAt))?.validator;
  const report: Report = {
    ...state.header,
    patient: state.patientRecord,
    requests,
    completeness:
      all.length > 0 && all.every((r) => DONE.has(r.status)) && requests.every((r) => DONE.has(r.status)) && awaited.every((code) => requests.some((r) => requestCodes(r).includes(code)))
        ? 'complete'
        : 'partial',
    autoValidated: all.some((r) => r.autoValidated),
  };
  if (latest?.validatedAt) report.validatedAt = latest.validatedAt;
  if (validator) report.validator = validator;
  return report;
}

function requestCodes(r: Request): string[] {
  return [r.code.loinc?.code, r.code.local?.code].filter((c): c is string => !!c);
}

/** The request's own status, unless its results say it is not done yet. */
function requestStatus(sent: ResultStatus, results: Result[]): ResultStatus {
  if (results.some((r) => !DONE.has(r.status))) return results.every((r) => r.status === 'pending') ? 'pending' : 'preliminary';
  if (!DONE.has(sent)) return results.some((r) => r.status === 'corrected') ? 'corrected' : results.every((r) => r.status === 'cancelled') ? 'cancelled' : 'final';
  return sent;
}

/** Observations left to show: none means the report was withdrawn whole. */
export function hasContent(state: ReportState): boolean {
  return state.observations.some((e) => e.current);
}

/**
 * When a report is published, and as which version (DSR SGL DMP.03/.04, MSS.23–25): each
 * publication is the next version of one set (versionNumber + 1, RPLC to the previous
 * document), `active` while tests are pending and `completed` when none are; a report whose
 * every result was withdrawn becomes a deletion of the published document; the same content
 * twice makes no new version. Pure: the store records versions (strictly increasing per report,
 * its primary key refusing a second writer of the same number), documents render them.
 */
import { createHash } from 'node:crypto';
import { toWireJson } from '../lab';
import type { ReportState } from './state';
import { hasContent, reportOf } from './to-report';

/**
 * every-change (default): at every validated change; when-complete: only once every test is
 * final or cancelled; on-request: only when an operator asks (`passerelle publish`).
 */
export type PublishPolicy = 'every-change' | 'when-complete' | 'on-request';

/** What the store keeps of a version once published. */
export interface PublishedVersion {
  version: number;
  status: 'active' | 'completed' | 'deleted';
  /** Hash of the content it was rendered from (contentHash). */
  contentHash: string;
  /** Report revision it was made from. */
  revision: number;
}

export type Publication =
  | { kind: 'none'; why: 'nothing-published-to-delete' | 'same-content' | 'waiting-for-complete' | 'waiting-for-request' | 'already-deleted' | 'nothing-validated' }
  | { kind: 'publish'; version: number; status: 'active' | 'completed'; replaces?: number; contentHash: string }
  /** The published document is withdrawn: `version` is the deletion's own number, `deletes` the version it takes back. */
  | { kind: 'delete'; version: number; deletes: number; contentHash: string };

/** What a version shows, whatever message brought it: the same content hashes the same. */
export function contentHash(state: ReportState, awaited: readonly string[] = []): string {
  const { sourceControlId: _s, messageType: _m, ...shown } = reportOf(state, awaited);
  return createHash('sha256').update(toWireJson(shown)).digest('hex');
}

/** `awaited`: the ordered tests' codes (reportOf). */
export function nextPublication(state: ReportState, last: PublishedVersion | undefined, policy: PublishPolicy, requested = false, awaited: readonly string[] = []): Publication {
  const hash = contentHash(state, awaited);
  const version = (last?.version ?? 0) + 1;
  if (!hasContent(state)) {
    if (!last) return { kind: 'none', why: 'nothing-published-to-delete' };
    if (last.status === 'deleted') return { kind: 'none', why: 'already-deleted' };
    return { kind: 'delete', version, deletes: last.version, contentHash: hash };
  }
  if (last && last.status !== 'deleted' && last.contentHash === hash) return { kind: 'none', why: 'same-content' };
  const report = reportOf(state, awaited);
  const validated = report.requests.some((r) => r.results.some((x) => x.status === 'final' || x.status === 'corrected' || x.status === 'cancelled'));
  if (!validated && !requested) return { kind: 'none', why: 'nothing-validated' };
  const status = report.completeness === 'complete' ? 'completed' : 'active';
  if (!requested) {
    if (policy === 'on-request') return { kind: 'none', why: 'waiting-for-request' };
    if (policy === 'when-complete' && status !== 'completed') return { kind: 'none', why: 'waiting-for-complete' };
  }
  const out: Publication = { kind: 'publish', version, status, contentHash: hash };
  if (last && last.status !== 'deleted') out.replaces = last.version;
  return out;
}

import { PasserelleError } from '../../errors';
import { auditCsv } from '../audit-log';
import type { AuditQuery, AuditRow } from '../store/types';
import type { PlatformRoutes } from '../platform';

type AuditParams = { user?: string; action?: string; target?: string; patient?: string; from?: string; to?: string; before?: string; limit?: string };

const CSV_PAGE = 1000;
/** An export is bounded: narrow it by dates for more. */
const CSV_MAX = 100_000;

function filters(q: AuditParams): Omit<AuditQuery, 'limit'> {
  const date = (v: string | undefined, name: string): Date | undefined => {
    if (!v) return undefined;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new PasserelleError('PSL_CONFIG_INVALID', `${name} must be a date (ISO 8601)`);
    return d;
  };
  const before = q.before ? Number(q.before) : undefined;
  if (before !== undefined && !Number.isInteger(before)) throw new PasserelleError('PSL_CONFIG_INVALID', 'before must be an audit row id');
  return {
    ...(q.user ? { user: q.user } : {}),
    ...(q.action ? { action: q.action } : {}),
    ...(q.target ? { target: q.target } : {}),
    ...(q.patient === '1' || q.patient === 'true' ? { patient: true } : q.patient === '0' || q.patient === 'false' ? { patient: false } : {}),
    from: date(q.from, 'from'),
    to: date(q.to, 'to'),
    beforeId: before,
  };
}

const view = (r: AuditRow): Record<string, unknown> => ({ ...r, at: r.at.toISOString() });

/**
 * GET /api/audit (admin): newest first, filtered by user, action (`message.` for a family),
 * target, patient, from / to; `before` pages (the `next` of the previous page).
 * GET /api/audit.csv: the same filters, every matching row (at most 100,000). Reading the audit
 * log is audited too.
 */
export const auditRoutes: PlatformRoutes = (app, p) => {
  app.get<{ Querystring: AuditParams }>('/api/audit', { config: { role: 'admin' } }, async (req) => {
    const limit = Math.min(500, Math.max(1, Number(req.query.limit) || 100));
    const rows = await p.consoleStore.queryAudit({ ...filters(req.query), limit });
    return { entries: rows.map(view), next: rows.length === limit ? rows[rows.length - 1]!.id : null };
  });

  app.get<{ Querystring: AuditParams }>('/api/audit.csv', { config: { role: 'admin' } }, async (req, reply) => {
    const f = filters(req.query);
    await p.audit(req, { action: 'audit.export', target: 'audit_log', detail: new URLSearchParams(req.query as Record<string, string>).toString().slice(0, 500) });
    const parts: string[] = [];
    let before = f.beforeId;
    for (let n = 0; n < CSV_MAX; ) {
      const rows = await p.consoleStore.queryAudit({ ...f, beforeId: before, limit: CSV_PAGE });
      parts.push(auditCsv(rows, n === 0));
      n += rows.length;
      if (rows.length < CSV_PAGE) break;
      before = rows[rows.length - 1]!.id;
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="passerelle-audit-${new Date().toISOString().slice(0, 10)}.csv"`)
      .send(parts.join(''));
  });
};

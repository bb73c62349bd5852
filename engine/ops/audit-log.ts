import type { FastifyRequest } from 'fastify';
import { PasserelleError } from '../errors';
import type { Logger } from '../runtime/logger';
import type { AuditEntry } from './context';
import type { AuditRow, ConsoleStore } from './store/types';

/**
 * Who did or saw what, when, from where (INS.03: every access to a patient's identity is
 * traced). A view that cannot be traced is not served: a failed write refuses the request.
 */
export class AuditLog {
  constructor(private readonly store: ConsoleStore, private readonly logger: Logger) {}

  record(req: FastifyRequest, e: AuditEntry): Promise<void> {
    return this.write({ userName: req.user?.name ?? '-', via: req.user?.via ?? '-', ip: req.ip }, e);
  }

  async write(who: { userName: string; via: string; ip: string }, e: AuditEntry): Promise<void> {
    try {
      await this.store.appendAudit({
        at: new Date(),
        ...who,
        action: e.action,
        target: e.target.slice(0, 500),
        patient: e.patient ?? false,
        detail: e.detail === undefined ? null : e.detail.slice(0, 1000),
      });
    } catch (err) {
      this.logger.error('audit log write failed; request refused', { code: 'PSL_AUDIT_UNAVAILABLE', error: (err as Error)?.message });
      throw new PasserelleError('PSL_AUDIT_UNAVAILABLE', undefined, { cause: err });
    }
  }
}

const CSV_HEADER = 'id,at,user,via,ip,action,target,patient,detail\r\n';

/** RFC 4180 lines; a leading = + - @ is quoted with a ' so a spreadsheet never runs it as a formula. */
export function auditCsv(rows: readonly AuditRow[], header: boolean): string {
  const cell = (v: string): string => {
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const lines = rows.map((r) =>
    [String(r.id), r.at.toISOString(), r.userName, r.via, r.ip, r.action, r.target, r.patient ? '1' : '0', r.detail ?? ''].map(cell).join(',') + '\r\n',
  );
  return (header ? CSV_HEADER : '') + lines.join('');
}

import type { AuditQuery } from './types';

/**
 * The WHERE clause of an audit query for either store: `param(n)` writes the n-th placeholder
 * (`?` for SQLite, `$n` for PostgreSQL); `time` and `bool` turn values into the columns' types.
 */
export function auditWhere(
  q: AuditQuery,
  param: (n: number) => string,
  time: (d: Date) => unknown,
  bool: (b: boolean) => unknown,
): { sql: string; args: unknown[] } {
  const clauses: string[] = [];
  const args: unknown[] = [];
  const push = (v: unknown): string => param(args.push(v));
  if (q.user !== undefined) clauses.push(`user_name = ${push(q.user)}`);
  if (q.action !== undefined) {
    // `message.` means every action of that family.
    if (q.action.endsWith('.')) clauses.push(`substr(action, 1, ${push(q.action.length)}) = ${push(q.action)}`);
    else clauses.push(`action = ${push(q.action)}`);
  }
  if (q.target !== undefined) clauses.push(`target = ${push(q.target)}`);
  if (q.patient !== undefined) clauses.push(`patient = ${push(bool(q.patient))}`);
  if (q.from) clauses.push(`at >= ${push(time(q.from))}`);
  if (q.to) clauses.push(`at < ${push(time(q.to))}`);
  if (q.beforeId !== undefined) clauses.push(`id < ${push(q.beforeId)}`);
  return { sql: clauses.length ? 'WHERE ' + clauses.join(' AND ') : '', args };
}

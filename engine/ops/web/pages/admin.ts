/**
 * Admin pages: `/audit`, the audit log with filters, paging and its CSV export
 * (/api/audit.csv); `/users`, users and API tokens, whose buttons and forms call the platform's
 * JSON API (engine/ops/api/users.ts: its checks and audit apply). A platform route module: it
 * reads the console store the platform owns.
 */
import type { FastifyRequest } from 'fastify';
import type { PlatformRoutes } from '../../platform';
import type { AuditQuery, AuditRow } from '../../store/types';
import type { TokenView, UserView } from '../../auth/user-admin';
import { dateParam, intParam } from '../../api/common';
import { html, query, truncate, type Html } from '../html';
import { badge, pageRoute } from '../layout';

type AuditParams = Partial<Record<'user' | 'action' | 'target' | 'patient' | 'from' | 'to' | 'before', string>>;

/** The page's filters as an audit query (datetime-local values are the server's local time). */
function auditQuery(p: AuditParams): AuditQuery {
  const s = (v: string | undefined): string | undefined => (v?.trim() ? v.trim() : undefined);
  return {
    ...(s(p.user) ? { user: s(p.user) } : {}),
    ...(s(p.action) ? { action: s(p.action) } : {}),
    ...(s(p.target) ? { target: s(p.target) } : {}),
    ...(p.patient === '1' ? { patient: true } : p.patient === '0' ? { patient: false } : {}),
    from: dateParam(s(p.from), 'from'),
    to: dateParam(s(p.to), 'to'),
    ...(p.before ? { beforeId: intParam(p.before, 0, 1, Number.MAX_SAFE_INTEGER) } : {}),
    limit: 100,
  };
}

function auditForm(p: AuditParams): Html {
  const input = (name: keyof AuditParams, label: string, type = 'text'): Html => html`<label>${label} <input type="${type}" name="${name}" value="${p[name] ?? ''}"></label>`;
  return html`<form method="get" action="/audit" class="search">
  ${input('user', 'User')} ${input('action', 'Action (e.g. message.)')} ${input('target', 'Target')}
  <label>Patient data <select name="patient"><option value="">any</option><option value="1"${p.patient === '1' ? html` selected` : ''}>yes</option><option value="0"${p.patient === '0' ? html` selected` : ''}>no</option></select></label>
  ${input('from', 'From', 'datetime-local')} ${input('to', 'To', 'datetime-local')}
  <button type="submit">Filter</button> <a href="/audit">Clear</a>
  <a class="button" href="/api/audit.csv${query({ ...p, before: undefined })}">Export CSV</a>
</form>`;
}

function auditTable(entries: AuditRow[]): Html {
  if (entries.length === 0) return html`<p class="muted">No entry matches.</p>`;
  return html`<table class="grid"><thead><tr><th>When</th><th>User</th><th>Via</th><th>From</th><th>Action</th><th>Target</th><th>Patient data</th><th>Detail</th></tr></thead><tbody>${entries.map(
    (e) => html`<tr><td class="nowrap">${e.at.toISOString().replace('T', ' ').slice(0, 19)}</td><td>${e.userName}</td><td>${e.via}</td><td>${e.ip}</td><td><code>${e.action}</code></td>
  <td>${truncate(e.target, 80)}</td><td>${e.patient ? badge('yes') : ''}</td><td class="small">${truncate(e.detail, 120)}</td></tr>`,
  )}</tbody></table>`;
}


function usersBody(users: UserView[], tokens: TokenView[]): Html {
  const post = (url: string, label: string, extra: Html | string = ''): Html =>
    html`<button type="button" class="small" data-action="${url}" data-refresh="#users"${extra}>${label}</button>`;
  return html`<div id="users" data-refresh-url="/users">
<table class="grid"><thead><tr><th>User</th><th>Role</th><th>State</th><th>Last login</th><th></th></tr></thead><tbody>${users.map(
    (u) => html`<tr><td>${u.name}</td><td>${badge(u.role)}</td><td>${u.disabled ? badge('disabled') : u.mustChangePassword ? badge('password change due') : badge('ok')}</td>
  <td>${u.lastLoginAt?.replace('T', ' ').slice(0, 19) ?? ''}</td>
  <td>${['viewer', 'operator', 'admin'].filter((r) => r !== u.role).map((r) => post(`/api/users/${encodeURIComponent(u.name)}/role`, `make ${r}`, html` data-body="${JSON.stringify({ role: r })}"`))}
    ${post(`/api/users/${encodeURIComponent(u.name)}/${u.disabled ? 'enable' : 'disable'}`, u.disabled ? 'enable' : 'disable')}
    ${post(`/api/users/${encodeURIComponent(u.name)}/reset`, 'reset password', html` data-confirm="Generate a new password for ${u.name}?"`)}</td></tr>`,
  )}</tbody></table>
<h2>New user</h2>
<form class="search" data-post-form="/api/users" data-refresh="#users">
  <label>Name <input name="name" required></label>
  <label>Role <select name="role"><option>viewer</option><option>operator</option><option>admin</option></select></label>
  <button type="submit">Create (a password is generated)</button>
</form>
<h2>API tokens</h2>
${tokens.length === 0 ? html`<p class="muted">No token.</p>` : html`<table class="grid"><thead><tr><th>Id</th><th>User</th><th>Label</th><th>Role</th><th>Created</th><th>Last used</th><th></th></tr></thead><tbody>${tokens.map(
    (t) => html`<tr><td><code>${t.id}</code></td><td>${t.user}</td><td>${t.label}</td><td>${badge(t.role)}</td><td>${t.createdAt.slice(0, 10)}</td><td>${t.lastUsedAt?.slice(0, 19) ?? ''}</td>
  <td>${t.revokedAt ? badge('revoked') : post(`/api/tokens/${encodeURIComponent(t.id)}/revoke`, 'revoke', html` data-confirm="Revoke this token?"`)}</td></tr>`,
  )}</tbody></table>`}
<form class="search" data-post-form="/api/tokens" data-refresh="#users">
  <label>User <select name="user">${users.map((u) => html`<option>${u.name}</option>`)}</select></label>
  <label>Label <input name="label" placeholder="e.g. nightly export"></label>
  <button type="submit">Create a token (shown once)</button>
</form>
</div>`;
}

export const adminPageRoutes: PlatformRoutes = (app, p) => {
  const admin = { config: { role: 'admin' as const } };
  app.get('/audit', admin, pageRoute(async (req: FastifyRequest<{ Querystring: AuditParams }>) => {
    const q = auditQuery(req.query);
    const rows = await p.consoleStore.queryAudit(q);
    const older = rows.length < q.limit ? '' : html`<a class="button" href="/audit${query({ ...req.query, before: rows[rows.length - 1]!.id })}">Older entries →</a>`;
    return { title: 'Audit log', section: 'audit', body: html`${auditForm(req.query)}${auditTable(rows)}<p class="pager">${older}</p>` };
  }));
  app.get('/users', admin, pageRoute(async () => {
    const [users, tokens] = await Promise.all([p.users.list(), p.users.listTokens()]);
    return { title: 'Users and tokens', section: 'users', body: usersBody(users, tokens) };
  }));
};

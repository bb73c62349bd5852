import type { FastifyReply, FastifyRequest } from 'fastify';
import { PasserelleError, errorCodeOf, retryClassOf } from '../errors';

/**
 * Small HTTP helpers shared by the console's modules. Errors of the API are JSON
 * `{ statusCode, error, code, message }`: `code` is a PSL_ code from engine/errors.ts, or for the
 * console's own refusals one of unauthenticated, forbidden, password_change_required,
 * bad_origin, login_failed, rate_limited, not_found, bad_request.
 */
export interface ApiError {
  statusCode: number;
  error: string;
  code: string;
  message: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** JSON routes: the API and /metrics. Everything else is a page (redirects to /login, HTML errors). */
export function isApiUrl(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url === '/metrics' || url.startsWith('/metrics?');
}

export function apiError(reply: FastifyReply, statusCode: number, code: string, message: string): FastifyReply {
  const body: ApiError = { statusCode, error: REASONS[statusCode] ?? 'Error', code, message };
  return reply.code(statusCode).type('application/json; charset=utf-8').send(body);
}

const STATUS_BY_CODE: Record<string, number> = {
  PSL_CONFIG_INVALID: 400,
  PSL_PASSWORD_REJECTED: 400,
  PSL_CONSOLE_BAD_REQUEST: 400,
  PSL_ACTION_INVALID: 400,
  PSL_CONSOLE_FORBIDDEN: 403,
  PSL_CONSOLE_NOT_FOUND: 404,
  PSL_MESSAGE_MISSING: 404,
  PSL_REPROCESS_REFUSED: 409,
  PSL_CONSOLE_CONFLICT: 409,
};

/**
 * The HTTP status of a thrown error: an explicit `statusCode` (fastify's own errors, or a
 * route's), the code's entry above, else by the code's name (an unknown target 404, an action
 * that does not apply 409, as engine/ops/api/common.ts reads them too), 503 for transient
 * coded errors, else 500.
 */
export function statusOf(err: unknown): number {
  const e = err as { statusCode?: unknown; validation?: unknown };
  if (e?.validation) return 400;
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode <= 599) return e.statusCode;
  const code = errorCodeOf(err);
  if (code in STATUS_BY_CODE) return STATUS_BY_CODE[code]!;
  if (/^PSL_.*_(UNKNOWN|MISSING|NOT_FOUND)$/.test(code)) return 404;
  if (/^PSL_.*_(REFUSED|CONFLICT|AMBIGUOUS|RECEIPT|HELD|NEWER_SENT|NOT_DEAD|SENT|NOT_PARKED|DISABLED|NOT_RUNNING|NO_DESTINATION)$/.test(code) && retryClassOf(err) === 'permanent') return 409;
  if (err instanceof PasserelleError || (err && typeof err === 'object' && 'retry' in err)) return retryClassOf(err) === 'transient' ? 503 : 500;
  return 500;
}

/** What an error may tell the client: coded errors their message; anything else only that it failed. */
export function publicMessage(err: unknown, status: number): string {
  const e = err as { message?: unknown; code?: unknown; validation?: unknown };
  if (status < 500 || err instanceof PasserelleError) return typeof e?.message === 'string' ? e.message : 'error';
  return 'internal error (the engine log has the details)';
}

/** `next` after a login: a path of this console only (no scheme, no //host). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.length > 2000) return '/';
  return next;
}

/**
 * A state-changing request carried by a cookie must come from the console's own pages: its
 * Origin (or Referer) names the host it was sent to. `required` false lets a request without
 * either through (a login from a script), never one from another origin.
 */
export function sameOrigin(req: FastifyRequest, required: boolean): boolean {
  const from = req.headers.origin ?? req.headers.referer;
  if (!from || from === 'null') return !required && from === undefined;
  try {
    return new URL(from).host === req.host;
  } catch {
    return false;
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A minimal page of the console's own (login, password, errors): the pages engineer's stylesheet, no script. */
export function simplePage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Passerelle</title><link rel="stylesheet" href="/static/console.css"></head>
<body class="simple-page"><main class="simple-box"><h1>Passerelle</h1>
${body}
</main></body></html>`;
}

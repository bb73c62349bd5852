import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { roleAtLeast } from '../context';
import { apiError, escapeHtml, isApiUrl, sameOrigin, simplePage } from '../http';
import type { Authenticated, Authenticator } from './authenticator';
import { readCookie } from './cookies';

export const SESSION_COOKIE = 'psl_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session carrying the request, if any (logout, password change). */
    consoleSession?: { sid: string; mustChangePassword: boolean };
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A bearer token when one is sent (a bad one is not replaced by the cookie), else the session cookie. */
export async function authenticate(req: FastifyRequest, auth: Authenticator): Promise<Authenticated | undefined> {
  const h = req.headers.authorization;
  if (h !== undefined) return /^Bearer\s+/i.test(h) ? auth.fromToken(h.replace(/^Bearer\s+/i, '').trim()) : undefined;
  const sid = readCookie(req, SESSION_COOKIE);
  return sid ? auth.fromSession(sid) : undefined;
}

/**
 * The one gate of every route that is not `config.public`: who (session or token), then the
 * Origin of cookie-carried state changes, then a pending password change, then `config.role`.
 * The API and /metrics answer 401 / 403 JSON; pages redirect to /login?next=… or show 403.
 */
export function installAuthHook(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('user', undefined);
  app.decorateRequest('consoleSession', undefined);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const cfg = req.routeOptions.config;
    // No route (the 404 handler answers) or a public one.
    if (!req.routeOptions.url || cfg.public) return;
    const api = isApiUrl(req.url);
    const a = await authenticate(req, auth);
    if (!a) {
      if (api) return apiError(reply, 401, 'unauthenticated', 'log in (POST /api/login) or send Authorization: Bearer <token>');
      return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 302);
    }
    if (a.sid && UNSAFE.has(req.method) && !sameOrigin(req, true)) {
      return apiError(reply, 403, 'bad_origin', 'a change sent with the session cookie must come from the console (Origin header)');
    }
    req.user = a.user;
    if (a.sid) req.consoleSession = { sid: a.sid, mustChangePassword: a.mustChangePassword };
    if (a.mustChangePassword && !cfg.passwordChange) {
      if (api) return apiError(reply, 403, 'password_change_required', 'change your password first (POST /api/password)');
      return reply.redirect(`/password?next=${encodeURIComponent(req.url)}`, 302);
    }
    const need = cfg.role ?? 'viewer';
    if (!roleAtLeast(a.user.role, need)) {
      if (api) return apiError(reply, 403, 'forbidden', `this needs the ${need} role; ${a.user.name} is ${a.user.role}`);
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(simplePage('Forbidden', `<p>This page needs the ${escapeHtml(need)} role; you are ${escapeHtml(a.user.role)}.</p><p><a href="/">Back</a></p>`));
    }
  });
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiError, safeNext, sameOrigin } from '../http';
import { SESSION_COOKIE } from '../auth/auth-hook';
import { clearCookie, readCookie, setCookie } from '../auth/cookies';
import { FIRST_ADMIN, forgetInitialPassword } from '../auth/first-admin';
import { loginPage, passwordPage } from '../auth/pages';
import type { LoginOutcome } from '../auth/authenticator';
import type { Platform, PlatformRoutes } from '../platform';

type LoginBody = { name?: unknown; password?: unknown; next?: unknown };
type PasswordBody = { current?: unknown; password?: unknown; confirm?: unknown; next?: unknown };

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function setSession(req: FastifyRequest, reply: FastifyReply, sid: string): void {
  // Secure whenever the browser came over HTTPS (our TLS, or a trusted proxy's).
  setCookie(reply, SESSION_COOKIE, sid, req.protocol === 'https');
}

async function login(p: Platform, req: FastifyRequest, name: string, password: string): Promise<LoginOutcome> {
  const outcome = await p.auth.login(name, password, req.ip);
  await p.auditLog.write(
    { userName: outcome.ok ? outcome.user.name : '-', via: outcome.ok ? 'session' : '-', ip: req.ip },
    { action: outcome.ok ? 'login' : 'login.failed', target: name.slice(0, 100), detail: outcome.ok ? (outcome.user.mustChangePassword ? 'ok, password change required' : 'ok') : outcome.reason },
  );
  return outcome;
}

const FAILED = 'Wrong user name or password.';
const LIMITED = 'Too many failed logins: try again later.';

/** Log in and out (form and JSON), change one's password, who am I. */
export const sessionRoutes: PlatformRoutes = (app, p) => {
  // The login page offers the identity provider when one is configured.
  const oidc = p.config.oidc ? new URL(p.config.oidc.issuer).host : undefined;
  app.get<{ Querystring: { next?: string } }>('/login', { config: { public: true } }, async (req, reply) =>
    reply.type('text/html; charset=utf-8').send(loginPage({ next: safeNext(req.query.next), oidc })),
  );

  app.post<{ Body: LoginBody }>('/login', { config: { public: true } }, async (req, reply) => {
    const next = safeNext(req.body?.next);
    const name = str(req.body?.name);
    if (!sameOrigin(req, false)) return apiError(reply, 403, 'bad_origin', 'the login form must come from the console');
    const outcome = await login(p, req, name, str(req.body?.password));
    if (!outcome.ok) {
      const limited = outcome.reason === 'rate limited';
      return reply.code(limited ? 429 : 401).type('text/html; charset=utf-8').send(loginPage({ next, name, error: limited ? LIMITED : FAILED, oidc }));
    }
    setSession(req, reply, outcome.sid);
    return reply.redirect(outcome.user.mustChangePassword ? `/password?next=${encodeURIComponent(next)}` : next, 303);
  });

  app.post<{ Body: LoginBody }>('/api/login', { config: { public: true } }, async (req, reply) => {
    if (!sameOrigin(req, false)) return apiError(reply, 403, 'bad_origin', 'a login from a page must come from the console');
    const outcome = await login(p, req, str(req.body?.name), str(req.body?.password));
    if (!outcome.ok) return outcome.reason === 'rate limited' ? apiError(reply, 429, 'rate_limited', LIMITED) : apiError(reply, 401, 'login_failed', FAILED);
    setSession(req, reply, outcome.sid);
    return { user: { name: outcome.user.name, role: outcome.user.role }, mustChangePassword: outcome.user.mustChangePassword };
  });

  // Public so that an expired session still reaches it; it ends what the cookie names, if anything.
  const logout = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const sid = readCookie(req, SESSION_COOKIE);
    if (sid) {
      const a = await p.auth.fromSession(sid);
      await p.auth.endSession(sid);
      if (a) await p.auditLog.write({ userName: a.user.name, via: 'session', ip: req.ip }, { action: 'logout', target: a.user.name });
    }
    clearCookie(reply, SESSION_COOKIE, req.protocol === 'https');
    return req.method === 'GET' || !req.url.startsWith('/api/') ? reply.redirect('/login', 303) : reply.send({ ok: true });
  };
  app.get('/logout', { config: { public: true } }, logout);
  app.post('/logout', { config: { public: true } }, logout);
  app.post('/api/logout', { config: { public: true } }, logout);

  app.get('/api/me', { config: { passwordChange: true } }, async (req) => ({
    name: req.user!.name,
    role: req.user!.role,
    via: req.user!.via,
    mustChangePassword: req.consoleSession?.mustChangePassword ?? false,
  }));

  /** The change itself: new password, other sessions ended, this one replaced. */
  const change = async (req: FastifyRequest, reply: FastifyReply, current: string, next: string): Promise<void> => {
    const u = await p.users.changeOwnPassword(req.user!.name, current, next);
    if (req.consoleSession) {
      await p.auth.endSession(req.consoleSession.sid);
      setSession(req, reply, await p.auth.openSession(u));
    }
    if (u.name === FIRST_ADMIN) forgetInitialPassword(p.varDir);
    await p.audit(req, { action: 'password.change', target: u.name });
  };

  app.get<{ Querystring: { next?: string } }>('/password', { config: { passwordChange: true } }, async (req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send(passwordPage({ next: safeNext(req.query.next), user: req.user!.name, forced: req.consoleSession?.mustChangePassword ?? false })),
  );

  app.post<{ Body: PasswordBody }>('/password', { config: { passwordChange: true } }, async (req, reply) => {
    const next = safeNext(req.body?.next);
    const page = (error: string, status: number): FastifyReply =>
      reply.code(status).type('text/html; charset=utf-8').send(passwordPage({ next, user: req.user!.name, forced: req.consoleSession?.mustChangePassword ?? false, error }));
    if (str(req.body?.password) !== str(req.body?.confirm)) return page('The two new passwords differ.', 400);
    try {
      await change(req, reply, str(req.body?.current), str(req.body?.password));
    } catch (e) {
      if ((e as { code?: string }).code === 'PSL_PASSWORD_REJECTED') return page((e as Error).message, 400);
      throw e;
    }
    return reply.redirect(next, 303);
  });

  app.post<{ Body: PasswordBody }>('/api/password', { config: { passwordChange: true } }, async (req, reply) => {
    await change(req, reply, str(req.body?.current), str(req.body?.password));
    return { ok: true };
  });
};

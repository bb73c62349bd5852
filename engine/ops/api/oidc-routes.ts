import type { FastifyReply, FastifyRequest } from 'fastify';
import { ROLES, type Role } from '../context';
import { safeNext } from '../http';
import { SESSION_COOKIE } from '../auth/auth-hook';
import { setCookie } from '../auth/cookies';
import { OidcClient, OidcError } from '../auth/oidc-client';
import { loginPage } from '../auth/pages';
import type { ConsoleUserRow } from '../store/types';
import type { Platform, PlatformRoutes } from '../platform';

/** The password hash of users the identity provider vouches for: no password matches it. */
export const OIDC_PASSWORD_HASH = '!oidc';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const ATTEMPT_MS = 10 * 60_000;

/** The highest console role the claim names (a string, or a list such as groups). */
export function roleFromClaim(v: unknown): Role | undefined {
  const names = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
  return [...ROLES].reverse().find((r) => names.includes(r));
}

function userNameFrom(claims: Record<string, unknown>): string | undefined {
  return [claims.preferred_username, claims.email, claims.sub].find((v): v is string => typeof v === 'string' && NAME.test(v));
}

/**
 * The console user of an OpenID Connect login: created at the first one, its role taken from
 * the claim at each one (the identity provider decides). A local user of the same name (one
 * with a password) is never taken over, and a disabled one stays out.
 */
async function provision(p: Platform, name: string, role: Role): Promise<ConsoleUserRow> {
  let u = await p.consoleStore.getUser(name);
  if (!u) {
    await p.consoleStore.createUser({ name, role, passwordHash: OIDC_PASSWORD_HASH, mustChangePassword: false });
    u = await p.consoleStore.getUser(name);
  }
  if (!u || u.passwordHash !== OIDC_PASSWORD_HASH) throw new OidcError(`a local user is already named ${name}`);
  if (u.disabled) throw new OidcError(`user ${name} is disabled`);
  if (u.role !== role) {
    await p.consoleStore.updateUser(name, { role });
    u = { ...u, role };
  }
  return u;
}

/**
 * OpenID Connect login (authorization code with PKCE), when PASSERELLE_OIDC_* is set:
 * GET /login/oidc sends the browser to the identity provider; its answer comes back to the path
 * of PASSERELLE_OIDC_REDIRECT_URL, which opens a console session (via `oidc`). The attempt
 * (state, nonce, PKCE verifier, where to go next) waits in Redis 10 minutes, used once.
 */
export const oidcRoutes: PlatformRoutes = (app, p) => {
  const cfg = p.config.oidc;
  if (!cfg) return;
  const client = new OidcClient(cfg);
  const label = new URL(cfg.issuer).host;
  const key = (state: string): string => `${p.keyPrefix}oidc:${state}`;

  app.get<{ Querystring: { next?: string } }>('/login/oidc', { config: { public: true } }, async (req, reply) => {
    const attempt = OidcClient.newAttempt();
    const url = await client.authorizationUrl(attempt);
    await p.redis.set(key(attempt.state), JSON.stringify({ nonce: attempt.nonce, verifier: attempt.verifier, next: safeNext(req.query.next) }), 'PX', ATTEMPT_MS);
    return reply.redirect(url, 302);
  });

  type Callback = { Querystring: { code?: string; state?: string; error?: string } };
  app.get<Callback>(new URL(cfg.redirectUrl).pathname, { config: { public: true } }, async (req: FastifyRequest<Callback>, reply: FastifyReply) => {
    const refuse = async (why: string, name = '-'): Promise<FastifyReply> => {
      await p.auditLog.write({ userName: '-', via: 'oidc', ip: req.ip }, { action: 'login.failed', target: name.slice(0, 100), detail: why.slice(0, 300) });
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage({ next: '/', error: `OpenID Connect login failed: ${why}`, oidc: label }));
    };
    const { code, state, error } = req.query;
    if (error) return refuse(`the identity provider answered ${error}`);
    const saved = state ? await p.redis.getdel(key(state)) : null;
    if (!saved || !code) return refuse('unknown, used or expired login attempt');
    const attempt = JSON.parse(saved) as { nonce: string; verifier: string; next: string };
    let claims: Record<string, unknown>;
    try {
      claims = await client.claims(code, attempt.verifier, attempt.nonce);
    } catch (e) {
      if (e instanceof OidcError) return refuse(e.message);
      throw e;
    }
    const name = userNameFrom(claims);
    if (!name) return refuse('the ID token has no usable user name (preferred_username, email or sub)');
    const role = roleFromClaim(claims[cfg.roleClaim]) ?? cfg.defaultRole;
    if (!role) return refuse(`the ID token's ${cfg.roleClaim} names no console role`, name);
    let user: ConsoleUserRow;
    try {
      user = await provision(p, name, role);
    } catch (e) {
      if (e instanceof OidcError) return refuse(e.message, name);
      throw e;
    }
    setCookie(reply, SESSION_COOKIE, await p.auth.openSession(user, 'oidc'), req.protocol === 'https');
    await p.auditLog.write({ userName: user.name, via: 'oidc', ip: req.ip }, { action: 'login', target: user.name, detail: `ok, role ${user.role}` });
    return reply.redirect(attempt.next, 303);
  });
};

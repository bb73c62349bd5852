import { z } from 'zod';
import { PasserelleError } from '../errors';

/**
 * The console's settings, from environment variables. Validated once, frozen; every default is
 * in `consoleConfigSchema`. docs/console.md lists them for operators.
 */
export const consoleConfigSchema = z.strictObject({
  /**
   * Where the console listens, `host:port` (`[::1]:8080` for IPv6). `off` disables the console.
   * Loopback by default: expose it through a reverse proxy or with TLS. Env PASSERELLE_HTTP_ADDR.
   */
  addr: z.string().default('127.0.0.1:8080'),
  /** PEM certificate and key: with both, the console speaks HTTPS and its cookie is Secure. Env PASSERELLE_HTTP_TLS_CERT / _KEY. */
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  /**
   * Behind a reverse proxy: take the client address (audit "from where") and the host from
   * X-Forwarded-* headers. Only when the proxy is the one way in. Env PASSERELLE_HTTP_TRUST_PROXY=1.
   */
  trustProxy: z.boolean().default(false),
  /** A session unused this long ends. Env PASSERELLE_SESSION_IDLE_SECONDS (default 30 min). */
  sessionIdleSeconds: z.number().int().min(1).default(30 * 60),
  /** A session ends this long after its login, used or not. Env PASSERELLE_SESSION_MAX_SECONDS (default 12 h). */
  sessionMaxSeconds: z.number().int().min(1).default(12 * 60 * 60),
  /** Failed logins allowed per user name and per client address within the window. Env PASSERELLE_LOGIN_MAX_FAILURES. */
  loginMaxFailures: z.number().int().min(1).default(5),
  /** The window of `loginMaxFailures`, from the first failure. Env PASSERELLE_LOGIN_WINDOW_SECONDS (default 15 min). */
  loginWindowSeconds: z.number().int().min(1).default(15 * 60),
  /** /metrics without a token or session (a Prometheus on a trusted network). Env PASSERELLE_METRICS_PUBLIC=1. */
  metricsPublic: z.boolean().default(false),
  /** How long a graceful stop lets requests in flight finish before their sockets are closed. */
  closeDeadlineMs: z.number().int().positive().default(5000),
  /**
   * OpenID Connect login beside passwords (engine/ops/api/oidc-routes.ts): the issuer, this
   * console's client id and secret, the redirect URL registered at the provider (its path is the
   * callback route), and the ID-token claim carrying `viewer` / `operator` / `admin` (a string or
   * a list). Env PASSERELLE_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _REDIRECT_URL, _ROLE_CLAIM
   * (default `passerelle_role`), _DEFAULT_ROLE.
   */
  oidc: z
    .strictObject({
      issuer: z.url(),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      redirectUrl: z.url(),
      roleClaim: z.string().min(1).default('passerelle_role'),
      /** Role given when the claim is absent; none refuses the login. */
      defaultRole: z.enum(['viewer', 'operator', 'admin']).optional(),
    })
    .optional(),
});

export type ConsoleConfig = Readonly<z.infer<typeof consoleConfigSchema>> & {
  /** `addr` read: null when the console is off. */
  readonly listen: { host: string; port: number } | null;
};

const flag = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : !['0', 'false', 'no', 'off', ''].includes(v.toLowerCase()));
const int = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

export function consoleConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<z.input<typeof consoleConfigSchema>> = {}): ConsoleConfig {
  const oidcIssuer = env.PASSERELLE_OIDC_ISSUER;
  const fromEnv: Record<string, unknown> = {
    addr: env.PASSERELLE_HTTP_ADDR,
    tlsCert: env.PASSERELLE_HTTP_TLS_CERT,
    tlsKey: env.PASSERELLE_HTTP_TLS_KEY,
    trustProxy: flag(env.PASSERELLE_HTTP_TRUST_PROXY),
    sessionIdleSeconds: int(env.PASSERELLE_SESSION_IDLE_SECONDS),
    sessionMaxSeconds: int(env.PASSERELLE_SESSION_MAX_SECONDS),
    loginMaxFailures: int(env.PASSERELLE_LOGIN_MAX_FAILURES),
    loginWindowSeconds: int(env.PASSERELLE_LOGIN_WINDOW_SECONDS),
    metricsPublic: flag(env.PASSERELLE_METRICS_PUBLIC),
    oidc: oidcIssuer
      ? {
          issuer: oidcIssuer,
          clientId: env.PASSERELLE_OIDC_CLIENT_ID,
          clientSecret: env.PASSERELLE_OIDC_CLIENT_SECRET,
          redirectUrl: env.PASSERELLE_OIDC_REDIRECT_URL,
          ...(env.PASSERELLE_OIDC_ROLE_CLAIM ? { roleClaim: env.PASSERELLE_OIDC_ROLE_CLAIM } : {}),
          ...(env.PASSERELLE_OIDC_DEFAULT_ROLE ? { defaultRole: env.PASSERELLE_OIDC_DEFAULT_ROLE } : {}),
        }
      : undefined,
  };
  const merged = { ...Object.fromEntries(Object.entries(fromEnv).filter(([, v]) => v !== undefined)), ...overrides };
  const parsed = consoleConfigSchema.safeParse(merged);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  let listen: ConsoleConfig['listen'] = null;
  if (parsed.success) {
    const c = parsed.data;
    if (!!c.tlsCert !== !!c.tlsKey) problems.push('PASSERELLE_HTTP_TLS_CERT and PASSERELLE_HTTP_TLS_KEY go together');
    if (c.sessionMaxSeconds < c.sessionIdleSeconds) problems.push('PASSERELLE_SESSION_MAX_SECONDS is shorter than PASSERELLE_SESSION_IDLE_SECONDS');
    try {
      listen = parseAddr(c.addr);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new PasserelleError('PSL_CONFIG_INVALID', 'console settings: ' + problems.join('; '));
  return Object.freeze({ ...parsed.data, listen });
}

/** `host:port`, `[v6]:port`, or `off`. */
export function parseAddr(addr: string): { host: string; port: number } | null {
  if (addr.trim().toLowerCase() === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`PASSERELLE_HTTP_ADDR must be host:port, [ipv6]:port or off, got ${JSON.stringify(addr)}`);
  return { host: m[1] ?? m[2]!, port };
}

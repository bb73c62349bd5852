import { roleAtLeast, type ConsoleUser, type Role } from '../context';
import type { ConsoleStore, ConsoleUserRow } from '../store/types';
import type { LoginLimiter } from './login-limiter';
import { decoyHash, verifyPassword } from './passwords';
import type { SessionStore } from './session-store';
import { looksLikeApiToken, tokenHash } from './tokens';

export type LoginOutcome =
  | { ok: true; sid: string; user: ConsoleUserRow }
  | { ok: false; reason: 'rate limited' | 'wrong password' | 'unknown user' | 'disabled' };

/** Who a request is, with what its session obliges it to do first. */
export interface Authenticated {
  user: ConsoleUser;
  /** Set for a session: its id (logout, rotation on password change). */
  sid?: string;
  mustChangePassword: boolean;
}

/** Checks passwords (rate-limited), opens sessions, and recognises sessions and API tokens. */
export class Authenticator {
  constructor(
    private readonly store: ConsoleStore,
    private readonly sessions: SessionStore,
    private readonly limiter: LoginLimiter,
  ) {}

  async login(name: string, password: string, ip: string): Promise<LoginOutcome> {
    if (await this.limiter.blocked(name, ip)) return { ok: false, reason: 'rate limited' };
    const user = await this.store.getUser(name);
    // An unknown name costs the same hashing time as a known one: timing tells nothing.
    const ok = await verifyPassword(user?.passwordHash ?? (await decoyHash()), password);
    if (!user || !ok) {
      await this.limiter.failed(name, ip);
      return { ok: false, reason: user ? 'wrong password' : 'unknown user' };
    }
    if (user.disabled) return { ok: false, reason: 'disabled' };
    await this.limiter.succeeded(name, ip);
    await this.store.updateUser(name, { lastLoginAt: new Date() });
    return { ok: true, sid: await this.sessions.create(user.name, user.authVersion), user };
  }

  /** A new session: after a password change (the user's sessions were just ended), or an OpenID Connect login. */
  openSession(user: ConsoleUserRow, via: 'session' | 'oidc' = 'session'): Promise<string> {
    return this.sessions.create(user.name, user.authVersion, via);
  }

  endSession(sid: string): Promise<void> {
    return this.sessions.destroy(sid);
  }

  /** The user is read on every request: a disable, a role change or a reset applies at once. */
  async fromSession(sid: string): Promise<Authenticated | undefined> {
    const s = await this.sessions.touch(sid);
    if (!s) return undefined;
    const user = await this.store.getUser(s.userName);
    if (!user || user.disabled || user.authVersion !== s.authVersion) {
      await this.sessions.destroy(sid);
      return undefined;
    }
    return { user: { name: user.name, role: user.role, via: s.via ?? 'session' }, sid, mustChangePassword: user.mustChangePassword };
  }

  async fromToken(token: string): Promise<Authenticated | undefined> {
    if (!looksLikeApiToken(token)) return undefined;
    const t = await this.store.tokenByHash(tokenHash(token));
    if (!t || t.revokedAt) return undefined;
    const user = await this.store.getUser(t.userName);
    if (!user || user.disabled) return undefined;
    // A token never does more than its owner can now.
    const role: Role = roleAtLeast(user.role, t.role) ? t.role : user.role;
    const now = new Date();
    if (!t.lastUsedAt || now.getTime() - t.lastUsedAt.getTime() > 60_000) await this.store.touchToken(t.id, now);
    return { user: { name: user.name, role, via: 'token' }, mustChangePassword: false };
  }
}

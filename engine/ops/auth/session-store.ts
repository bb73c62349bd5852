import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Session {
  userName: string;
  /** The user's authVersion at login: a password change, reset or disable ends older sessions. */
  authVersion: number;
  createdAt: number;
  /** How the user logged in (a password, or OpenID Connect). */
  via?: 'session' | 'oidc';
}

/**
 * Console sessions in Redis, shared by every engine process on it. The key is a hash of the
 * session id, so a Redis dump holds no usable cookie. Idle expiry is the key's TTL, renewed on
 * each use; absolute expiry is checked against the creation time.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly idleMs: number,
    private readonly maxMs: number,
  ) {}

  private key(sid: string): string {
    return `${this.keyPrefix}session:${createHash('sha256').update(sid).digest('hex')}`;
  }

  async create(userName: string, authVersion: number, via: 'session' | 'oidc' = 'session'): Promise<string> {
    const sid = randomBytes(32).toString('base64url');
    const s: Session = { userName, authVersion, createdAt: Date.now(), via };
    await this.redis.set(this.key(sid), JSON.stringify(s), 'PX', Math.min(this.idleMs, this.maxMs));
    return sid;
  }

  /** The session, its idle time renewed; undefined when unknown, idle too long or too old. */
  async touch(sid: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sid)) return undefined;
    const key = this.key(sid);
    const text = await this.redis.get(key);
    if (!text) return undefined;
    const s = JSON.parse(text) as Session;
    const left = Math.min(this.idleMs, s.createdAt + this.maxMs - Date.now());
    if (left <= 0) {
      await this.redis.del(key);
      return undefined;
    }
    await this.redis.pexpire(key, left);
    return s;
  }

  async destroy(sid: string): Promise<void> {
    await this.redis.del(this.key(sid));
  }
}

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Failed logins per user name and per client address in Redis (shared by every engine
 * process): at `max` failures within the window, from the first one, further attempts are
 * refused without checking the password until the window ends.
 */
export class LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private keys(name: string, ip: string): [string, string] {
    // Hashed: names and addresses of any length and charset make bounded keys.
    const h = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 32);
    return [`${this.keyPrefix}login-fail:user:${h(name.toLowerCase())}`, `${this.keyPrefix}login-fail:ip:${h(ip)}`];
  }

  async blocked(name: string, ip: string): Promise<boolean> {
    const counts = await this.redis.mget(...this.keys(name, ip));
    return counts.some((c) => Number(c ?? 0) >= this.max);
  }

  async failed(name: string, ip: string): Promise<void> {
    const p = this.redis.multi();
    for (const k of this.keys(name, ip)) {
      p.set(k, '0', 'PX', this.windowMs, 'NX');
      p.incr(k);
    }
    await p.exec();
  }

  /** A successful login clears its user's count (not the address's: one good password does not vouch for the others). */
  async succeeded(name: string, ip: string): Promise<void> {
    await this.redis.del(this.keys(name, ip)[0]);
  }
}

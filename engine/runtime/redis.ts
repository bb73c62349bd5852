import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { PasserelleError } from '../errors';

/** ioredis options from a redis:// URL; BullMQ workers need maxRetriesPerRequest null. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

export async function redisAnswers(opts: RedisOptions, timeoutMs = 1500): Promise<boolean> {
  const r = new Redis({ ...opts, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * The embedded default: when nothing answers at the configured address, start a private
 * redis-server there with its data and append-only file under var/redis (appendfsync always:
 * the queues are rebuilt from the message store anyway, but fewer re-enqueues after a crash).
 */
export class EmbeddedRedis {
  private child?: ChildProcess;

  constructor(private readonly dir: string, private readonly port: number) {}

  static available(): boolean {
    return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  }

  async start(): Promise<void> {
    if (!EmbeddedRedis.available()) {
      throw new PasserelleError(
        'PSL_CONFIG_INVALID',
        'no Redis answers at REDIS_URL and redis-server is not installed: on Debian/Ubuntu run `apt-get install redis-server` (scripts/quickstart.sh does it), elsewhere install Redis ≥ 6.2 or set REDIS_URL',
      );
    }
    mkdirSync(this.dir, { recursive: true });
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction', '--logfile', join(this.dir, 'redis.log')],
      { stdio: 'ignore', detached: false },
    );
    const opts = { host: '127.0.0.1', port: this.port };
    for (let i = 0; i < 50; i++) {
      if (await redisAnswers(opts, 300)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new PasserelleError('PSL_CONFIG_INVALID', `embedded redis-server did not start on port ${this.port} (see ${join(this.dir, 'redis.log')})`);
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child!.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

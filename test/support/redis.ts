/** Redis for tests: the shared server with a fresh key prefix, or a private redis-server to kill. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './wait';

export const REDIS = { host: '127.0.0.1', port: 6379 } as const;

export function freshPrefix(): string {
  return `pslt-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `<prefix>:`. */
export async function deletePrefix(prefix: string, connection: { host: string; port: number } = REDIS): Promise<void> {
  const r = new Redis({ ...connection, maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    for (let guard = 0; guard < 100_000; guard++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await r.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    r.disconnect();
  }
}

/** Ports this process already handed out: the kernel may give the same free port twice in a row. */
const handedOut = new Set<number>();

/** A free TCP port on 127.0.0.1, never one this process handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Starts a private redis-server and resolves once it answers PING. */
export async function startRedis(port: number, extraArgs: string[] = ['--save', '', '--appendonly', 'no']): Promise<ChildProcess> {
  const child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...extraArgs], {
    stdio: 'ignore',
  });
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    const ok = await waitFor(async () => {
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        probe.disconnect();
        return false;
      }
    }, 10_000, 50);
    if (!ok) throw new Error(`redis-server on ${port} did not start`);
  } finally {
    probe.disconnect();
  }
  return child;
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

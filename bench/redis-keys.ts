/** Benchmarks share the machine's Redis: each removes the keys of the prefix it used. */
import { Redis } from 'ioredis';

export const BENCH_REDIS_URL = 'redis://127.0.0.1:6379';

/** Deletes every key under `<prefix>:` (SCAN + UNLINK, never KEYS). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  r.on('error', () => undefined);
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await r.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

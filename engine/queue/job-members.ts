/**
 * Which live job carries each item, for jobs that carry several (docs/design.md, "Inbound
 * groups"). One Redis hash per OrderedQueue: field = item id, value = the Redis key of the job
 * hash that carries it. An item whose id is its job's own id needs no entry (the job key is
 * derived from it), so one-item jobs cost nothing here.
 *
 * Entries are written on the producer connection just before their job's add (same socket, so
 * in that order), and removed when the job finishes, only where they still point at that job.
 * An entry is believed only while its job exists and has not finished, so one left behind by a
 * crash never hides an item from recovery; `sweep` removes such leftovers page by page.
 */
import type { Redis } from 'ioredis';

/** KEYS[1] hash; ARGV[1] job key; ARGV[2..] item ids: removes the entries still pointing at that job. */
const RELEASE = `
local n = 0
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n`;

/** True when job hash `k` exists and has not finished (BullMQ sets finishedOn on completion and failure). */
const LIVE = `
local function live(k)
  return k and redis.call('EXISTS', k) == 1 and redis.call('HEXISTS', k, 'finishedOn') == 0
end`;

/**
 * KEYS[1] hash; ARGV pairs (item id, the key its own job would have): returns the item ids that
 * no live job carries. Their own job counts when it exists at all (a kept finished one included),
 * as for one-item jobs before groups existed.
 */
const UNCARRIED = `${LIVE}
local out = {}
for i = 1, #ARGV, 2 do
  local carried = live(redis.call('HGET', KEYS[1], ARGV[i])) or redis.call('EXISTS', ARGV[i + 1]) == 1
  if not carried then out[#out + 1] = ARGV[i] end
end
return out`;

/** KEYS[1] hash; ARGV item ids: removes the entries whose job is gone or finished; returns how many. */
const SWEEP = `${LIVE}
local n = 0
for i = 1, #ARGV do
  if not live(redis.call('HGET', KEYS[1], ARGV[i])) then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n`;

type Scripted = Redis & {
  pslMembersRelease(key: string, jobKey: string, ...ids: string[]): Promise<number>;
  pslMembersUncarried(key: string, ...pairs: string[]): Promise<string[]>;
  pslMembersSweep(key: string, ...ids: string[]): Promise<number>;
};

export class JobMembers {
  private readonly redis: Scripted;

  /** `key`: the hash; `redis`: the producer connection (the one jobs are added on). */
  constructor(redis: Redis, readonly key: string) {
    for (const [name, lua] of [['pslMembersRelease', RELEASE], ['pslMembersUncarried', UNCARRIED], ['pslMembersSweep', SWEEP]] as const) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    }
    this.redis = redis as Scripted;
  }

  /**
   * Records that `jobKey` carries `ids` (those other than its own id). Not awaited by the caller
   * before the add: the two commands go out on one socket in this order.
   */
  record(jobKey: string, ids: readonly string[]): Promise<unknown> | undefined {
    if (ids.length === 0) return undefined;
    const args: string[] = [];
    for (const id of ids) args.push(id, jobKey);
    return this.redis.hset(this.key, ...args);
  }

  /** Forgets the entries of `ids` that still point at `jobKey` (its job finished). */
  async release(jobKey: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.pslMembersRelease(this.key, jobKey, ...ids);
  }

  /** Of `items` (id and the key of the job that would carry it alone), those no live job carries. */
  async uncarried(items: readonly { id: string; ownJobKey: string }[]): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const args: string[] = [];
    for (const i of items) args.push(i.id, i.ownJobKey);
    return new Set(await this.redis.pslMembersUncarried(this.key, ...args));
  }

  /** Removes every entry whose job is gone or finished (HSCAN pages); returns how many. */
  async sweep(pageSize = 500): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.key, cursor, 'COUNT', pageSize);
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) removed += await this.redis.pslMembersSweep(this.key, ...ids);
    } while (cursor !== '0');
    return removed;
  }
}

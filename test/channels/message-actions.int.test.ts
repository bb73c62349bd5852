/**
 * Operators' reprocess and discard of a stored message (engine/channels/message-actions.ts)
 * through a real pipeline: Redis (a prefix of its own) and each store (SQLite in a temp dir,
 * PostgreSQL). A reprocessed message runs its failed stage again and says who asked; a
 * discarded one is closed for good — its open deliveries too, even one in flight when it was
 * discarded — and the store treats it as final.
 */
import { randomUUID } from 'node:crypto';
import { channelSchema } from '../../engine/config/channel-schema';
import { Pipeline } from '../../engine/channels/pipeline';
import { discardMessage, reprocessMessage } from '../../engine/channels/message-actions';
import type { Destination, OutboundMessage } from '../../engine/delivery';
import { PasserelleError } from '../../engine/errors';
import type { Message } from '../../engine/hl7';
import { silentLogger } from '../../engine/runtime/logger';
import type { MessageStore, StoredMessage } from '../../engine/store/types';
import type { SqliteStore } from '../../engine/store/sqlite';
import type { PgStore } from '../../engine/store/postgres';
import { openPgTestStore, openSqliteTestStore } from '../support/test-stores';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

type Store = SqliteStore | PgStore;
const TRACE = (what: string): RegExp => new RegExp(`^${what} by console:alice at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z`);

/** What each destination does with a control id, per attempt: 'ok', 'refuse' (permanent), 'later' (transient), or a promise to wait on. */
type Script = (controlId: string, attempt: number) => 'ok' | 'refuse' | 'later' | Promise<'ok' | 'refuse' | 'later'>;

function destination(name: string, script: () => Script, seen: Map<string, number>): Destination {
  return {
    name,
    deliver: async (out: OutboundMessage) => {
      const n = (seen.get(`${name}:${out.controlId}`) ?? 0) + 1;
      seen.set(`${name}:${out.controlId}`, n);
      const what = await script()(out.controlId, n);
      if (what === 'refuse') throw new PasserelleError('PSL_DEST_NAK_ERROR', 'AE refused by the test peer');
      if (what === 'later') throw new PasserelleError('PSL_DEST_CONNECT', 'peer down for the test');
      return `${name}-ok`;
    },
    close: async () => undefined,
  };
}

function suite(name: string, open: () => Promise<{ store: Store; destroy(): Promise<void> }>): void {
  describe(name, () => {
    const prefix = freshPrefix();
    const channel = `actions-${name.toLowerCase()}`;
    let store: Store;
    let destroy: () => Promise<void>;
    let pipeline: Pipeline;
    /** Attempts per `<destination>:<control id>`. */
    const seen = new Map<string, number>();
    let scriptA: Script = () => 'ok';
    let scriptB: Script = () => 'ok';
    /** Control ids whose transform fails for good while listed. */
    const badTransform = new Set<string>();

    beforeAll(async () => {
      ({ store, destroy } = await open());
      const retry = { maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 50 };
      pipeline = new Pipeline({
        channel: channelSchema.parse({
          name: channel,
          source: { type: 'mllp', port: 0 },
          acceptance: { messageTypes: ['ORU^R01'] },
          ordering: { partitions: 2 },
          destinations: [
            { name: 'a', type: 'file', directory: '/unused', retry },
            { name: 'b', type: 'file', directory: '/unused', retry: { ...retry, maxAttempts: 1000 } },
          ],
        }),
        store: store as MessageStore,
        destinations: [destination('a', () => scriptA, seen), destination('b', () => scriptB, seen)],
        transform: (msg: Message) => {
          if (badTransform.has(msg.controlId)) throw new PasserelleError('PSL_TRANSFORM_FAILED', 'mapping refused by the test');
          return msg;
        },
        connection: REDIS,
        prefix,
        consume: true,
        logger: silentLogger(),
      });
      await pipeline.start();
    });
    afterAll(async () => {
      await pipeline?.stop(1000);
      await store?.close();
      await destroy?.();
      await deletePrefix(prefix);
    });

    const deps = (): Parameters<typeof reprocessMessage>[0] => ({
      store,
      reprocess: (ch, id, note) => {
        if (ch !== channel) throw new Error(`test pipeline runs ${channel}, not ${ch}`);
        return pipeline.reprocess(id, note);
      },
    });

    async function receive(controlId = `C-${randomUUID().slice(0, 8)}`): Promise<StoredMessage> {
      const raw = Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261207120000||ORU^R01^ORU_R01|${controlId}|P|2.5\rPID|1||7^^^HOSP^PI\rOBR|1|${controlId}\r`);
      const r = await store.receive(
        { channel, controlId, sender: 'LAB|SITE', messageType: 'ORU^R01', orderingKey: controlId, charset: 'utf-8', raw, ack: Buffer.from('MSA|AA'), receivedAt: new Date(), state: 'received' },
        0,
      );
      if (!r.duplicate) await r.stored;
      const m = (await store.get(r.id))!;
      await pipeline.enqueue([{ id: m.id, orderingKey: m.orderingKey }]);
      return m;
    }
    const stateOf = async (id: string): Promise<string | undefined> => (await store.get(id))?.state;
    const delivery = async (id: string, dest: string): Promise<{ state: string; detail: string | null } | undefined> => {
      const d = (await store.deliveries(id)).find((x) => x.destination === dest);
      return d && { state: d.state, detail: d.detail };
    };

    test('dead at one destination: reprocess runs that destination only, and the message says who asked and what it was', async () => {
      scriptA = (_id, n) => (n === 1 ? 'refuse' : 'ok');
      const m = await receive();
      // Each destination has its own line: b may deliver after a's failure made the message dead.
      expect(await waitFor(async () => (await stateOf(m.id)) === 'dead' && (await delivery(m.id, 'b'))?.state === 'delivered', 10_000)).toBe(true);
      expect(await delivery(m.id, 'b')).toEqual({ state: 'delivered', detail: 'b-ok' });
      const out = await reprocessMessage(deps(), m.id, 'console:alice');
      expect(out).toEqual({ outcome: 'requeued', detail: `${m.id}: requeued (a)` });
      expect(await waitFor(async () => (await stateOf(m.id)) === 'done', 10_000)).toBe(true);
      expect([seen.get(`a:${m.controlId}`), seen.get(`b:${m.controlId}`)]).toEqual([2, 1]);
      const reason = (await store.get(m.id))!.reason!;
      expect(reason).toMatch(TRACE('reprocess requested'));
      expect(reason).toMatch(/\(was: a: PSL_DEST_NAK_ERROR: AE refused by the test peer\)$/);
      await expect(reprocessMessage(deps(), m.id, 'console:alice')).rejects.toMatchObject({ code: 'PSL_REPROCESS_REFUSED', message: `message ${m.id} is done, not dead` });
    });

    test('dead at the inbound stage: reprocess runs filter and transform again', async () => {
      scriptA = () => 'ok';
      const controlId = `T-${randomUUID().slice(0, 8)}`;
      badTransform.add(controlId);
      const m = await receive(controlId);
      expect(await waitFor(async () => (await stateOf(m.id)) === 'dead', 10_000)).toBe(true);
      expect(await store.deliveries(m.id)).toEqual([]);
      badTransform.delete(controlId);
      expect(await reprocessMessage(deps(), m.id, 'console:alice')).toEqual({ outcome: 'requeued', detail: `${m.id}: requeued (in)` });
      expect(await waitFor(async () => (await stateOf(m.id)) === 'done', 10_000)).toBe(true);
      expect((await store.get(m.id))!.reason).toMatch(/\(was: PSL_TRANSFORM_FAILED: mapping refused by the test\)$/);
    });

    test('discard closes a dead message and its open deliveries; the one in flight stays closed when it fails', async () => {
      let release: (v: 'later') => void = () => undefined;
      const held = new Promise<'later'>((r) => (release = r));
      let bStarted = false;
      scriptA = () => 'refuse';
      scriptB = () => {
        bStarted = true;
        return held;
      };
      const m = await receive();
      expect(await waitFor(async () => (await stateOf(m.id)) === 'dead' && bStarted, 10_000)).toBe(true);
      // b's first attempt is running: its delivery is open, with no row yet.
      expect(await delivery(m.id, 'b')).toBeUndefined();
      expect((await store.openDeliveries(channel, m.seq - 1, '', 10)).filter((o) => o.messageId === m.id).map((o) => o.destination)).toEqual(['b']);
      const out = await discardMessage({ store }, m.id, 'duplicate of a message the lab sent again', 'console:alice');
      expect(out).toEqual({ outcome: 'discarded', detail: `${m.id}: discarded; 1 open delivery closed (b)` });
      const after = (await store.get(m.id))!;
      expect(after.state).toBe('discarded');
      expect(after.reason).toMatch(TRACE('discarded'));
      expect(after.reason).toMatch(/: duplicate of a message the lab sent again \(was: a: PSL_DEST_NAK_ERROR: AE refused by the test peer\)$/);
      expect((await delivery(m.id, 'b'))!.detail).toMatch(TRACE('discarded'));
      // The attempt that was running fails now: the delivery stays closed, the message discarded, no new attempt.
      release('later');
      expect(await waitFor(async () => /after the message was discarded/.test((await delivery(m.id, 'b'))?.detail ?? ''), 10_000)).toBe(true);
      expect((await delivery(m.id, 'b'))!.state).toBe('dead');
      const attempts = seen.get(`b:${m.controlId}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.get(`b:${m.controlId}`)).toBe(attempts);
      expect(await stateOf(m.id)).toBe('discarded');
      // Closed for good.
      await expect(reprocessMessage(deps(), m.id, 'console:alice')).rejects.toMatchObject({ code: 'PSL_REPROCESS_REFUSED', message: `message ${m.id} is discarded, closed for good` });
      await expect(discardMessage({ store }, m.id, 'again', 'console:alice')).rejects.toMatchObject({ code: 'PSL_DISCARD_REFUSED' });
      expect((await store.counts(channel)).discarded).toBe(1);
      expect((await store.pending(channel, 0, 100)).map((x) => x.id)).not.toContain(m.id);
      expect((await store.list(channel, 'discarded', 10)).map((x) => x.id)).toEqual([m.id]);
      scriptA = () => 'ok';
      scriptB = () => 'ok';
    });

    test('discard is refused for a message that is not dead, without a reason or without an actor, and for an unknown id', async () => {
      const m = await receive();
      expect(await waitFor(async () => (await stateOf(m.id)) === 'done', 10_000)).toBe(true);
      await expect(discardMessage({ store }, m.id, 'not needed', 'console:alice')).rejects.toMatchObject({ code: 'PSL_DISCARD_REFUSED', message: `message ${m.id} is done; only a dead message is discarded` });
      await expect(discardMessage({ store }, m.id, '  \n ', 'console:alice')).rejects.toMatchObject({ code: 'PSL_ACTION_INVALID' });
      await expect(discardMessage({ store }, m.id, 'why', '')).rejects.toMatchObject({ code: 'PSL_ACTION_INVALID' });
      await expect(discardMessage({ store }, 'no-such-id', 'why', 'console:alice')).rejects.toMatchObject({ code: 'PSL_MESSAGE_MISSING' });
      await expect(reprocessMessage(deps(), 'no-such-id', 'console:alice')).rejects.toMatchObject({ code: 'PSL_MESSAGE_MISSING' });
      expect(await stateOf(m.id)).toBe('done');
    });

    test('a discarded message is final for the store: pruned with the others, unlike one still waiting', async () => {
      scriptA = () => 'refuse';
      const dead = await receive();
      expect(await waitFor(async () => (await stateOf(dead.id)) === 'dead' && (await delivery(dead.id, 'b'))?.state === 'delivered', 10_000)).toBe(true);
      await discardMessage({ store }, dead.id, 'test data', 'console:alice');
      // One still waiting for the inbound stage: no job carries it.
      const waiting = await store.receive(
        { channel, controlId: 'W-1', sender: 'LAB|SITE', messageType: 'ORU^R01', orderingKey: 'W-1', charset: 'utf-8', raw: Buffer.from('MSH|^~\\&|LAB'), ack: Buffer.from('MSA|AA'), receivedAt: new Date(), state: 'received' },
        0,
      );
      if (!waiting.duplicate) await waiting.stored;
      expect(await store.prune(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
      expect(await store.get(dead.id)).toBeUndefined();
      expect(await stateOf(waiting.id)).toBe('received');
    });
  });
}

suite('SQLite', () => openSqliteTestStore('psl-mactions-'));
suite('PostgreSQL', openPgTestStore);

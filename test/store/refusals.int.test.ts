/**
 * Refused messages are kept within a per-channel quota on both stores: the oldest go first,
 * what went is counted, other channels and other states are untouched.
 */
import type { InboundMessage, MessageStore } from '../../engine/store/types';
import { openPgTestStore, openSqliteTestStore } from '../support/test-stores';

const refused = (channel: string, i: number, bytes = 100): InboundMessage => ({
  channel,
  controlId: `R${i}`,
  sender: '',
  messageType: '',
  orderingKey: '',
  charset: 'latin1',
  raw: Buffer.alloc(bytes, 0x41),
  ack: Buffer.from('MSA|AR'),
  receivedAt: new Date(),
  state: 'refused',
  reason: 'HL7_NO_MSH: test',
});

function suite(name: string, open: () => Promise<{ store: MessageStore; destroy(): Promise<void> }>): void {
  describe(name, () => {
    let store: MessageStore;
    let destroy: () => Promise<void>;
    beforeAll(async () => {
      ({ store, destroy } = await open());
    });
    afterAll(async () => {
      await store.close();
      await destroy();
    });

    test('over the count: the oldest refusals go, the newest stay, the drop is counted', async () => {
      for (let i = 0; i < 12; i++) await store.receive(refused('a', i), 0);
      const accepted = await store.receive({ ...refused('a', 99), state: 'received', controlId: 'OK' }, 0);
      for (let i = 0; i < 3; i++) await store.receive(refused('b', i), 0);
      expect(await store.pruneRefusals('a', { maxCount: 5, maxBytes: 1_000_000 })).toBe(7);
      const kept = (await store.list('a', 'refused', 100)).map((m) => m.controlId).sort();
      expect(kept).toEqual(['R10', 'R11', 'R7', 'R8', 'R9']);
      expect(await store.get(accepted.id)).toBeDefined(); // other states untouched
      expect((await store.refusalStats('b')).count).toBe(3); // other channels untouched
      expect(await store.refusalStats('a')).toEqual({ count: 5, bytes: 5 * (100 + 6), dropped: 7 });
      // Within quota: nothing more goes; the counter keeps its total.
      expect(await store.pruneRefusals('a', { maxCount: 5, maxBytes: 1_000_000 })).toBe(0);
      expect((await store.refusalStats('a')).dropped).toBe(7);
    });

    test('over the bytes: the oldest go until the rest fits', async () => {
      for (let i = 0; i < 10; i++) await store.receive(refused('c', i, 994), 0); // 1,000 bytes each with the NAK
      expect(await store.pruneRefusals('c', { maxCount: 100, maxBytes: 3_500 })).toBe(7);
      expect((await store.list('c', 'refused', 100)).map((m) => m.controlId).sort()).toEqual(['R7', 'R8', 'R9']);
      expect(await store.refusalStats('c')).toEqual({ count: 3, bytes: 3000, dropped: 7 });
    });
  });
}

suite('SqliteStore', () => openSqliteTestStore('psl-refusals-'));
suite('PgStore', openPgTestStore);

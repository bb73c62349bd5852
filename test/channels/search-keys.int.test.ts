/** Intake writes each accepted message's search keys with it, whatever the intake path; a refused message has none. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Intake } from '../../engine/channels/intake';
import { channelSchema } from '../../engine/config/channel-schema';
import { SqliteStore } from '../../engine/store/sqlite';
import { createLogger } from '../../engine/runtime/logger';

const dir = mkdtempSync(join(tmpdir(), 'psl-keys-intake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const channel = channelSchema.parse({ name: 'k', source: { type: 'mllp', port: 0 }, acceptance: { messageTypes: ['ORU^R01'] } });
const oru = (control: string, file: string): Buffer =>
  Buffer.from(
    `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${control}|P|2.5\r` +
      'PID|1||123^^^HOSP^PI~248092A20345642^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||TEST^X||19480920|F\r' +
      `ORC|RE|CMD-1^DPI|${file}^LAB\rOBR|1|CMD-1^DPI|${file}^LAB\rOBX|1|NM|2345-7^Glucose^LN||7.77|g/L|||||F\r`,
  );

for (const [name, opts] of [
  ['writer thread', {}],
  ['intake journal', { synchronous: 'NORMAL' as const }],
] as const) {
  test(`accepted messages are found by INS, patient id and file number (${name}); refused ones have no keys`, async () => {
    const store = new SqliteStore({ path: join(dir, `${name.replace(/ /g, '-')}.db`), ...opts, onIntakeEvent: () => undefined });
    await store.init();
    try {
      const intake = new Intake(channel, store, () => undefined, createLogger({ level: 'error', file: join(dir, 'log.txt') }));
      const a = await intake.handle(oru('C1', 'LAB-1'));
      const b = await intake.handle(oru('C2', 'LAB-2'));
      const refused = await intake.handle(Buffer.from(oru('C3', 'LAB-3').toString().replace('ORU^R01^ORU_R01', 'ADT^A01^ADT_A01')));
      expect([a.state, b.state, refused.state]).toEqual(['accepted', 'accepted', 'refused']);
      expect(await store.messageKeys(a.id!)).toEqual([
        { kind: 'ins', value: '248092A20345642' },
        { kind: 'order', value: 'CMD-1' },
        { kind: 'order', value: 'LAB-1' },
        { kind: 'patient', value: '123' },
      ]);
      expect((await store.searchMessages({ ins: '248092A20345642', limit: 10 })).map((m) => m.id)).toEqual([b.id, a.id]);
      expect((await store.searchMessages({ order: 'LAB-2', limit: 10 })).map((m) => m.id)).toEqual([b.id]);
      expect((await store.searchMessages({ patient: '123', order: 'LAB-1', limit: 10 })).map((m) => m.id)).toEqual([a.id]);
      expect(await store.messageKeys(refused.id!)).toEqual([]);
      expect(await store.searchMessages({ order: 'LAB-3', limit: 10 })).toEqual([]);
    } finally {
      await store.close();
    }
  });
}

/** Intake: no AA without a durable commit; no patient data in info-level logs. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { Message } from '../../engine/hl7';
import { Intake } from '../../engine/channels/intake';
import { channelSchema } from '../../engine/config/channel-schema';
import { SqliteStore } from '../../engine/store/sqlite';
import { createLogger } from '../../engine/runtime/logger';

const channel = (ack: Record<string, unknown> = {}) =>
  channelSchema.parse({ name: 't', source: { type: 'mllp', port: 0 }, acceptance: { messageTypes: ['ORU^R01'] }, ack });
const ORU = Buffer.from(
  'MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|CTL-1|P|2.5\r' +
    'PID|1||123^^^HOSP^PI~248092A203456^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||DURAND^MARIE||19480920|F\r' +
    'OBR|1|ORD-9\rOBX|1|NM|2345-7^Glucose^LN||7.77|g/L|||||F\r',
);

async function storeIn(dir: string): Promise<SqliteStore> {
  const s = new SqliteStore({ path: join(dir, 'm.db') });
  await s.init();
  return s;
}

test('the store cannot commit: AE with ERR 207, or no answer at all, never AA', async () => {
  const store = await storeIn(mkdtempSync(join(tmpdir(), 'psl-intake-')));
  await store.close(); // every receive now fails
  const enqueued: string[] = [];
  const logger = createLogger({ level: 'error', file: join(tmpdir(), 'psl-intake-test.log') });
  const ae = await new Intake(channel(), store, (id) => enqueued.push(id), logger).handle(ORU);
  const nak = Message.parse(ae.response!.toString());
  expect([ae.state, nak.get('MSA-1'), nak.get('MSA-2'), nak.get('ERR-3.1'), nak.get('ERR-4')]).toEqual(['store-failed', 'AE', 'CTL-1', '207', 'E']);
  const none = await new Intake(channel({ onStoreFailure: 'none' }), store, (id) => enqueued.push(id), logger).handle(ORU);
  expect(none.response).toBeNull();
  expect(enqueued).toEqual([]);
});

test('info-level logs carry control IDs and states, never names, INS, birth dates or values', async () => {
  const store = await storeIn(mkdtempSync(join(tmpdir(), 'psl-intake-')));
  const lines: string[] = [];
  const logger = createLogger({ level: 'info' });
  logger.clear().add(new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) }));
  const intake = new Intake(channel(), store, () => undefined, logger);
  await intake.handle(ORU);
  await intake.handle(ORU); // duplicate
  await intake.handle(Buffer.from(ORU.toString().replace('ORU^R01^ORU_R01', 'ADT^A01^ADT_A01').replace('CTL-1', 'CTL-2'))); // refused
  logger.info('sneaky', { patientName: 'DURAND', controlId: 'CTL-3' });
  await new Promise((r) => setImmediate(r));
  const all = lines.join('');
  expect(all).toContain('CTL-1');
  expect(all).toContain('CTL-2');
  for (const secret of ['DURAND', 'MARIE', '248092A203456', '19480920', '7.77']) expect(all).not.toContain(secret);
  await store.close();
});

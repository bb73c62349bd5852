/**
 * The sample channels of channels/ as shipped (only ports and output directories moved to free
 * ones): the samples of samples/ go through them as the README says.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import Database from 'better-sqlite3';
import type { TestEngine } from '../support/engine-harness';
import { documentsDelivery as delivery, startSampleChannels } from '../support/sample-channels';
import { waitFor } from '../support/wait';

const repo = resolve(__dirname, '../..');
let te: TestEngine;
let ports: Record<number, number> = {};
const clients: MllpClient[] = [];

beforeAll(async () => {
  ({ te, ports } = await startSampleChannels());
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
});

const send = async (port: number, sample: string): Promise<Message> => {
  const c = new MllpClient({ host: '127.0.0.1', port });
  clients.push(c);
  return Message.parse(decode(await c.send(readFileSync(join(repo, 'samples', sample)))).text);
};
const out = (...p: string[]): string => join(te.dir, 'out', ...p);

test('an LTW result lands in out/ltw-results/<MSH-10>.hl7, byte for byte', async () => {
  const ack = await send(ports[2575]!, 'oru-r01_ltw_biochemistry.hl7');
  expect([ack.get('MSA-1'), ack.get('MSA-2')]).toEqual(['AA', 'SMP-ORU-0001']);
  expect(await waitFor(() => existsSync(out('ltw-results', 'SMP-ORU-0001.hl7')), 10_000)).toBe(true);
  expect(readFileSync(out('ltw-results', 'SMP-ORU-0001.hl7')).equals(readFileSync(join(repo, 'samples', 'oru-r01_ltw_biochemistry.hl7')))).toBe(true);
});

test('a subcontractor result is kept and relayed over MLLP to the LTW results channel, addressed to the LIS', async () => {
  const ack = await send(ports[2576]!, 'oru-r01_ilw_subcontracted.hl7');
  expect([ack.get('MSA-1'), ack.get('MSA-2')]).toEqual(['AA', 'SMP-ILW-0001']);
  expect(await waitFor(() => existsSync(out('ltw-results', 'SMP-ILW-0001.hl7')) && existsSync(out('ilw-results', 'SMP-ILW-0001.hl7')), 10_000)).toBe(true);
  const relayed = Message.parse(readFileSync(out('ltw-results', 'SMP-ILW-0001.hl7'), 'utf8'));
  expect([relayed.get('MSH-5'), relayed.get('MSH-6'), relayed.get('OBX-23.1')]).toEqual(['LIS', 'LAB', 'Laboratoire Spécialisé Exemple']);
});

const documentsDelivery = (controlId: string): ReturnType<typeof delivery> => delivery(te, controlId);

test('the LTW result is version 1 of its report; the relayed subcontractor result makes no document set of its own', async () => {
  expect(await documentsDelivery('SMP-ORU-0001')).toEqual({ state: 'delivered', detail: 'report LAB-0001: v1 (completed)' });
  expect(existsSync(out('documents', 'LAB-0001', 'v1', 'pro.n3.xml'))).toBe(true);
  expect(await documentsDelivery('SMP-ILW-0001')).toEqual({
    state: 'delivered',
    detail: 'report ST-5501 of SIL-SOUSTRAITANT: subcontracted results kept, never published on their own',
  });
  expect(readdirSync(out('documents'))).toEqual(['LAB-0001']);
});

test("a subcontractor's results sent to the ILW channel with our filler number as placer number appear in our report's next version", async () => {
  const text = readFileSync(join(repo, 'samples', 'oru-r01_ilw_subcontracted.hl7'), 'latin1')
    .replace(/SUB-0001\^SIL-LABO/g, 'LAB-0001^SIL-LABO')
    .replace('SMP-ILW-0001', 'SMP-ILW-0002');
  const c = new MllpClient({ host: '127.0.0.1', port: ports[2576]! });
  clients.push(c);
  const ack = Message.parse(decode(await c.send(Buffer.from(text, 'latin1'))).text);
  expect([ack.get('MSA-1'), ack.get('MSA-2')]).toEqual(['AA', 'SMP-ILW-0002']);
  expect(await documentsDelivery('SMP-ILW-0002')).toEqual({ state: 'delivered', detail: 'report LAB-0001: v2 (completed)' });
  const v2 = readFileSync(out('documents', 'LAB-0001', 'v2', 'pro.n3.xml'), 'utf8');
  expect(v2).toContain('code="1989-3"');
  expect(v2).toContain('750000009'); // the performing lab's FINESS
  expect(v2).toContain('code="2345-7"'); // our own results are still there
  expect(readdirSync(out('documents'))).toEqual(['LAB-0001']);
});

test('an order is answered ORL^O22 with its status, and goes through the TypeScript handler to out/orders', async () => {
  const ack = await send(ports[2577]!, 'oml-o21_ltw_order.hl7');
  expect([ack.get('MSH-9'), ack.get('MSA-1'), ack.get('MSA-2'), ack.get('ORC-1'), ack.get('ORC-2.1')]).toEqual(['ORL^O22^ORL_O22', 'AA', 'SMP-OML-0001', 'OK', 'CMD-0002']);
  expect(await waitFor(() => existsSync(out('orders', 'SMP-OML-0001.hl7')), 10_000)).toBe(true);
  const written = Message.parse(readFileSync(out('orders', 'SMP-OML-0001.hl7'), 'utf8'));
  expect([written.get('MSH-5'), written.get('MSH-6'), written.get('MSH-9.3'), written.get('ORC-2.1')]).toEqual(['LIS', 'LAB', 'OML_O21', 'CMD-0002']);
});

test('an order that cannot be accepted is answered UA with the reason, and never reaches the LIS', async () => {
  const text = readFileSync(join(repo, 'samples', 'oml-o21_ltw_order.hl7'), 'latin1').replace('SMP-OML-0001', 'SMP-OML-0009').replace('24326-1^Ionogramme sanguin^LN', '');
  const c = new MllpClient({ host: '127.0.0.1', port: ports[2577]! });
  clients.push(c);
  const ack = Message.parse(decode(await c.send(Buffer.from(text, 'latin1'))).text);
  expect([ack.get('MSH-9'), ack.get('MSA-1'), ack.get('ORC-1'), ack.get('ERR-2'), ack.get('ERR-8')]).toEqual([
    'ORL^O22^ORL_O22', 'AE', 'UA', 'OBR^1^4', 'the order names no test (OBR-4)',
  ]);
  // Kept as refused (with its answer) for an operator, never queued for the destinations.
  const db = new Database(join(te.dir, 'store.db'), { readonly: true });
  try {
    const row = db.prepare<[], { state: string; reason: string }>(`SELECT state, reason FROM messages WHERE channel = 'orders' AND control_id = 'SMP-OML-0009'`);
    expect(await waitFor(() => row.get() !== undefined, 10_000)).toBe(true);
    expect(row.get()).toMatchObject({ state: 'refused', reason: expect.stringMatching(/^PSL_ORDER_REFUSED: /) });
  } finally {
    db.close();
  }
  expect(existsSync(out('orders', 'SMP-OML-0009.hl7'))).toBe(false);
});

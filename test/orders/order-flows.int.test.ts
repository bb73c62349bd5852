/**
 * Order flows through the sample channels as shipped (issue 8, items 3–4), on real MLLP sockets
 * with a scripted subcontractor and clinical service: results a subcontractor sends before our
 * own wait and are fused when our report appears; another lab's INS that disagrees with ours is
 * parked, never fused; a cancel is CR until the lab has completed the order, then UC; a
 * subcontractor's UA is kept on the order; a cancelled subcontracted test is cancelled there too.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Message, decode } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import type { OrderState } from '../../engine/orders';
import type { TestEngine } from '../support/engine-harness';
import { ScriptedPeer, ackAa, orl } from '../support/lab-peers';
import { documentsDelivery, startSampleChannels } from '../support/sample-channels';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const run = promisify(execFile);

const repo = resolve(__dirname, '../..');
const sample = (f: string): string => decode(readFileSync(join(repo, 'samples', f))).text;
const FINAL = sample('oru-r01_ltw_biochemistry.hl7');
const SUB = sample('oru-r01_ilw_subcontracted.hl7');
const PID = FINAL.split('\r').find((l) => l.startsWith('PID|'))!;
// Another test identity (INS test OID), for the disagreeing subcontractor.
const OTHER_INS = '182127512345691';

const order = (id: string, control: string, group: string, placers: [string, string][]): string =>
  [
    `MSH|^~\\&|DPI|CHU-DEMO|SIL-LABO|LABO-DEMO|20261125071000||OML^O21^OML_O21|${id}|P|2.5|||||FRA|UNICODE UTF-8`,
    PID,
    ...placers.flatMap(([placer, test], i) => [
      `ORC|${control}|${placer}^DPI||${group}^DPI|||||20261125070500|||10003456789^MEDECIN^Prescripteur`,
      `OBR|${i + 1}|${placer}^DPI||${test}|||20261125070000`,
    ]),
  ].join('\r') + '\r';

/** Our results for one placer order under filler number `filler`. */
const ours = (id: string, placer: string, filler: string): string =>
  FINAL.split('\r')
    .filter((l) => l !== '')
    .map((l) => l.replace('|SMP-ORU-0001|', `|${id}|`).replace(/CMD-0001\^DPI\|LAB-0001\^SIL-LABO/g, `${placer}^DPI|${filler}^SIL-LABO`))
    .join('\r') + '\r';

/** The subcontractor's vitamin D for sub-order `sub`. */
const theirs = (id: string, sub: string, ins = '248092A20345642'): string =>
  SUB.replace('SMP-ILW-0001', id).replace(/SUB-0001\^SIL-LABO/g, `${sub}^SIL-LABO`).replace('248092A20345642', ins);

let te: TestEngine;
let ports: Record<number, number> = {};
let subcontractor: ScriptedPeer;
let placer: ScriptedPeer;
/** What the subcontractor answers to the next sub-orders. */
let answer = 'OK';
const clients: MllpClient[] = [];

beforeAll(async () => {
  ({ te, ports } = await startSampleChannels());
  subcontractor = new ScriptedPeer(ports[2580]!, (m, n) => orl(m, m.get('ORC-1') === 'CA' ? 'CR' : answer, n, answer === 'UA' ? 'test not performed here' : undefined));
  placer = new ScriptedPeer(ports[2578]!, ackAa);
  await subcontractor.listen();
  await placer.listen();
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
  await subcontractor?.close();
  await placer?.close();
});

async function send(port: number, text: string): Promise<Message> {
  const c = new MllpClient({ host: '127.0.0.1', port });
  clients.push(c);
  return Message.parse(decode(await c.send(Buffer.from(text, 'utf8'))).text);
}

function stored(key: string): OrderState | undefined {
  const db = new Database(join(te.dir, 'store.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT state FROM orders WHERE order_key = ?').get(key) as { state: string } | undefined;
    return row && (JSON.parse(row.state) as OrderState);
  } finally {
    db.close();
  }
}

const subOrderOf = async (key: string): Promise<OrderState['subOrders'][number]> => {
  expect(await waitFor(() => stored(key)?.subOrders[0]?.state !== undefined && stored(key)!.subOrders[0]!.state !== 'to-send', 30_000)).toBe(true);
  return stored(key)!.subOrders[0]!;
};

test('a subcontractor result that comes before our own waits in its report, and is fused when ours appears', async () => {
  expect((await send(ports[2577]!, order('OF-1', 'NW', 'GRP-A', [['CMD-A1', '24321-2^Bilan^LN'], ['CMD-A2', '1989-3^Vitamine D^LN']]))).get('MSA-1')).toBe('AA');
  const sub = await subOrderOf('DPI|GRP-A');
  expect(sub.state).toBe('accepted');
  await send(ports[2576]!, theirs('OF-2', sub.number));
  expect((await documentsDelivery(te, 'OF-2')).detail).toMatch(/subcontracted results kept, never published on their own/);
  expect(stored('DPI|GRP-A')!.subOrders[0]!.keptIn).toEqual({ lab: 'SIL-SOUSTRAITANT', fillerOrder: 'ST-5501' });
  await send(ports[2575]!, ours('OF-3', 'CMD-A1', 'LAB-A'));
  expect((await documentsDelivery(te, 'OF-3')).detail).toBe('report LAB-A: v1 (completed)');
  const n3 = readFileSync(join(te.dir, 'out', 'documents', 'LAB-A', 'v1', 'pro.n3.xml'), 'utf8');
  expect(n3).toContain('1989-3');
  expect(n3).toContain('750000009');
  expect(existsSync(join(te.dir, 'out', 'documents', 'ST-5501'))).toBe(false);
  // What an operator sees of it.
  const cli = await run(process.execPath, [join(repo, 'dist/engine/cli/main.js'), 'report', 'LAB-A'], {
    cwd: repo,
    env: { ...process.env, PASSERELLE_STORE: `sqlite:${join(te.dir, 'store.db')}`, PASSERELLE_CHANNELS: join(te.dir, 'channels') },
  });
  expect(cli.stdout).toContain('order DPI|GRP-A: status CM, placer told CM');
  expect(cli.stdout).toContain('CMD-A2\t1989-3 Vitamine D\tresulted\tsub-order SUB-');
  expect(cli.stdout).toMatch(/sub-order SUB-\d{4}\tto labo-specialise \(FINESS 750000009\)\taccepted\tresults kept in SIL-SOUSTRAITANT\/ST-5501/);
});

test('another lab\'s INS that disagrees with ours is parked for verification, never fused (INS.46/.47)', async () => {
  await send(ports[2577]!, order('OF-10', 'NW', 'GRP-B', [['CMD-B1', '24321-2^Bilan^LN'], ['CMD-B2', '1989-3^Vitamine D^LN']]));
  const sub = await subOrderOf('DPI|GRP-B');
  await send(ports[2575]!, ours('OF-11', 'CMD-B1', 'LAB-B'));
  expect((await documentsDelivery(te, 'OF-11')).detail).toBe('report LAB-B: v1 (active)');
  const reply = await send(ports[2576]!, theirs('OF-12', sub.number, OTHER_INS));
  expect(reply.get('MSA-1')).toBe('AA');
  const row = await documentsDelivery(te, 'OF-12');
  expect(row).toEqual({ state: 'delivered', detail: expect.stringMatching(/parked, the patient identity disagrees with our report \(INS\.46\/\.47\)/) });
  expect(stored('DPI|GRP-B')!.subOrders[0]!.parked).toMatch(/^identity to verify: INS differs/);
  expect(readdirSync(join(te.dir, 'out', 'documents', 'LAB-B'))).toEqual(['v1']);
});

test('a cancel is CR while the lab has not completed the order, UC once it has (with an ERR); the subcontractor is asked to cancel its part', async () => {
  await send(ports[2577]!, order('OF-20', 'NW', 'GRP-C', [['CMD-C1', '24321-2^Bilan^LN'], ['CMD-C2', '1989-3^Vitamine D^LN']]));
  const sub = await subOrderOf('DPI|GRP-C');
  const cr = await send(ports[2577]!, order('OF-21', 'CA', 'GRP-C', [['CMD-C2', '1989-3^Vitamine D^LN']]));
  expect([cr.get('MSA-1'), cr.get('ORC-1'), cr.get('ORC-2.1')]).toEqual(['AA', 'CR', 'CMD-C2']);
  expect(await waitFor(() => stored('DPI|GRP-C')?.subOrders[0]?.state === 'cancelled', 30_000)).toBe(true);
  const cancel = subcontractor.received.find((m) => m.get('ORC-1') === 'CA' && m.get('ORC-2.1') === sub.number);
  expect(cancel?.controlId).toBe(`${sub.number}.CA`);
  // The vitamin D is no longer awaited: our results complete the report.
  await send(ports[2575]!, ours('OF-22', 'CMD-C1', 'LAB-C'));
  expect((await documentsDelivery(te, 'OF-22')).detail).toBe('report LAB-C: v1 (completed)');
  expect(stored('DPI|GRP-C')!.status).toBe('CM');
  const uc = await send(ports[2577]!, order('OF-23', 'CA', 'GRP-C', [['CMD-C1', '24321-2^Bilan^LN']]));
  expect([uc.get('MSA-1'), uc.get('ORC-1'), uc.get('ERR-8')]).toEqual(['AE', 'UC', 'unable to cancel: the lab has completed this order (results validated)']);
  expect(stored('DPI|GRP-C')!.tests.every((t) => t.placer === 'CMD-C2' || !t.cancelled)).toBe(true);
});

test('a sub-order the subcontractor refuses (UA) is kept on the order with its reason, and not sent again', async () => {
  answer = 'UA';
  try {
    await send(ports[2577]!, order('OF-30', 'NW', 'GRP-D', [['CMD-D1', '1989-3^Vitamine D^LN']]));
    const sub = await subOrderOf('DPI|GRP-D');
    expect(sub).toMatchObject({ state: 'refused', answer: 'UA: test not performed here' });
    expect(subcontractor.received.filter((m) => m.get('ORC-2.1') === sub.number)).toHaveLength(1);
  } finally {
    answer = 'OK';
  }
});

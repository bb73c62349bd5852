/**
 * The whole scenario of issue 8 through the sample channels as shipped, in an engine process
 * that is killed (-9) on the way, with a scripted subcontractor on real MLLP sockets:
 * order in (OML^O21, two placer orders of one requisition) → ORL^O22 → the vitamin D sub-order
 * out to the subcontractor (its first answer lost: sent again with the same MSH-10) → our
 * results, the vitamin D still awaited by the order → v1 active → kill -9 → the subcontractor's
 * result on the ILW channel, keyed by our sub-order number → v2 completed, fused with the
 * performing lab → a correction carrying only the changed OBX → v3 → every result withdrawn
 * → v4, then the deletion v5. The clinical service is told of the lab's progress (OML^O21
 * ORC-1 SC: some results, completed). Random delays between steps; every version passes the full
 * official ANS set; versions strictly increase.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Message, decode } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import { AnsKit, formatReport } from '../../engine/validation';
import type { OrderState } from '../../engine/orders';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { ScriptedPeer, ackAa, orl } from '../support/lab-peers';
import { cliEngineEnv } from '../support/engine-env';
import { prng } from '../support/random';
import { freePort, startRedis } from '../support/redis';
import { CREA, GLU, LTW_SAMPLE, documentsDelivery, ltwResults } from '../support/sample-channels';
import { delay, waitFor } from '../support/wait';
import { portOpen } from '../../bench/fuzz/engine-process';

jest.setTimeout(400_000);

const CLI = resolve(__dirname, '../../dist/engine/cli/main.js');
const REPO = resolve(__dirname, '../..');
const sample = (f: string): string => decode(readFileSync(join(REPO, 'samples', f))).text;
const SUB = sample('oru-r01_ilw_subcontracted.hl7');
const PID = LTW_SAMPLE.split('\r').find((l) => l.startsWith('PID|'))!;

/** The clinical service's requisition: our metabolic panel and a vitamin D, one placer order each. */
const ORDER = [
  'MSH|^~\\&|DPI|CHU-DEMO|SIL-LABO|LABO-DEMO|20261125071000||OML^O21^OML_O21|SC-OML-1|P|2.5|||||FRA|UNICODE UTF-8|||LAB-1^IHE',
  PID,
  'PV1|1|I|MED^101^1^CHU-DEMO',
  'ORC|NW|CMD-0001^DPI||GRP-0001^DPI|||||20261125070500|||10003456789^MEDECIN^Prescripteur^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS',
  'OBR|1|CMD-0001^DPI||24321-2^Bilan métabolique^LN|||20261125070000',
  'ORC|NW|CMD-0002^DPI||GRP-0001^DPI|||||20261125070500|||10003456789^MEDECIN^Prescripteur^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS',
  'OBR|2|CMD-0002^DPI||1989-3^Vitamine D^LN|||20261125070000',
  'SPM|1|SPM-0001&DPI||SER^Sérum^HL70487|||||||||||||20261125070000',
].join('\r') + '\r';

test('order → ORL → sub-order (answer lost once) → v1 → kill -9 → subcontracted result fused v2 → correction v3 → withdrawn v4 → deletion v5', async () => {
  const random = prng(8);
  const pause = (): Promise<void> => delay(Math.floor(random() * 400));
  const dir = mkdtempSync(join(tmpdir(), 'psl-order-scenario-'));
  const ports: Record<number, number> = {};
  for (const p of [2575, 2576, 2577, 2578, 2579, 2580]) ports[p] = await freePort();
  const redisPort = await freePort();
  mkdirSync(join(dir, 'channels'));
  for (const f of readdirSync(join(REPO, 'channels')).filter((n) => n.endsWith('.yaml'))) {
    writeFileSync(
      join(dir, 'channels', f),
      readFileSync(join(REPO, 'channels', f), 'utf8')
        .replace(/\b(2575|2576|2577|2578|2579|2580)\b/g, (p) => String(ports[Number(p)]))
        .replace(/directory: var\/out/g, `directory: ${join(dir, 'out')}`)
        // The subcontractor's lost answer is noticed in 1.5 s rather than 10.
        .replace(/responseTimeoutMs: 10000/g, 'responseTimeoutMs: 1500'),
    );
  }
  const env = cliEngineEnv(dir, redisPort, { PASSERELLE_ANS_KIT: ANS_KIT_DIR });
  const startEngine = (): ChildProcess => spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', openSync(join(dir, 'engine.log'), 'a'), openSync(join(dir, 'engine.log'), 'a')], cwd: REPO });
  const redis = await startRedis(redisPort);
  // The subcontractor answers each sub-order OK, except the first, whose answer is lost.
  const subcontractor = new ScriptedPeer(ports[2580]!, (m, n) => (n === 1 ? null : orl(m, 'OK', n)));
  await subcontractor.listen();
  const placer = new ScriptedPeer(ports[2578]!, ackAa);
  await placer.listen();
  let engine = startEngine();
  const kit = AnsKit.open(ANS_KIT_DIR);
  const clients: MllpClient[] = [];
  const send = async (port: number, text: string): Promise<Message> => {
    const c = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 20_000 });
    clients.push(c);
    return Message.parse(decode(await c.send(Buffer.from(text, 'utf8'))).text);
  };
  const published = async (controlId: string): Promise<string | null> => {
    const row = await documentsDelivery(dir, controlId);
    expect(row).toEqual({ state: 'delivered', detail: expect.any(String) });
    return row.detail;
  };
  const order = (): OrderState => {
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    try {
      return JSON.parse((db.prepare(`SELECT state FROM orders WHERE order_key = 'DPI|GRP-0001'`).get() as { state: string }).state) as OrderState;
    } finally {
      db.close();
    }
  };
  const n3 = (v: number): string => readFileSync(join(dir, 'out', 'documents', 'LAB-0001', `v${v}`, 'pro.n3.xml'), 'utf8');
  try {
    for (const p of [2575, 2576, 2577]) expect(await waitFor(() => portOpen(ports[p]!), 60_000, 100)).toBe(true);

    // 1. The order: ORL^O22, each placer order OK.
    const orl = await send(ports[2577]!, ORDER);
    expect([orl.get('MSH-9.1'), orl.get('MSH-9.2'), orl.get('MSA-1'), orl.get('MSA-2')]).toEqual(['ORL', 'O22', 'AA', 'SC-OML-1']);
    expect(orl.segments('ORC').map((s) => `${s.get('1')} ${s.get('2.1')}`)).toEqual(['OK CMD-0001', 'OK CMD-0002']);

    // 2. The sub-order: sent, its answer lost, sent again with the same MSH-10, answered OK.
    expect(await waitFor(() => subcontractor.received.length >= 2, 60_000)).toBe(true);
    const [first, second] = subcontractor.received;
    expect(second!.controlId).toBe(first!.controlId);
    expect(first!.get('MSH-9')).toBe('OML^O21^OML_O21');
    expect([first!.get('ORC-1'), first!.get('ORC-2.1'), first!.get('ORC-2.2'), first!.get('OBR-4.1'), first!.get('MSH-5')]).toEqual(['NW', 'SUB-0001', 'SIL-LABO', '1989-3', 'SIL-SOUSTRAITANT']);
    expect(first!.segment('PID')!.toString()).toBe(PID);
    expect(first!.segments('OBR')).toHaveLength(1); // only the subcontracted test leaves
    expect(await waitFor(() => order().subOrders[0]?.state === 'accepted', 30_000)).toBe(true);
    await pause();

    // 3. Our results, all final; the vitamin D the order asks for is still awaited: v1 active.
    expect((await send(ports[2575]!, ltwResults('SC-1', 'F', [GLU('0.95', 'F', '20261125100500'), CREA('9.8', 'F', '20261125100500')]))).get('MSA-1')).toBe('AA');
    expect(await published('SC-1')).toBe('report LAB-0001: v1 (active)');
    expect(order().filler).toEqual({ number: 'LAB-0001', authority: 'SIL-LABO' });
    expect(order().status).toBe('A');
    await pause();

    // 4. kill -9 of the engine between two steps.
    engine.kill('SIGKILL');
    await new Promise((r) => engine.once('exit', r));
    engine = startEngine();
    for (const p of [2575, 2576, 2577]) expect(await waitFor(() => portOpen(ports[p]!), 60_000, 100)).toBe(true);
    await pause();

    // 5. The subcontractor's result, keyed by our sub-order number, on the ILW channel: fused, complete.
    expect((await send(ports[2576]!, SUB)).get('MSA-1')).toBe('AA');
    expect(await published('SMP-ILW-0001')).toBe('report LAB-0001: v2 (completed)');
    expect(order().status).toBe('CM');
    // The clinical service was told: some results, then completed (OML^O21 ORC-1 SC, ORC-5), once each.
    expect(await waitFor(() => order().notified?.length === 2, 30_000)).toBe(true);
    expect(placer.received.map((m) => m.segments('ORC').map((o) => `${o.get('1')} ${o.get('2.1')} ${o.get('3.1')} ${o.get('5')}`))).toEqual([
      ['SC CMD-0001 LAB-0001 A', 'SC CMD-0002 LAB-0001 A'],
      ['SC CMD-0001 LAB-0001 CM', 'SC CMD-0002 LAB-0001 CM'],
    ]);
    expect(placer.received[0]!.segment('PID')!.toString()).toBe(PID);
    await pause();

    // 6. A correction carrying only the changed OBX.
    await send(ports[2575]!, ltwResults('SC-3', 'C', [CREA('8.9', 'C', '20261125143000')]));
    expect(await published('SC-3')).toBe('report LAB-0001: v3 (completed)');
    await pause();

    // 7. Every result withdrawn: ours (v4 keeps the vitamin D; the panel the order asks for has no
    // result any more, so the report is pending again), then the subcontractor's: a deletion.
    await send(ports[2575]!, ltwResults('SC-4', 'C', [GLU('', 'D', '20261125160000'), CREA('', 'D', '20261125160000')]));
    expect(await published('SC-4')).toBe('report LAB-0001: v4 (active)');
    await send(ports[2576]!, SUB.replace('SMP-ILW-0001', 'SC-5').replace('|31.5|', '||').replace(/\|F\|\|\|20261125073000/, '|D|||20261125073000'));
    expect(await published('SC-5')).toBe('report LAB-0001: v5 deletes v4');

    const versions = [1, 2, 3, 4].map(n3);
    const value = (xml: string, code: string): string | undefined => new RegExp(`code="${code}"[\\s\\S]*?<value [^>]*value="([^"]+)"`).exec(xml)?.[1];
    expect(versions.map((x) => value(x, '1989-3'))).toEqual([undefined, '31.5', '31.5', '31.5']);
    expect(versions.map((x) => value(x, '2160-0'))).toEqual(['9.8', '9.8', '8.9', undefined]);
    expect(versions.map((x) => /<versionNumber value="(\d+)"/.exec(x)?.[1])).toEqual(['1', '2', '3', '4']);
    expect(versions.map((x) => /<statusCode code="(\w+)"\/>\s*<\/serviceEvent>|lab:statusCode code="(\w+)"/.exec(x)?.slice(1).find(Boolean))).toEqual(['active', 'completed', 'completed', 'active']);
    expect(versions[1]).toContain('750000009'); // the performing lab's FINESS
    for (let i = 1; i < 4; i++) {
      const parent = /<relatedDocument typeCode="RPLC">\s*<parentDocument>\s*<id root="([^"]+)"/.exec(versions[i]!)?.[1];
      expect(parent).toBe(/<ClinicalDocument[\s\S]*?<id root="([^"]+)"/.exec(versions[i - 1]!)?.[1]);
    }
    for (const x of versions) {
      const r = await kit.validate(x, { full: true });
      if (r.findings.some((f) => f.severity !== 'info')) throw new Error(formatReport(r));
    }
    const deletion = JSON.parse(readFileSync(join(dir, 'out', 'documents', 'LAB-0001', 'v5.deleted.json'), 'utf8')) as { deletesVersion: number };
    expect(deletion.deletesVersion).toBe(4);
    // No document set of the subcontractor's own, and the sub-order was sent once more only for the lost answer.
    expect(readdirSync(join(dir, 'out', 'documents')).filter((d) => d !== 'quarantine')).toEqual(['LAB-0001']);
    expect(subcontractor.received).toHaveLength(2);
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    const rows = db.prepare(`SELECT version, written FROM report_versions WHERE filler_order = 'LAB-0001' ORDER BY version`).all();
    db.close();
    expect(rows).toEqual([1, 2, 3, 4, 5].map((version) => ({ version, written: 1 })));
  } finally {
    for (const c of clients) await c.close();
    engine.kill('SIGKILL');
    redis.kill('SIGKILL');
    await subcontractor.close();
    await placer.close();
  }
});

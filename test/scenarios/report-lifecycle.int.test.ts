/**
 * A report's life through the sample channels as shipped (issue 8, the scenario without its
 * order steps, which come with the order store): partial results → v1 active; the
 * subcontractor's result on the ILW channel → v2, fused, naming the performing lab; our final
 * results → v3 completed; a correction carrying only the changed OBX → v4; every result withdrawn
 * → a deletion. Every version passes the full official ANS rule set; versions go 1, 2, 3, 4 and
 * the deletion is 5.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import { AnsKit, formatReport } from '../../engine/validation';
import type { TestEngine } from '../support/engine-harness';
import { CREA, GLU, documentsDelivery, ltwResults, startSampleChannels } from '../support/sample-channels';
import { ANS_KIT_DIR } from '../support/ans-kit';

jest.setTimeout(300_000);

const repo = resolve(__dirname, '../..');
const SUB = decode(readFileSync(join(repo, 'samples', 'oru-r01_ilw_subcontracted.hl7'))).text;

let te: TestEngine;
let kit: AnsKit;
let ports: Record<number, number> = {};
const clients: MllpClient[] = [];

beforeAll(async () => {
  ({ te, ports } = await startSampleChannels());
  kit = AnsKit.open(ANS_KIT_DIR);
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
});

async function send(port: number, text: string): Promise<void> {
  const c = new MllpClient({ host: '127.0.0.1', port });
  clients.push(c);
  const ack = Message.parse(decode(await c.send(Buffer.from(text, 'utf8'))).text);
  expect(ack.get('MSA-1')).toBe('AA');
}

/** Waits for the `documents` delivery of a message of ltw-results and returns its detail. */
async function published(controlId: string): Promise<string | null> {
  const row = await documentsDelivery(te, controlId);
  expect(row.state).toBe('delivered');
  return row.detail;
}

const n3 = (v: number): string => readFileSync(join(te.dir, 'out', 'documents', 'LAB-0001', `v${v}`, 'pro.n3.xml'), 'utf8');
const value = (xml: string, code: string): string | undefined => new RegExp(`code="${code}"[\\s\\S]*?<value [^>]*value="([^"]+)"`).exec(xml)?.[1];

async function fullyValid(xml: string): Promise<void> {
  const r = await kit.validate(xml, { full: true });
  if (r.findings.some((f) => f.severity !== 'info')) throw new Error(formatReport(r));
  expect(r.valid).toBe(true);
}

test('partial → subcontracted fused → final → correction → withdrawn: versions 1..4 then a deletion, each version passing the full ANS set', async () => {
  // 1. Partial: glucose validated, creatinine still in the lab.
  await send(ports[2575]!, ltwResults('LC-1', 'P', [GLU('0.95', 'F', '20261125100500'), CREA('', 'I', '')]));
  expect(await published('LC-1')).toBe('report LAB-0001: v1 (active)');

  // 2. The subcontractor's vitamin D, placed under our file number, through the ILW channel.
  await send(ports[2576]!, SUB.replace(/SUB-0001\^SIL-LABO/g, 'LAB-0001^SIL-LABO').replace('SMP-ILW-0001', 'LC-2'));
  expect(await published('LC-2')).toBe('report LAB-0001: v2 (active)');

  // 3. Our final results: nothing pending any more.
  await send(ports[2575]!, ltwResults('LC-3', 'F', [GLU('0.95', 'F', '20261125100500'), CREA('9.8', 'F', '20261125110000')]));
  expect(await published('LC-3')).toBe('report LAB-0001: v3 (completed)');

  // 4. A correction carrying only the changed OBX.
  await send(ports[2575]!, ltwResults('LC-4', 'C', [CREA('8.9', 'C', '20261125143000')]));
  expect(await published('LC-4')).toBe('report LAB-0001: v4 (completed)');

  const versions = [1, 2, 3, 4].map(n3);
  expect(versions.map((x) => value(x, '2160-0'))).toEqual([undefined, undefined, '9.8', '8.9']);
  expect(versions.map((x) => value(x, '1989-3'))).toEqual([undefined, '31.5', '31.5', '31.5']);
  expect(versions.map((x) => value(x, '2345-7'))).toEqual(['0.95', '0.95', '0.95', '0.95']);
  expect(versions.map((x) => /<versionNumber value="(\d+)"/.exec(x)?.[1])).toEqual(['1', '2', '3', '4']);
  expect(versions[1]).toContain('750000009'); // the performing lab's FINESS, from v2 on
  for (let i = 1; i < 4; i++) {
    const parent = /<relatedDocument typeCode="RPLC">\s*<parentDocument>\s*<id root="([^"]+)"/.exec(versions[i]!)?.[1];
    expect(parent).toBe(/<ClinicalDocument[\s\S]*?<id root="([^"]+)"/.exec(versions[i - 1]!)?.[1]);
  }
  for (const x of versions) await fullyValid(x);

  // 5. Every result withdrawn (ours, then the subcontractor's): a deletion of v5's predecessor.
  await send(ports[2575]!, ltwResults('LC-5', 'C', [GLU('', 'D', '20261125160000'), CREA('', 'D', '20261125160000')]));
  expect(await published('LC-5')).toBe('report LAB-0001: v5 (completed)');
  await send(ports[2576]!, SUB.replace(/SUB-0001\^SIL-LABO/g, 'LAB-0001^SIL-LABO').replace('SMP-ILW-0001', 'LC-6').replace('|31.5|', '||').replace(/\|F\|\|\|20261125073000/, '|D|||20261125073000'));
  expect(await published('LC-6')).toBe('report LAB-0001: v6 deletes v5');
  const deletion = JSON.parse(readFileSync(join(te.dir, 'out', 'documents', 'LAB-0001', 'v6.deleted.json'), 'utf8')) as { deletesVersion: number; deletesDocumentId: string };
  expect(deletion.deletesVersion).toBe(5);
  expect(deletion.deletesDocumentId).toBe(/<ClinicalDocument[\s\S]*?<id root="([^"]+)"/.exec(n3(5))?.[1]);
  await fullyValid(n3(5));
  expect(existsSync(join(te.dir, 'out', 'documents', 'ST-5501'))).toBe(false);
});

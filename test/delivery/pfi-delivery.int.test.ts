/**
 * Report versions to a PFI over real MLLP (issue 9, items 1, 5, 6): each version that passed the
 * full ANS set leaves as ORU^R01 (NW, then RO, a deletion CA), once, in version order; with the
 * PFI down, versions wait on their line and go in order once it is back; each delivery's state
 * is in the store.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Message, decode } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import Database from 'better-sqlite3';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { ScriptedPeer, ackAa } from '../support/lab-peers';
import { CREA, GLU, ltwResults } from '../support/sample-channels';
import { freePort } from '../support/redis';
import { waitFor } from '../support/wait';
import { runCli, type CliResult } from '../support/cli';

jest.setTimeout(240_000);


const repo = join(__dirname, '../..');
let te: TestEngine;
let pfiPort: number;
let pfi: ScriptedPeer;
let mllp: MllpClient;

beforeAll(async () => {
  pfiPort = await freePort();
  pfi = new ScriptedPeer(pfiPort, ackAa);
  await pfi.listen();
  te = await startTestEngine(
    {
      'ltw.yaml': channelYaml(
        'ltw',
        `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: documents\n    type: reports\n    directory: \${DIR}/out\n` +
          `    lab: ${join(repo, 'channels/labs/laboratoire-demo.yaml')}\n    ownFillers: [SIL-LABO]\n` +
          `    pfi:\n      host: 127.0.0.1\n      port: ${pfiPort}\n      receivingApplication: PFI\n      receivingFacility: CHU-DEMO\n      replyTo: resultats@labo-demo.mssante.fr\n` +
          `      responseTimeoutMs: 2000\n      connectTimeoutMs: 1000\n      retry:\n        maxAttempts: 200\n        backoffBaseMs: 200\n        backoffMaxMs: 1000\n`,
      ),
      'receipts.yaml': channelYaml('receipts', `acceptance:\n  messageTypes: [ZAM^Z01, ZAM^Z02, ZAM^Z03]\n  versions: ['2.6']\ndestinations:\n  - name: receipts\n    type: pfi-receipts\n`),
    },
    { ansKitDir: ANS_KIT_DIR },
  );
  mllp = new MllpClient({ host: '127.0.0.1', port: te.port('ltw') });
});

afterAll(async () => {
  await mllp?.close();
  await te?.stop();
  await pfi?.close();
});

async function send(text: string): Promise<void> {
  const ack = decode(await mllp.send(Buffer.from(text, 'utf8'))).text;
  expect(ack).toMatch(/\rMSA\|AA\|/);
}

function deliveries(): { version: number; state: string; detail: string | null }[] {
  const db = new Database(join(te.dir, 'store.db'), { readonly: true });
  try {
    return db.prepare(`SELECT version, state, detail FROM version_deliveries WHERE filler_order = 'LAB-0001' AND target = 'pfi' ORDER BY version`).all() as never;
  } finally {
    db.close();
  }
}

const sentVersions = (): number => deliveries().filter((d) => d.state === 'sent').length;
/** The PFI's messages, first arrival of each MSH-10 (a resend after a lost ACK carries the same one). */
const arrivals = (): Message[] => pfi.received.filter((m, i, all) => all.findIndex((x) => x.controlId === m.controlId) === i);

test('v1 NW, v2 RO once each; PFI down: v3, v4 wait and go in order once back; the withdrawal goes as CA', async () => {
  await send(ltwResults('PD-1', 'F', [GLU('0.95', 'F', '20261125100500'), CREA('9.8', 'F', '20261125100500')]));
  expect(await waitFor(() => sentVersions() === 1, 120_000)).toBe(true);
  await send(ltwResults('PD-2', 'C', [CREA('8.9', 'C', '20261125143000')]));
  expect(await waitFor(() => sentVersions() === 2, 120_000)).toBe(true);

  // The PFI goes down; two corrections are published meanwhile.
  await pfi.close();
  await send(ltwResults('PD-3', 'C', [CREA('8.7', 'C', '20261125150000')]));
  await send(ltwResults('PD-4', 'C', [CREA('8.5', 'C', '20261125153000')]));
  expect(await waitFor(() => deliveries().length === 4, 120_000)).toBe(true);
  await new Promise((r) => setTimeout(r, 3000));
  expect(deliveries().map((d) => d.state)).toEqual(['sent', 'sent', 'queued', 'queued']);
  const before = pfi.received;
  pfi = new ScriptedPeer(pfiPort, ackAa);
  pfi.received.push(...before);
  await pfi.listen();
  expect(await waitFor(() => sentVersions() === 4, 120_000)).toBe(true);

  // Every result withdrawn: a deletion, sent as CA with the last version's documents.
  await send(ltwResults('PD-5', 'C', [GLU('', 'D', '20261125160000'), CREA('', 'D', '20261125160000')]));
  expect(await waitFor(() => sentVersions() === 5, 120_000)).toBe(true);

  const got = arrivals();
  expect(got.map((m) => `${m.controlId} ${m.get('ORC-1')} ${m.segments('OBX')[0]!.get('11')}`)).toEqual([
    'LAB-0001.v1 NW F',
    'LAB-0001.v2 RO F',
    'LAB-0001.v3 RO F',
    'LAB-0001.v4 RO F',
    'LAB-0001.v5 CA D',
  ]);
  // Each carries its version's N3: the value shown, the version number.
  const n3 = (m: Message): string => Buffer.from(m.segments('OBX')[1]!.get('5.5'), 'base64').toString('utf8');
  expect(got.slice(0, 4).map((m) => /<versionNumber value="(\d+)"/.exec(n3(m))?.[1])).toEqual(['1', '2', '3', '4']);
  expect(n3(got[4]!)).toBe(readFileSync(join(te.dir, 'out', 'LAB-0001', 'v4', 'pro.n3.xml'), 'utf8'));
  expect(got[0]!.get('MSH-21')).toBe('2.1^CISIS_CDA_HL7_V2');
  expect(got[0]!.toString()).toContain('248092A20345642@patient.mssante.fr');
  expect(deliveries().map((d) => [d.version, d.state, d.detail?.split(',')[0]])).toEqual([1, 2, 3, 4, 5].map((v) => [v, 'sent', `MSH-10 LAB-0001.v${v}`]));
});

const cli = (...args: string[]): Promise<CliResult> =>
  runCli(args, { env: { ...process.env, PASSERELLE_STORE: `sqlite:${join(te.dir, 'store.db')}`, PASSERELLE_CHANNELS: join(te.dir, 'channels') } });

test('a version the PFI refuses (AE) is dead with its reason; `passerelle retry` queues it again and it goes; `deliveries` shows each state', async () => {
  let refuse = true;
  await pfi.close();
  const before = pfi.received;
  pfi = new ScriptedPeer(pfiPort, (m, n) => (refuse ? `MSH|^~\\&|PFI|CHU|L|L|20261125||ACK^R01^ACK|A${n}|P|2.5\rMSA|AE|${m.controlId}\rERR||||E||||document refusé\r` : ackAa(m, n)));
  pfi.received.push(...before);
  await pfi.listen();
  // New results after the deletion: a new document (v6).
  await send(ltwResults('PD-6', 'F', [GLU('0.99', 'F', '20261125170000'), CREA('9.1', 'F', '20261125170000')]));
  expect(await waitFor(() => deliveries().find((d) => d.version === 6)?.state === 'dead', 60_000)).toBe(true);
  expect(deliveries().find((d) => d.version === 6)!.detail).toMatch(/PSL_DEST_NAK_ERROR: .*AE document refusé/);

  const listed = await cli('deliveries', '--report', 'LAB-0001');
  expect(listed.stdout.split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, 2).join(' '))).toEqual([
    'LAB-0001/v6/pfi dead', 'LAB-0001/v5/pfi sent', 'LAB-0001/v4/pfi sent', 'LAB-0001/v3/pfi sent', 'LAB-0001/v2/pfi sent', 'LAB-0001/v1/pfi sent',
  ]);
  expect((await cli('retry', 'LAB-0001/v5/pfi')).stderr).toContain('sent, nothing to retry');
  refuse = false;
  const retried = await cli('retry', 'LAB-0001/v6/pfi');
  expect(retried.code).toBe(0);
  // Picked up by the engine's scan (every 30 s), sent once, as a new document (the last one sent was the deletion).
  expect(await waitFor(() => deliveries().find((d) => d.version === 6)?.state === 'sent', 60_000)).toBe(true);
  const v6 = pfi.received.filter((m) => m.controlId === 'LAB-0001.v6');
  expect(v6.at(-1)!.get('ORC-1')).toBe('NW');
  expect((await cli('deliveries', '--state', 'dead')).stdout).toBe('no delivery\n');
});

test('the PFI\'s business acknowledgements (ZAM^Z01 / Z02 / Z03, the ANS examples) are recorded against the version they answer; one for no version of ours is dead-lettered', async () => {
  const zam = (f: string, answers: string): Buffer =>
    Buffer.from(decode(readFileSync(join(repo, '../shared/mss/hl7v2', f))).text.replace(/\|015\|/g, `|${answers}|`), 'utf8');
  const c = new MllpClient({ host: '127.0.0.1', port: te.port('receipts') });
  try {
    for (const f of ['ZAM_Z01_ack_reception_DMP.hl7', 'ZAM_Z02_ack_reception_MSS.hl7', 'ZAM_Z03_ack_lecture_MSS.hl7']) {
      expect(decode(await c.send(zam(f, 'LAB-0001.v1'))).text).toMatch(/\rMSA\|AA\|/);
    }
    expect(decode(await c.send(Buffer.from(zam('ZAM_Z01_ack_reception_DMP.hl7', 'NOT-OURS').toString('utf8').replace('|017|', '|099|')))).text).toMatch(/\rMSA\|AA\|/);
  } finally {
    await c.close();
  }
  const receipts = (): string[] => {
    const db = new Database(join(te.dir, 'store.db'), { readonly: true });
    try {
      return (db.prepare(`SELECT target, state, detail FROM version_deliveries WHERE version = 1 AND target != 'pfi' ORDER BY target`).all() as { target: string; state: string; detail: string }[]).map((r) => `${r.target} ${r.state} ${r.detail}`);
    } finally {
      db.close();
    }
  };
  expect(await waitFor(() => receipts().length === 3, 30_000)).toBe(true);
  expect(receipts()).toEqual([
    'pfi>dmp failed DMP refused: DMPClosed DMP fermé (ZAM 017)',
    'pfi>mss:adam.hoda@test-ci-sis.mssante.fr acknowledged MSSanté delivery acknowledged (ZAM 018)',
    'pfi>read:adam.hoda@test-ci-sis.mssante.fr acknowledged MSSanté read acknowledged (ZAM 019)',
  ]);
  const dead = await cli('messages', 'receipts', '--state', 'dead');
  expect(dead.stdout).toContain('PSL_RECEIPT_UNKNOWN');
  expect((await cli('deliveries', '--report', 'LAB-0001', '--state', 'failed')).stdout).toContain('LAB-0001/v1/pfi>dmp\tfailed');
});

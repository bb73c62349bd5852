/**
 * Report versions filed in the DMP through the HTTPS test double (issue 9, items 2, 3, 6): mutual
 * TLS with the lab's certificate; ITI-41 with the N3, the N1 and the XAdES signature, the VIHF
 * signed, all checked by the double against ../shared/xds and ../shared/jdv; a correction
 * replaces (RPLC) the entries of the version before; the DMP answering 503 for a while: every
 * version filed once, in order; a lost answer: resent and recognised, never filed twice; a
 * withdrawal: ITI-57 Deleted; DMPClosed: dead with the DMP's words; a non-qualified identity:
 * nothing sent.
 */
import { join } from 'node:path';
import { MllpClient } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { CREA, GLU, ltwResults } from '../support/sample-channels';
import { freePort } from '../support/redis';
import { waitFor } from '../support/wait';
import { makePki, type TestPki } from '../support/pki';
import { DmpDouble } from '../support/dmp-double';
import { capturingLogger } from '../support/log-capture';
import { deliveryRows, sendAccepted, type DeliveryRow } from '../support/deliveries';

jest.setTimeout(300_000);

const repo = join(__dirname, '../..');
let pki: TestPki;
let dmp: DmpDouble;
let te: TestEngine;
let mllp: MllpClient;
const { logger, records } = capturingLogger();

beforeAll(async () => {
  pki = makePki();
  dmp = new DmpDouble(await freePort(), pki);
  await dmp.listen();
  te = await startTestEngine(
    {
      'ltw.yaml': channelYaml(
        'ltw',
        `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: documents\n    type: reports\n    directory: \${DIR}/out\n` +
          `    lab: ${join(repo, 'channels/labs/laboratoire-demo.yaml')}\n    ownFillers: [SIL-LABO]\n` +
          `    dmp:\n      url: ${dmp.url}\n` +
          `      tls:\n        ca: ${pki.dir}/ca.crt\n        cert: ${pki.dir}/client.crt\n        key: ${pki.dir}/client.key\n` +
          `      seal:\n        cert: ${pki.dir}/sign.crt\n        key: ${pki.dir}/sign.key\n` +
          `      connectTimeoutMs: 1000\n      responseTimeoutMs: 5000\n      retry:\n        maxAttempts: 200\n        backoffBaseMs: 200\n        backoffMaxMs: 1000\n`,
      ),
    },
    { ansKitDir: ANS_KIT_DIR, logger },
  );
  mllp = new MllpClient({ host: '127.0.0.1', port: te.port('ltw') });
});

afterAll(async () => {
  await mllp?.close();
  await te?.stop();
  await dmp?.close();
  pki?.cleanup();
});

afterEach(() => expect(dmp.problems).toEqual([]));

const send = (text: string): Promise<void> => sendAccepted(mllp, text);

type Row = Omit<DeliveryRow, 'target'>;
const rows = (filler = 'LAB-0001'): Row[] => deliveryRows(te.dir, filler).filter((r) => r.target === 'dmp').map(({ target: _t, ...r }) => r);
const sent = (filler = 'LAB-0001'): number => rows(filler).filter((r) => r.state === 'sent').length;
const entryOf = (r: Row | undefined): string => /entryUUID (urn:uuid:[0-9a-f-]+)/.exec(r?.detail ?? '')?.[1] ?? 'none';

test('v1 filed by ITI-41 over mutual TLS (N3, N1, XAdES; VIHF signed), checked by the double; a correction replaces its entries (RPLC)', async () => {
  await send(ltwResults('DM-1', 'F', [GLU('0.95', 'F', '20261125100500'), CREA('9.8', 'F', '20261125100500')]));
  expect(await waitFor(() => sent() === 1, 180_000)).toBe(true);
  expect(dmp.requests).toHaveLength(1);
  const first = dmp.requests[0]!;
  expect([first.service, first.clientCn, first.answer]).toEqual(['repository', 'lab-analyzer', 'success']);
  expect(dmp.held().map((e) => e.format).sort()).toEqual(['http://www.w3.org/2000/09/xmldsig#', 'urn:ihe:iti:xds-sd:pdf:2008', 'urn:ihe:lab:xd-lab:2008']);
  expect(entryOf(rows()[0])).toBe(first.filed[0]!.entryUuid);

  await send(ltwResults('DM-2', 'C', [CREA('8.9', 'C', '20261125143000')]));
  expect(await waitFor(() => sent() === 2, 180_000)).toBe(true);
  const second = dmp.requests[1]!;
  expect(second.filed.filter((f) => f.replaces).map((f) => f.replaces)).toEqual(first.filed.slice(0, 2).map((f) => f.entryUuid));
  expect(first.filed.slice(0, 2).map((f) => dmp.entries.get(f.entryUuid)!.status)).toEqual(['Deprecated', 'Deprecated']);
});

test('the DMP answers 503 for a while: the versions wait and are filed once each, in order; a lost answer is resent and recognised, not filed twice; a withdrawal deletes the last version (ITI-57)', async () => {
  dmp.outage = 503;
  await send(ltwResults('DM-3', 'C', [CREA('8.7', 'C', '20261125150000')]));
  await send(ltwResults('DM-4', 'C', [CREA('8.5', 'C', '20261125153000')]));
  expect(await waitFor(() => rows().length === 4, 120_000)).toBe(true);
  await new Promise((r) => setTimeout(r, 3000));
  expect(rows().map((r) => r.state)).toEqual(['sent', 'sent', 'queued', 'queued']);
  // One line when the DMP started failing, not one per attempt.
  expect(records.filter((r) => /failing/i.test(r.message) && r.destination === 'dmp').length).toBe(1);
  const before = dmp.requests.length;
  dmp.outage = undefined;
  dmp.dropAnswers = 1;
  expect(await waitFor(() => sent() === 4, 180_000)).toBe(true);
  const after = dmp.requests.slice(before);
  // v3 filed (answer lost), v3 again (recognised by its uniqueIds), then v4 replacing v3.
  expect(after.map((r) => r.answer)).toEqual(['success (answer lost)', 'XDSDuplicateUniqueIdInRegistry', 'success']);
  expect(rows()[2]!.detail).toMatch(/already filed: a resend/);
  expect(after[2]!.filed.filter((f) => f.replaces).map((f) => f.replaces)).toEqual(after[0]!.filed.slice(0, 2).map((f) => f.entryUuid));
  expect(dmp.held('Approved').filter((e) => e.format !== 'http://www.w3.org/2000/09/xmldsig#').map((e) => e.entryUuid)).toEqual(after[2]!.filed.slice(0, 2).map((f) => f.entryUuid));

  await send(ltwResults('DM-5', 'C', [GLU('', 'D', '20261125160000'), CREA('', 'D', '20261125160000')]));
  expect(await waitFor(() => sent() === 5, 120_000)).toBe(true);
  const deletion = dmp.requests.at(-1)!;
  expect([deletion.service, deletion.answer]).toEqual(['registry', 'success']);
  expect(deletion.deleted).toEqual(after[2]!.filed.slice(0, 2).map((f) => f.entryUuid));
  expect(deletion.deleted.map((e) => dmp.entries.get(e)!.status)).toEqual(['Deleted', 'Deleted']);
});

test("the DMP refuses (DMPClosed): that version is dead with the DMP's words, not retried", async () => {
  dmp.refuseNext.push({ code: 'DMPClosed', context: 'DMP fermé' });
  const before = dmp.requests.length;
  await send(ltwResults('DM-6', 'F', [GLU('1.01', 'F', '20261125170000'), CREA('9.0', 'F', '20261125170000')]).replace(/LAB-0001/g, 'LAB-0006'));
  expect(await waitFor(() => rows('LAB-0006')[0]?.state === 'dead', 120_000)).toBe(true);
  expect(rows('LAB-0006')[0]!.detail).toMatch(/^PSL_DMP_REFUSED: DMP refused: DMPClosed \(DMP fermé\)/);
  await new Promise((r) => setTimeout(r, 1500));
  expect(dmp.requests.length).toBe(before + 1);
});

test('a non-qualified identity: nothing sent to the DMP, the row says why', async () => {
  const before = dmp.requests.length;
  await send(
    ltwResults('DM-7', 'F', [GLU('0.97', 'F', '20261125180000'), CREA('9.2', 'F', '20261125180000')])
      .replace(/LAB-0001/g, 'LAB-0007')
      .replace(/\|VALI(\r|$)/m, '|PROV$1'),
  );
  expect(await waitFor(() => rows('LAB-0007').length === 1, 120_000)).toBe(true);
  expect(rows('LAB-0007')[0]).toEqual({ version: 1, state: 'held', detail: expect.stringMatching(/^not filed: identity not qualified/) });
  await new Promise((r) => setTimeout(r, 1000));
  expect(dmp.requests.length).toBe(before);
});

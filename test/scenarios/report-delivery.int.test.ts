/**
 * Issue 9's whole scenario on the sample channels, the three delivery variables set
 * (PASSERELLE_DMP_URL with the certificate variables, PASSERELLE_MSS_SMTP_URL, PASSERELLE_PFI_MLLP):
 *
 *  1. the sample ORU: an ITI-41 accepted by the DMP double (mutual TLS, signed VIHF and
 *     XAdES), one mail to the prescriber and one to the patient (qualified INS) with a valid
 *     IHE_XDM.ZIP and the PDF, an ORU^R01 NW to the PFI peer;
 *  2. a correction: an RPLC to the first entries, "annule et remplace" mails, RO;
 *  3. the SMTP server down, the DMP answering 503, the PFI not answering, while two corrections
 *     are published: once they are back, everything is delivered once each, in version order,
 *     and `passerelle deliveries` shows each state along the way;
 *  4. every result withdrawn: an ITI-57 deletion, deletion notices, CA.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync, strFromU8 } from 'fflate';
import type { Message } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import type { TestEngine } from '../support/engine-harness';
import { ScriptedPeer, ackAa } from '../support/lab-peers';
import { freePort } from '../support/redis';
import { CREA, GLU, ltwResults, startSampleChannels } from '../support/sample-channels';
import { waitFor } from '../support/wait';
import { makePki, type TestPki } from '../support/pki';
import { TestSmtpServer } from '../support/smtp';
import { DmpDouble } from '../support/dmp-double';
import { lcmSchema, lx } from '../support/xds';

jest.setTimeout(400_000);

const run = promisify(execFile);
const repo = resolve(__dirname, '../..');
const PRESCRIBER = 'prescripteur.medecin@test.mssante.fr';
const PATIENT = '248092A20345642@patient.mssante.fr';
const VARS = ['PASSERELLE_DMP_URL', 'PASSERELLE_DMP_TLS_CA', 'PASSERELLE_DMP_TLS_CERT', 'PASSERELLE_DMP_TLS_KEY', 'PASSERELLE_DMP_SEAL_CERT', 'PASSERELLE_DMP_SEAL_KEY', 'PASSERELLE_MSS_SMTP_URL', 'PASSERELLE_MSS_TLS_CA', 'PASSERELLE_MSS_TLS_CERT', 'PASSERELLE_MSS_TLS_KEY', 'PASSERELLE_PFI_MLLP'];

let pki: TestPki;
let smtp: TestSmtpServer;
let dmp: DmpDouble;
let pfi: ScriptedPeer;
let pfiPort: number;
let te: TestEngine;
let mllp: MllpClient;

beforeAll(async () => {
  pki = makePki();
  smtp = new TestSmtpServer(await freePort(), pki);
  await smtp.listen();
  dmp = new DmpDouble(await freePort(), pki);
  await dmp.listen();
  pfiPort = await freePort();
  pfi = new ScriptedPeer(pfiPort, ackAa);
  await pfi.listen();
  const f = (name: string): string => join(pki.dir, name);
  Object.assign(process.env, {
    PASSERELLE_DMP_URL: dmp.url,
    PASSERELLE_DMP_TLS_CA: f('ca.crt'),
    PASSERELLE_DMP_TLS_CERT: f('client.crt'),
    PASSERELLE_DMP_TLS_KEY: f('client.key'),
    PASSERELLE_DMP_SEAL_CERT: f('sign.crt'),
    PASSERELLE_DMP_SEAL_KEY: f('sign.key'),
    PASSERELLE_MSS_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    PASSERELLE_MSS_TLS_CA: f('ca.crt'),
    PASSERELLE_MSS_TLS_CERT: f('client.crt'),
    PASSERELLE_MSS_TLS_KEY: f('client.key'),
    PASSERELLE_PFI_MLLP: `mllp://127.0.0.1:${pfiPort}`,
  });
  const started = await startSampleChannels();
  te = started.te;
  mllp = new MllpClient({ host: '127.0.0.1', port: started.ports[2575]! });
});

afterAll(async () => {
  for (const v of VARS) delete process.env[v];
  await mllp?.close();
  await te?.stop();
  await Promise.all([smtp?.close(), dmp?.close(), pfi?.close()]);
  pki?.cleanup();
});

afterEach(() => expect(dmp.problems).toEqual([]));

async function send(text: string | Buffer): Promise<void> {
  await mllp.send(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}

const cli = async (...args: string[]): Promise<string> => {
  const env = { ...process.env, PASSERELLE_STORE: `sqlite:${join(te.dir, 'store.db')}`, PASSERELLE_CHANNELS: join(te.dir, 'channels') };
  return (await run(process.execPath, [join(repo, 'dist/engine/cli/main.js'), ...args], { cwd: repo, env })).stdout;
};

/** `passerelle deliveries --report LAB-0001` as `<version> <target> <state>`, oldest first. */
async function deliveries(): Promise<string[]> {
  const out = await cli('deliveries', '--report', 'LAB-0001', '--limit', '1000');
  return out
    .split('\n')
    .filter((l) => l.startsWith('LAB-0001/'))
    .map((l) => {
      const [id, state] = l.split('\t');
      const [, v, target] = /^LAB-0001\/v(\d+)\/(.+)$/.exec(id!)!;
      return `${v} ${target} ${state}`;
    })
    .sort();
}
const TARGETS = ['dmp', `mss:${PATIENT}`, `mss:${PRESCRIBER}`, 'pfi'];
const allSent = async (v: number): Promise<boolean> => {
  const rows = await deliveries();
  return TARGETS.every((t) => rows.includes(`${v} ${t} sent`));
};
const pfiArrivals = (): Message[] => pfi.received.filter((m, i, all) => all.findIndex((x) => x.controlId === m.controlId) === i);
const versionOf = (messageId: string | undefined): number => Number(/\.v(\d+)\./.exec(messageId ?? '')?.[1]);

test('v1 reaches the DMP, the prescriber, the patient and the PFI; a correction replaces it everywhere', async () => {
  await send(readFileSync(join(repo, 'samples', 'oru-r01_ltw_biochemistry.hl7')));
  expect(await waitFor(async () => allSent(1), 180_000, 1000)).toBe(true);

  expect(dmp.requests.map((r) => [r.service, r.clientCn, r.answer])).toEqual([['repository', 'lab-analyzer', 'success']]);
  expect(dmp.requests[0]!.filed).toHaveLength(3); // N3, N1, the XAdES signature
  for (const address of [PRESCRIBER, PATIENT]) {
    const [mail] = smtp.to(address);
    expect(mail!.clientCn).toBe('lab-analyzer');
    const zip = unzipSync(new Uint8Array(mail!.parsed.attachments.find((a) => a.filename === 'IHE_XDM.ZIP')!.content));
    const metadata = lx.parseXml(strFromU8(zip['IHE_XDM/SUBSET01/METADATA.XML']!));
    expect(metadata.validate(lcmSchema())).toBe(true);
    expect(mail!.parsed.attachments.some((a) => a.contentType === 'application/pdf')).toBe(true);
  }
  expect(pfiArrivals().map((m) => `${m.controlId} ${m.get('ORC-1')}`)).toEqual(['LAB-0001.v1 NW']);

  await send(ltwResults('SC-2', 'C', [CREA('8.9', 'C', '20261125143000')]));
  expect(await waitFor(async () => allSent(2), 180_000, 1000)).toBe(true);
  expect(dmp.requests[1]!.filed.filter((f) => f.replaces).map((f) => f.replaces)).toEqual(dmp.requests[0]!.filed.slice(0, 2).map((f) => f.entryUuid));
  for (const address of [PRESCRIBER, PATIENT]) expect(smtp.to(address)[1]!.parsed.text).toMatch(/^Ce compte rendu annule et remplace le précédent\./);
  expect(pfiArrivals().map((m) => m.get('ORC-1'))).toEqual(['NW', 'RO']);
});

test('SMTP down, DMP 503, PFI silent while two corrections come: once back, each delivered once, in order; then a withdrawal everywhere', async () => {
  await smtp.close();
  await pfi.close();
  dmp.outage = 503;
  await send(ltwResults('SC-3', 'C', [CREA('8.7', 'C', '20261125150000')]));
  await send(ltwResults('SC-4', 'C', [CREA('8.5', 'C', '20261125153000')]));
  expect(await waitFor(async () => (await deliveries()).filter((r) => /^[34] /.test(r)).length === 8, 120_000, 1000)).toBe(true);
  await new Promise((r) => setTimeout(r, 3000));
  expect((await deliveries()).filter((r) => /^[34] /.test(r))).toEqual([3, 4].flatMap((v) => TARGETS.map((t) => `${v} ${t} queued`)));

  const mails = smtp.received.splice(0);
  smtp = new TestSmtpServer(smtp.port, pki);
  smtp.received.push(...mails);
  await smtp.listen();
  const messages = pfi.received.splice(0);
  pfi = new ScriptedPeer(pfiPort, ackAa);
  pfi.received.push(...messages);
  await pfi.listen();
  dmp.outage = undefined;
  expect(await waitFor(async () => (await allSent(3)) && (await allSent(4)), 240_000, 1000)).toBe(true);

  await send(ltwResults('SC-5', 'C', [GLU('', 'D', '20261125160000'), CREA('', 'D', '20261125160000')]));
  expect(await waitFor(async () => allSent(5), 180_000, 1000)).toBe(true);

  // DMP: v1, v2, v3, v4 filed, each replacing the one before, then v4 deleted.
  const filed = dmp.requests.filter((r) => r.answer === 'success');
  expect(filed.map((r) => r.service)).toEqual(['repository', 'repository', 'repository', 'repository', 'registry']);
  for (let i = 1; i < 4; i++) expect(filed[i]!.filed.filter((f) => f.replaces).map((f) => f.replaces)).toEqual(filed[i - 1]!.filed.slice(0, 2).map((f) => f.entryUuid));
  expect(filed[4]!.deleted).toEqual(filed[3]!.filed.slice(0, 2).map((f) => f.entryUuid));
  // Mail: each recipient got v1…v4 once each, in order, then the withdrawal notice.
  for (const address of [PRESCRIBER, PATIENT]) {
    const got = smtp.to(address);
    expect(got.map((m) => versionOf(m.parsed.messageId))).toEqual([1, 2, 3, 4, 5]);
    expect(got[4]!.parsed.subject).toMatch(/^Retrait : /);
  }
  // PFI: NW, RO, RO, RO, CA.
  expect(pfiArrivals().map((m) => `${m.controlId} ${m.get('ORC-1')}`)).toEqual(['LAB-0001.v1 NW', 'LAB-0001.v2 RO', 'LAB-0001.v3 RO', 'LAB-0001.v4 RO', 'LAB-0001.v5 CA']);
  expect((await deliveries()).filter((r) => !r.endsWith(' sent'))).toEqual([]);
});

/**
 * Acceptance (issue 11): "A prescriber's MSSanté address in a routed e-mail comes from the loaded
 * directory file". The sample channels as shipped, a real SMTP server, the directory loaded into
 * the engine's store from extraction files: the sample ORU's prescriber is an RPPS that neither
 * the message nor the correspondents file gives an address for; the mail goes RCPT TO the
 * directory's PER mailbox. A copy whose RPPS the directory does not know is not mailed, and the
 * version's deliveries say why, on the MSSanté line and on the PFI's.
 */
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { MllpClient } from '../../engine/mllp';
import { loadDirectoryFile } from '../../engine/directory/loader';
import type { TestEngine } from '../support/engine-harness';
import { freePort } from '../support/redis';
import { LTW_SAMPLE, startSampleChannels } from '../support/sample-channels';
import { waitFor } from '../support/wait';
import { makePki, type TestPki } from '../support/pki';
import { TestSmtpServer } from '../support/smtp';
import { ScriptedPeer, ackAa } from '../support/lab-peers';
import { MSSANTE_FILE, MSSANTE_HEADER, PERSONS_FILE, PERSON_HEADER, header, mailboxLine, personLine, writeExtraction } from './extraction-files';

jest.setTimeout(120_000);

const PRESCRIBER = '10003456795';
const UNKNOWN_COPY = '10003456799';
const repo = resolve(__dirname, '../..');

let te: TestEngine | undefined;
let smtp: TestSmtpServer;
let pki: TestPki;
let pfi: ScriptedPeer;
const vars = ['PASSERELLE_PFI_MLLP', 'PASSERELLE_MSS_SMTP_URL', 'PASSERELLE_MSS_TLS_CA', 'PASSERELLE_MSS_TLS_CERT', 'PASSERELLE_MSS_TLS_KEY'];

beforeAll(async () => {
  pki = makePki();
  smtp = new TestSmtpServer(await freePort(), pki);
  await smtp.listen();
  const pfiPort = await freePort();
  pfi = new ScriptedPeer(pfiPort, ackAa);
  await pfi.listen();
  Object.assign(process.env, {
    PASSERELLE_PFI_MLLP: `mllp://127.0.0.1:${pfiPort}`,
    PASSERELLE_MSS_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    PASSERELLE_MSS_TLS_CA: join(pki.dir, 'ca.crt'),
    PASSERELLE_MSS_TLS_CERT: join(pki.dir, 'client.crt'),
    PASSERELLE_MSS_TLS_KEY: join(pki.dir, 'client.key'),
  });
});

afterAll(async () => {
  for (const v of vars) delete process.env[v];
  await te?.stop();
  await smtp.close();
  await pfi.close();
  pki.cleanup();
});

test('the prescriber is mailed at the address of the loaded directory; an unknown copy is flagged, not dropped', async () => {
  const hand = fs.readFileSync(join(repo, 'channels', 'labs', 'correspondants.yaml'), 'utf8');
  expect(hand).not.toContain(PRESCRIBER); // the correspondents file does not know them
  const started = await startSampleChannels();
  te = started.te;
  const store = te.engine.messageStore;
  const dir = join(te.dir, 'directory');
  fs.mkdirSync(dir);
  await loadDirectoryFile(store, writeExtraction(dir, PERSONS_FILE, [header(PERSON_HEADER), personLine({ rpps: PRESCRIBER, last: 'ANNUAIRE', first: 'PAUL', structure: 'CABINET ANNUAIRE' })]));
  await loadDirectoryFile(
    store,
    writeExtraction(dir, MSSANTE_FILE, [
      header(MSSANTE_HEADER),
      mailboxLine({ type: 'ORG', address: 'cabinet.annuaire@test.mssante.fr', rpps: PRESCRIBER }),
      mailboxLine({ type: 'PER', address: 'paul.annuaire@test.mssante.fr', rpps: PRESCRIBER }),
    ]),
  );

  // The sample ORU, its prescriber (OBR-16) replaced, without address or name, and an unknown copy (OBR-28).
  const message = LTW_SAMPLE.replace('|10003456789^MEDECIN^Prescripteur^^^^^^RPPS&', `|${PRESCRIBER}^^^^^^^^RPPS&`).replace(
    /(\rOBR\|[^\r]*)\|F(\r)/,
    `$1|F|||${UNKNOWN_COPY}^INCONNU^Confrere^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS$2`,
  );
  expect(message).toContain(PRESCRIBER);
  const client = new MllpClient({ host: '127.0.0.1', port: started.ports[2575]! });
  try {
    await client.send(Buffer.from(message, 'utf8'));
  } finally {
    await client.close();
  }

  expect(await waitFor(() => smtp.received.length >= 2, 90_000)).toBe(true);
  await new Promise((r) => setTimeout(r, 1000));
  expect(smtp.received.map((m) => m.rcptTo[0]!.address).sort()).toEqual(['248092A20345642@patient.mssante.fr', 'paul.annuaire@test.mssante.fr']);

  const rows = await store.findVersionDeliveries({ fillerOrder: 'LAB-0001', limit: 50 });
  const mss = rows.filter((r) => r.target.startsWith('mss:')).map((r) => [r.target, r.state, r.detail?.replace(/\d{4}-\d{2}-\d{2}/, 'DAY')]);
  expect(mss).toContainEqual(['mss:paul.annuaire@test.mssante.fr', 'sent', expect.stringMatching(/^Message-ID/)]);
  expect(mss).toContainEqual([`mss:(copy ${UNKNOWN_COPY})`, 'held', 'not mailed: RPPS unknown to the directory (loaded DAY): no MSSanté address']);
  // The PFI, which mails for the hospital, is told the same address; the unknown copy is flagged on its line too.
  expect(await waitFor(() => pfi.received.length > 0, 60_000)).toBe(true);
  expect(pfi.received[0]!.segments('PRT').filter((p) => p.get('4.1') === 'RCT').map((p) => p.get('15.4'))).toContain('paul.annuaire@test.mssante.fr');
  expect(await waitFor(async () => (await store.findVersionDeliveries({ fillerOrder: 'LAB-0001', limit: 50 })).some((r) => r.target === 'pfi' && r.state === 'sent'), 30_000)).toBe(true);
  const pfiRows = (await store.findVersionDeliveries({ fillerOrder: 'LAB-0001', limit: 50 })).filter((r) => r.target.startsWith('pfi:')).map((r) => [r.target, r.state, r.detail?.replace(/\d{4}-\d{2}-\d{2}/, 'DAY')]);
  expect(pfiRows).toEqual([[`pfi:(copy ${UNKNOWN_COPY})`, 'held', 'sent to the PFI, but RPPS unknown to the directory (loaded DAY): no MSSanté address']]);
  // The documents name the prescriber as the directory does.
  const meta = JSON.parse(fs.readFileSync(join(te.dir, 'out', 'documents', 'LAB-0001', 'v1', 'pro.metadata.json'), 'utf8')) as { recipients: { mssante?: string; role: string }[] };
  expect(meta.recipients).toContainEqual(expect.objectContaining({ role: 'prescriber', mssante: 'paul.annuaire@test.mssante.fr' }));
});

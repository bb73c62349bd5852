/**
 * The sample `ltw-results` channel delivers when told where (issue 9, item 7):
 * PASSERELLE_PFI_MLLP set, the sample ORU's version 1 reaches a PFI peer as ORU^R01 NW;
 * PASSERELLE_MSS_SMTP_URL set (with the lab certificate variables), it is mailed to the
 * prescriber and the patient through a real SMTP server; unset, the engine says once per
 * delivery at start that it is off (the other sample-channel tests).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MllpClient } from '../../engine/mllp';
import type { TestEngine } from '../support/engine-harness';
import { ScriptedPeer, ackAa } from '../support/lab-peers';
import { capturingLogger } from '../support/log-capture';
import { freePort } from '../support/redis';
import { startSampleChannels } from '../support/sample-channels';
import { waitFor } from '../support/wait';
import { makePki } from '../support/pki';
import { TestSmtpServer } from '../support/smtp';

jest.setTimeout(120_000);

const repo = resolve(__dirname, '../..');
let te: TestEngine | undefined;
let pfi: ScriptedPeer | undefined;

/** The sample LTW ORU to the ltw-results listener. */
async function sendSample(port: number): Promise<void> {
  const client = new MllpClient({ host: '127.0.0.1', port });
  try {
    await client.send(readFileSync(join(repo, 'samples', 'oru-r01_ltw_biochemistry.hl7')));
  } finally {
    await client.close();
  }
}

const MSS_VARS = ['PASSERELLE_MSS_SMTP_URL', 'PASSERELLE_MSS_TLS_CA', 'PASSERELLE_MSS_TLS_CERT', 'PASSERELLE_MSS_TLS_KEY'];

afterEach(async () => {
  delete process.env.PASSERELLE_PFI_MLLP;
  for (const v of MSS_VARS) delete process.env[v];
  await te?.stop();
  await pfi?.close();
  te = undefined;
  pfi = undefined;
});

test('PASSERELLE_PFI_MLLP set: the sample ORU becomes an ORU^R01 NW to the PFI, with the N1 and N3 of version 1', async () => {
  const port = await freePort();
  pfi = new ScriptedPeer(port, ackAa);
  await pfi.listen();
  process.env.PASSERELLE_PFI_MLLP = `mllp://127.0.0.1:${port}`;
  const started = await startSampleChannels();
  te = started.te;
  await sendSample(started.ports[2575]!);
  expect(await waitFor(() => pfi!.received.length > 0, 90_000)).toBe(true);
  const m = pfi.received[0]!;
  expect([m.get('MSH-9'), m.get('MSH-21'), m.get('ORC-1'), m.get('ORC-3'), m.controlId]).toEqual(['ORU^R01^ORU_R01', '2.1^CISIS_CDA_HL7_V2', 'NW', 'LAB-0001^SIL-LABO', 'LAB-0001.v1']);
  const n3 = Buffer.from(m.segments('OBX')[1]!.get('5.5'), 'base64').toString('utf8');
  expect(n3).toBe(readFileSync(join(te.dir, 'out', 'documents', 'LAB-0001', 'v1', 'pro.n3.xml'), 'utf8'));
  // The prescriber's MSSanté address comes from the lab's correspondents file (the message gives none),
  // the same on the report's list of recipients and in what the PFI is asked to mail.
  const rct = m.segments('PRT').filter((p) => p.get('4.1') === 'RCT').map((p) => p.get('15.4'));
  expect(rct).toEqual(['prescripteur.medecin@test.mssante.fr', '248092A20345642@patient.mssante.fr']);
  const meta = JSON.parse(readFileSync(join(te.dir, 'out', 'documents', 'LAB-0001', 'v1', 'pro.metadata.json'), 'utf8')) as { recipients: { mssante?: string; role: string }[] };
  expect(meta.recipients).toContainEqual(expect.objectContaining({ role: 'prescriber', mssante: 'prescripteur.medecin@test.mssante.fr' }));
});

test('PASSERELLE_MSS_SMTP_URL and the certificate variables set: the sample ORU is mailed to the prescriber and to the patient, over STARTTLS with the lab certificate', async () => {
  const pki = makePki();
  const smtp = new TestSmtpServer(await freePort(), pki);
  await smtp.listen();
  try {
    Object.assign(process.env, {
      PASSERELLE_MSS_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      PASSERELLE_MSS_TLS_CA: join(pki.dir, 'ca.crt'),
      PASSERELLE_MSS_TLS_CERT: join(pki.dir, 'client.crt'),
      PASSERELLE_MSS_TLS_KEY: join(pki.dir, 'client.key'),
    });
    const started = await startSampleChannels();
    te = started.te;
    await sendSample(started.ports[2575]!);
    expect(await waitFor(() => smtp.received.length >= 2, 90_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(smtp.received.map((m) => m.rcptTo[0]!.address).sort()).toEqual(['248092A20345642@patient.mssante.fr', 'prescripteur.medecin@test.mssante.fr']);
    for (const m of smtp.received) {
      expect(m.clientCn).toBe('lab-analyzer');
      expect(m.parsed.subject).toMatch(/^XDM\/1\.0\/DDM\+/);
      expect(m.parsed.attachments.map((a) => a.filename)).toEqual(['IHE_XDM.ZIP', expect.stringMatching(/\.pdf$/)]);
    }
  } finally {
    await te?.stop();
    te = undefined;
    await smtp.close();
    pki.cleanup();
  }
});

test('PASSERELLE_PFI_MLLP, PASSERELLE_MSS_SMTP_URL and PASSERELLE_DMP_URL unset: one line each at start says that delivery is off', async () => {
  const { logger, records } = capturingLogger();
  ({ te } = await startSampleChannels({ logger }));
  const off = records.filter((r) => r.code === 'PSL_DELIVERY_DISABLED');
  expect(off.map((r) => /PASSERELLE_\w+/.exec(r.message)?.[0])).toEqual(['PASSERELLE_PFI_MLLP', 'PASSERELLE_MSS_SMTP_URL', 'PASSERELLE_DMP_URL']);
});

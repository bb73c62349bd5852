/**
 * The sample `ltw-results` channel delivers to a PFI when told where (issue 9, item 7):
 * PASSERELLE_PFI_MLLP set, the sample ORU's version 1 reaches a PFI peer as ORU^R01 NW; unset,
 * the engine says once at start that the PFI delivery is off (the other sample-channel tests).
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

jest.setTimeout(120_000);

const repo = resolve(__dirname, '../..');
let te: TestEngine | undefined;
let pfi: ScriptedPeer | undefined;

afterEach(async () => {
  delete process.env.PASSERELLE_PFI_MLLP;
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
  const client = new MllpClient({ host: '127.0.0.1', port: started.ports[2575]! });
  try {
    await client.send(readFileSync(join(repo, 'samples', 'oru-r01_ltw_biochemistry.hl7')));
  } finally {
    await client.close();
  }
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

test('PASSERELLE_PFI_MLLP unset: one line at start says the PFI delivery is off', async () => {
  const { logger, records } = capturingLogger();
  ({ te } = await startSampleChannels({ logger }));
  const off = records.filter((r) => r.code === 'PSL_DELIVERY_DISABLED');
  expect(off).toHaveLength(1);
  expect(off[0]!.message).toContain('PASSERELLE_PFI_MLLP');
});

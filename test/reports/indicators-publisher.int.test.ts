/**
 * The facts the indicators count by come from the publisher: a published version records the
 * lab's geographic FINESS, its validating biologist's RPPS and whether the patient's INS is
 * qualified, and indicatorRows gives them back with the version's deliveries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { ReportPublisher } from '../../engine/documents';
import { SqliteStore } from '../../engine/store/sqlite';
import { AnsKit } from '../../engine/validation';
import { createLogger } from '../../engine/runtime/logger';
import { computeIndicators } from '../../engine/reports/indicators';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { TEST_LAB_PROFILE } from '../support/lab-profile';

jest.setTimeout(300_000);

const sample = (name: string): string => decode(fs.readFileSync(path.resolve(__dirname, `../../samples/${name}`))).text;
// The biochemistry sample (qualified INS), its results validated by a biologist named by RPPS (OBX-16).
const VALIDATED = sample('oru-r01_ltw_biochemistry.hl7')
  .split('\r')
  .map((l) => (l.startsWith('OBX|') ? l.split('|').map((f, i) => (i === 16 ? '801234534765^BIOLOGISTE^Anne^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO' : f)).join('|') : l))
  .join('\r');

test('a published version carries FINESS, RPPS and INS qualification to the indicator rows', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-facts-'));
  const store = new SqliteStore({ path: path.join(dir, 'store.db') });
  await store.init();
  try {
    const publisher = new ReportPublisher({
      store,
      directory: path.join(dir, 'out'),
      version: '2024.01',
      profiles: ['pro'],
      lab: TEST_LAB_PROFILE,
      defaultLab: 'LABO-DEMO',
      kit: AnsKit.open(ANS_KIT_DIR),
      logger: createLogger({ level: 'error' }),
      // What a delivery line records for a version, already sent.
      deliveries: [{ record: (v) => store.putVersionDelivery({ lab: v.lab, fillerOrder: v.fillerOrder, version: v.version, target: 'dmp', state: 'sent', detail: null }), enqueue: async () => undefined }],
    });
    expect(await publisher.handle(Message.parse(VALIDATED), 'm1')).toMatch(/v1/);
    // A provisional identity (PID-32 PROV): no qualified INS; validated by 810002345678 (OBX-16).
    expect(await publisher.handle(Message.parse(sample('oru-r01_identity-prov.hl7')), 'm2')).toMatch(/v1/);
    const rows = await store.indicatorRows(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    const finess = TEST_LAB_PROFILE.lab.finess ?? TEST_LAB_PROFILE.lab.id;
    expect(rows.map((r) => ({ filler: r.fillerOrder, finess: r.finess, rpps: r.rpps, ins: r.insQualified, status: r.status })).sort((a, b) => a.filler.localeCompare(b.filler))).toEqual(
      [
        { filler: 'LAB-0001', finess, rpps: '801234534765', ins: true, status: 'completed' },
        { filler: expect.not.stringMatching(/^LAB-0001$/), finess, rpps: '810002345678', ins: false, status: expect.any(String) },
      ],
    );
    const month = computeIndicators(rows).find((g) => g.period.kind === 'month' && g.rpps === null)!;
    expect(month.finess).toBe(finess);
    expect(month.counts.dmp).toEqual({ total: 2, insQualified: 1, insNotQualified: 1 });
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Report versions end to end on a real store and the official rules: each result message
 * updates its report and publishes the next version under <dir>/<filler order>/v<n>/; the same
 * content makes no version; every result withdrawn gives a deletion; another patient is
 * refused; a version whose writer died between reserving and writing is written by the retry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { Message, decode } from '../../engine/hl7';
import { ReportPublisher } from '../../engine/documents';
import { PasserelleError } from '../../engine/errors';
import { reportFromJson } from '../../engine/reports';
import { SqliteStore } from '../../engine/store/sqlite';
import { AnsKit } from '../../engine/validation';
import { createLogger } from '../../engine/runtime/logger';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { Doc } from '../cda/helpers';

jest.setTimeout(300_000);

const FINAL = decode(readFileSync(path.resolve(__dirname, '../../samples/oru-r01_ltw_biochemistry.hl7'))).text;
const GLU = 'OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||0.95|g/L^g/L^UCUM|0.70-1.10|N|||F|||20261125073000|||||20261125100500';

/** The sample with another MSH-10, OBR-25, PID and OBX lines (its NTE dropped). */
function variant(controlId: string, obr25: string, obx: string[], pid?: (l: string) => string): Message {
  const out: string[] = [];
  for (const l of FINAL.split('\r').filter((x) => x !== '')) {
    if (l.startsWith('MSH|')) out.push(l.replace('|SMP-ORU-0001|', `|${controlId}|`));
    else if (l.startsWith('PID|')) out.push(pid ? pid(l) : l);
    else if (l.startsWith('OBR|')) out.push(l.replace(/\|F$/, `|${obr25}`));
    else if (l.startsWith('OBX|') || l.startsWith('NTE|')) continue;
    else if (l.startsWith('SPM|')) out.push(...obx, l);
    else out.push(l);
  }
  return Message.parse(out.join('\r'));
}

describe('ReportPublisher', () => {
  let dir: string;
  let store: SqliteStore;
  let publisher: ReportPublisher;
  let kit: AnsKit;
  const folder = (): string => path.join(dir, 'out', 'LAB-0001');
  const n3 = (v: number): Doc => new Doc(readFileSync(path.join(folder(), `v${v}`, 'pro.n3.xml'), 'utf8'));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-publisher-'));
    store = new SqliteStore({ path: path.join(dir, 'store.db') });
    await store.init();
    kit = AnsKit.open(ANS_KIT_DIR);
    publisher = new ReportPublisher(options());
  });
  const options = (): ConstructorParameters<typeof ReportPublisher>[0] => ({
    store,
    directory: path.join(dir, 'out'),
    version: '2024.01',
    profiles: ['pro'],
    lab: TEST_LAB_PROFILE,
    defaultLab: 'LABO-DEMO',
    kit,
    versionLeaseMs: 0,
    logger: createLogger({ level: 'error' }),
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('final, then a correction of one OBX: v1 and v2 of one report, v2 replacing v1', async () => {
    expect(await publisher.handle(Message.parse(FINAL), 'm1')).toBe('report LAB-0001: v1 (completed)');
    const correction = variant('SMP-ORU-0002', 'C', ['OBX|1|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN||8.9|mg/L^mg/L^UCUM|5.0-9.0|N|||C|||20261125073000|||||20261125143000']);
    expect(await publisher.handle(correction, 'm2')).toBe('report LAB-0001: v2 (completed)');
    const [v1, v2] = [n3(1), n3(2)];
    expect(v2.strings("//c:observation[c:code/@code='2160-0']/c:value/@value")).toEqual(['8.9']);
    expect(v2.strings("//c:observation[c:code/@code='2345-7']/c:value/@value")).toEqual(['0.95']);
    expect(v2.str('/c:ClinicalDocument/c:setId/@root')).toBe(v1.str('/c:ClinicalDocument/c:setId/@root'));
    expect(v2.str("//c:relatedDocument[@typeCode='RPLC']/c:parentDocument/c:id/@root")).toBe(v1.str('/c:ClinicalDocument/c:id/@root'));
    const meta = JSON.parse(readFileSync(path.join(folder(), 'v2', 'pro.metadata.json'), 'utf8')) as { versionNumber: number };
    expect(meta.versionNumber).toBe(2);
    expect((await store.reportVersions('SIL-LABO', 'LAB-0001')).map((v) => [v.version, v.status, v.written])).toEqual([
      [1, 'completed', true],
      [2, 'completed', true],
    ]);
  });

  test('the same message again, or the same content in another message, makes no new version', async () => {
    expect(await publisher.handle(Message.parse(FINAL), 'm1')).toBe('report LAB-0001: no new version (same-content)');
    const same = variant('SMP-ORU-0009', 'C', ['OBX|1|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN||8.9|mg/L^mg/L^UCUM|5.0-9.0|N|||C|||20261125073000|||||20261125143000']);
    expect(await publisher.handle(same, 'm9')).toBe('report LAB-0001: no new version (same-content)');
    expect(fs.existsSync(path.join(folder(), 'v3'))).toBe(false);
  });

  test('another patient on the same file number is refused and changes nothing', async () => {
    const other = variant('SMP-ORU-0003', 'F', [GLU], (l) => l.replace('248092A20345642', '182127512345691'));
    await expect(publisher.handle(other, 'm3')).rejects.toMatchObject({ code: 'PSL_REPORT_IDENTITY_MISMATCH' });
    expect((await store.reportVersions('SIL-LABO', 'LAB-0001')).length).toBe(2);
  });

  test('a version reserved by a writer that died is written by the retry', async () => {
    // As if a worker reserved v3 for a new value and died before writing it.
    const update = variant('SMP-ORU-0004', 'C', ['OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||1.01|g/L^g/L^UCUM|0.70-1.10|N|||C|||20261125073000|||||20261125160000']);
    const dying = new ReportPublisher({
      ...options(),
      store: {
        getReport: (...a) => store.getReport(...a),
        putReport: (...a) => store.putReport(...a),
        reportVersions: (...a) => store.reportVersions(...a),
        markReportVersionWritten: (...a) => store.markReportVersionWritten(...a),
        releaseReportVersion: (...a) => store.releaseReportVersion(...a),
        getOrder: (...a) => store.getOrder(...a),
        putOrder: (...a) => store.putOrder(...a),
        linkOrder: (...a) => store.linkOrder(...a),
        orderKeyOf: (...a) => store.orderKeyOf(...a),
        nextSequence: (...a) => store.nextSequence(...a),
        reserveReportVersion: async (v, lease) => {
          expect(await store.reserveReportVersion(v, lease)).toBe(true);
          throw new Error('worker killed after reserving');
        },
      },
    });
    await expect(dying.handle(update, 'm4')).rejects.toThrow('worker killed');
    expect(fs.existsSync(path.join(folder(), 'v3'))).toBe(false);
    expect((await store.reportVersions('SIL-LABO', 'LAB-0001')).at(-1)).toMatchObject({ version: 3, written: false });
    // The job is retried: the message is already in the report, the version still gets written.
    expect(await publisher.handle(update, 'm4')).toBe('report LAB-0001: v3 (completed)');
    expect(n3(3).strings("//c:observation[c:code/@code='2345-7']/c:value/@value")).toEqual(['1.01']);
  });

  test('a writer that fails gives its version number back at once; without a kit none is taken', async () => {
    // A report of its own (LAB-0005), so the other tests' versions do not move.
    const update = Message.parse(variant('SMP-ORU-0005', 'F', [GLU]).toString().replace(/LAB-0001/g, 'LAB-0005'));
    const held = async (): Promise<number> => (await store.reportVersions('SIL-LABO', 'LAB-0005')).filter((v) => !v.written).length;
    const noKit = new ReportPublisher({ ...options(), kit: undefined, versionLeaseMs: 60_000 });
    await expect(noKit.handle(update, 'm5')).rejects.toMatchObject({ code: 'PSL_DOCUMENT_KIT_UNAVAILABLE' });
    expect(await held()).toBe(0);
    const crashing = new ReportPublisher({
      ...options(),
      versionLeaseMs: 60_000,
      renderPool: { renderReport: async () => Promise.reject(new PasserelleError('PSL_RENDER_WORKER', 'render thread exited')) },
    });
    await expect(crashing.handle(update, 'm5')).rejects.toMatchObject({ code: 'PSL_RENDER_WORKER' });
    expect(await held()).toBe(0);
    // The retry, a minute's lease or not, takes the same number now.
    expect(await new ReportPublisher({ ...options(), versionLeaseMs: 60_000 }).handle(update, 'm5')).toBe('report LAB-0005: v1 (completed)');
  });

  test("a subcontractor's results are kept in their own report and never published on their own", async () => {
    const own = new ReportPublisher({ ...options(), ownFillers: ['SIL-LABO'] });
    const sub = decode(readFileSync(path.resolve(__dirname, '../../samples/oru-r01_ilw_subcontracted.hl7'))).text;
    expect(await own.handle(Message.parse(sub), 's1')).toBe('report ST-5501 of SIL-SOUSTRAITANT: subcontracted results kept, never published on their own');
    expect(fs.existsSync(path.join(dir, 'out', 'ST-5501'))).toBe(false);
    expect(await store.reportVersions('SIL-SOUSTRAITANT', 'ST-5501')).toEqual([]);
    const kept = await store.getReport('SIL-SOUSTRAITANT', 'ST-5501');
    expect(kept?.rowVersion).toBe(1);
    // Not even on an operator's request (passerelle publish).
    expect(await own.publish(reportFromJson(kept!.state), true)).toBe("report ST-5501 of SIL-SOUSTRAITANT: a subcontractor's results, never published on their own");
    expect(fs.existsSync(path.join(dir, 'out', 'ST-5501'))).toBe(false);
  });

  test("a subcontractor's results sent with our filler number as their placer number are fused into our report's next version", async () => {
    const own = new ReportPublisher({ ...options(), ownFillers: ['SIL-LABO'] });
    const sub = decode(readFileSync(path.resolve(__dirname, '../../samples/oru-r01_ilw_subcontracted.hl7'))).text
      .replace(/SUB-0001\^SIL-LABO/g, 'LAB-0001^SIL-LABO')
      .replace('SMP-ILW-0001', 'SMP-ILW-0002');
    expect(await own.handle(Message.parse(sub), 's2')).toBe('report LAB-0001: v4 (completed)');
    const v4 = n3(4);
    // Our own results stay; the subcontracted one names its performing lab (FINESS 750000009).
    expect(v4.strings("//c:observation[c:code/@code='2345-7']/c:value/@value")).toEqual(['1.01']);
    expect(v4.strings("//c:observation[c:code/@code='1989-3']/c:value/@value")).toEqual(['31.5']);
    expect(v4.xml).toContain('750000009');
    expect(v4.str("//c:relatedDocument[@typeCode='RPLC']/c:parentDocument/c:id/@root")).toBe(n3(3).str('/c:ClinicalDocument/c:id/@root'));
    expect(fs.existsSync(path.join(dir, 'out', 'ST-5501'))).toBe(false);
    expect(await store.getReport('SIL-SOUSTRAITANT', 'ST-5501')).toMatchObject({ rowVersion: 1 }); // the earlier, unfused one only
  });

  test('every result withdrawn: a deletion of the last version', async () => {
    const withdraw = variant('SMP-ORU-0005', 'C', [
      'OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||||||||D|||20261125073000|||||20261125170000',
      'OBX|2|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN||||||||D|||20261125073000|||||20261125170000',
    ]);
    // The subcontracted result is still there: withdrawing our two leaves a v5, not a deletion.
    expect(await publisher.handle(withdraw, 'm5')).toBe('report LAB-0001: v5 (completed)');
    const vitD = variant('SMP-ORU-0006', 'C', ['OBX|1|NM|1989-3^25-Hydroxyvitamine D3 [Masse/Volume] Sérum/Plasma^LN||||||||D|||20261125073000|||||20261125170000']);
    expect(await publisher.handle(vitD, 'm6')).toBe('report LAB-0001: v6 deletes v5');
    const event = JSON.parse(readFileSync(path.join(folder(), 'v6.deleted.json'), 'utf8')) as Record<string, unknown>;
    expect(event).toMatchObject({ event: 'deletion', version: 6, deletesVersion: 5, deletesDocumentId: n3(5).str('/c:ClinicalDocument/c:id/@root'), setId: n3(5).str('/c:ClinicalDocument/c:setId/@root') });
  });
});

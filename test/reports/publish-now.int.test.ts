/**
 * A version published on request outside the engine (engine/documents/publish-now.ts, what
 * `passerelle publish` runs): rendered with the channel's reports destination, its deliveries
 * recorded and queued in Redis for the running engine to send (none sent from here), the request
 * recorded on the report. Real SQLite / PostgreSQL, Redis under a prefix of its own, the ANS kit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Message } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { ReportBook, reportFromJson, splitByReport } from '../../engine/reports';
import { openReportsPublisher, publishReportNow, reportsDestinationOf } from '../../engine/documents/publish-now';
import { AnsKit } from '../../engine/validation';
import { silentLogger } from '../../engine/runtime/logger';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { LAB_PROFILE_FILE } from '../support/lab-profile';
import { CREA, GLU, ltwResults } from '../support/sample-channels';
import type { SqliteStore } from '../../engine/store/sqlite';
import type { PgStore } from '../../engine/store/postgres';
import { openPgTestStore, openSqliteTestStore } from '../support/test-stores';
import { REDIS, deletePrefix, freePort, freshPrefix } from '../support/redis';

jest.setTimeout(300_000);

type Store = SqliteStore | PgStore;
const AT = '20261125100500';

function channelFile(name: string, out: string, pfiPort: number): string {
  return (
    `name: ${name}\nsource:\n  type: mllp\n  port: 0\nacceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n` +
    `  - name: documents\n    type: reports\n    directory: ${out}\n    lab: ${LAB_PROFILE_FILE}\n    publish: on-request\n    ownFillers: [SIL-LABO]\n` +
    `    pfi:\n      host: 127.0.0.1\n      port: ${pfiPort}\n      receivingApplication: PFI\n      receivingFacility: CHU-DEMO\n      replyTo: resultats@labo-demo.mssante.fr\n`
  );
}

function suite(name: string, open: () => Promise<{ store: Store; destroy(): Promise<void> }>): void {
  describe(name, () => {
    let store: Store;
    let destroy: () => Promise<void>;
    let dir: string;
    const prefix = freshPrefix();
    const redis = new Redis({ ...REDIS, maxRetriesPerRequest: 1 });

    beforeAll(async () => {
      ({ store, destroy } = await open());
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-publish-now-'));
      fs.mkdirSync(path.join(dir, 'channels'));
      // Nothing listens there: this process must not send.
      fs.writeFileSync(path.join(dir, 'channels', 'ltw.yaml'), channelFile('ltw', path.join(dir, 'out'), await freePort()));
    });
    afterAll(async () => {
      redis.disconnect();
      await deletePrefix(prefix);
      await store?.close();
      await destroy?.();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("on request: the partial version is written, its PFI delivery queued for the engine, the request on the report", async () => {
      const msg = Message.parse(ltwResults('P1', 'P', [GLU('0.95', 'F', AT), CREA('', 'I', AT)]));
      await new ReportBook(store).apply(splitByReport(reportFromMessage(msg), 'p1', 'LABO-DEMO', ['SIL-LABO']).updates[0]!);
      const opened = openReportsPublisher({ channelsDir: path.join(dir, 'channels'), store, kit: AnsKit.open(ANS_KIT_DIR), redis: { connection: REDIS, prefix }, logger: silentLogger() });
      try {
        expect(opened.channel).toBe('ltw');
        const out = await publishReportNow({ store, publisher: opened.publisher }, { fillerOrder: 'LAB-0001' }, 'console:alice');
        expect(out).toEqual({ outcome: 'published', detail: 'report LAB-0001: v1 (active)', version: 1 });
      } finally {
        await opened.close();
      }
      expect(fs.existsSync(path.join(dir, 'out', 'LAB-0001', 'v1', 'pro.n3.xml'))).toBe(true);
      expect((await store.reportVersions('SIL-LABO', 'LAB-0001')).map((v) => [v.version, v.status, v.written])).toEqual([[1, 'active', true]]);
      expect((await store.versionDeliveries('SIL-LABO', 'LAB-0001')).map((d) => [d.version, d.target, d.state])).toEqual([[1, 'pfi', 'queued']]);
      let waiting = 0;
      for (let p = 0; p < 4; p++) waiting += await redis.llen(`${prefix}:ltw.documents.pfi.p${p}:wait`);
      expect(waiting).toBe(1);
      const actions = reportFromJson((await store.getReport('SIL-LABO', 'LAB-0001'))!.state).actions;
      expect(actions).toEqual([{ action: 'publish', by: 'console:alice', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), outcome: 'report LAB-0001: v1 (active)' }]);
    });

    test('which reports destination: the only one, the one named, or a coded refusal', () => {
      const two = path.join(dir, 'two');
      fs.mkdirSync(two, { recursive: true });
      fs.writeFileSync(path.join(two, 'a.yaml'), channelFile('a', path.join(dir, 'out-a'), 1));
      fs.writeFileSync(path.join(two, 'b.yaml'), channelFile('b', path.join(dir, 'out-b'), 1));
      expect(() => reportsDestinationOf(two)).toThrow(expect.objectContaining({ code: 'PSL_PUBLISH_DESTINATION_AMBIGUOUS', message: expect.stringContaining('(a, b)') }));
      expect(reportsDestinationOf(two, 'b')).toMatchObject({ channel: 'b', config: { name: 'documents', type: 'reports' } });
      expect(() => reportsDestinationOf(two, 'c')).toThrow(expect.objectContaining({ code: 'PSL_PUBLISH_NO_DESTINATION' }));
    });
  });
}

suite('SQLite', () => openSqliteTestStore('psl-publish-now-store-'));
suite('PostgreSQL', openPgTestStore);

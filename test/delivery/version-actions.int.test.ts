/**
 * Operators' resend and cancel of a report version delivery (engine/delivery/version-actions.ts)
 * on real stores (SQLite in a temp dir, PostgreSQL) and, where a line sends, real Redis: each
 * refusal is a coded error and leaves the row as it was; each action leaves who and when in the
 * row's detail; a row queued again is sent by its line, in its place.
 */
import { randomUUID } from 'node:crypto';
import { cancelVersionDelivery, parseVersionDeliveryId, resendVersionDelivery, versionDeliveryId } from '../../engine/delivery/version-actions';
import { VersionLine, type DeliveryContext, type DeliveryOutcome, type PlannedDelivery } from '../../engine/delivery/version-line';
import { silentLogger } from '../../engine/runtime/logger';
import type { StoredVersionDelivery } from '../../engine/store/types';
import type { SqliteStore } from '../../engine/store/sqlite';
import type { PgStore } from '../../engine/store/postgres';
import { openPgTestStore, openSqliteTestStore } from '../support/test-stores';
import { REDIS, deletePrefix, freshPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

type Store = SqliteStore | PgStore;
type Row = Omit<StoredVersionDelivery, 'updatedAt'>;

const LAB = 'SIL-LABO';
const TRACE = /^(retried|cancelled) by console:alice at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(was: /;

/** A line of kind `test` whose sends the test sees; it sends whatever is queued. */
class RecordingLine extends VersionLine {
  readonly sent: string[] = [];
  protected async plan(): Promise<PlannedDelivery[]> {
    return [];
  }
  protected async deliver(ctx: DeliveryContext): Promise<DeliveryOutcome> {
    this.sent.push(`${ctx.fillerOrder}/v${ctx.version}`);
    return { state: 'sent', detail: `remote-${ctx.version}` };
  }
}

function suite(name: string, open: () => Promise<{ store: Store; destroy(): Promise<void> }>): void {
  describe(name, () => {
    let store: Store;
    let destroy: () => Promise<void>;
    const prefix = freshPrefix();
    const lines: RecordingLine[] = [];

    beforeAll(async () => {
      ({ store, destroy } = await open());
    });
    afterAll(async () => {
      for (const l of lines) await l.stop(1000);
      await store?.close();
      await destroy?.();
      await deletePrefix(prefix);
    });

    const filler = (): string => `LAB-${randomUUID().slice(0, 8)}`;
    const put = async (...rows: Row[]): Promise<void> => {
      for (const r of rows) await store.putVersionDelivery(r);
    };
    const row = async (fillerOrder: string, version: number, target: string, lab = LAB): Promise<StoredVersionDelivery | undefined> =>
      (await store.versionDeliveries(lab, fillerOrder)).find((d) => d.version === version && d.target === target);
    const written = async (fillerOrder: string, version: number): Promise<void> => {
      await store.reserveReportVersion({ lab: LAB, fillerOrder, version, status: 'active', contentHash: `h${version}`, revision: version }, 0);
      await store.markReportVersionWritten(LAB, fillerOrder, version);
    };
    const line = async (): Promise<RecordingLine> => {
      const l = new RecordingLine('test', {
        // A queue of its own: a line of an earlier test must not take this one's jobs.
        name: `actions-${name.toLowerCase()}-${lines.length}`,
        store,
        retry: { maxAttempts: 50, backoffBaseMs: 20, backoffMaxMs: 100, retryAmbiguous: false },
        partitions: 1,
        defaultCharset: 'utf-8',
        connection: REDIS,
        prefix,
        consume: true,
        logger: silentLogger(),
      });
      lines.push(l);
      await l.start();
      return l;
    };

    test('a dead delivery is queued again with who and when, and its line sends it', async () => {
      const f = filler();
      await written(f, 1);
      await put({ lab: LAB, fillerOrder: f, version: 1, target: 'test', state: 'dead', detail: 'PSL_DEST_NAK_ERROR: AE document refusé' });
      const l = await line();
      const out = await resendVersionDelivery({ store, lines: [l] }, { fillerOrder: f, version: 1, target: 'test' }, 'console:alice');
      expect(out).toEqual({ outcome: 'queued', detail: `${f}/v1/test: queued again; on its line now, in its place in the report's line` });
      expect(await waitFor(async () => (await row(f, 1, 'test'))?.state === 'sent', 10_000)).toBe(true);
      expect(l.sent.filter((s) => s === `${f}/v1`)).toHaveLength(1);
      expect((await row(f, 1, 'test'))!.detail).toBe('remote-1');
    });

    test('the row queued again says who retried it, when, and what it was', async () => {
      const f = filler();
      await put({ lab: LAB, fillerOrder: f, version: 1, target: 'pfi', state: 'dead', detail: 'PSL_DEST_NAK_ERROR: refused' });
      const out = await resendVersionDelivery({ store }, parseVersionDeliveryId(`${f}/v1/pfi`), 'console:alice');
      expect(out.outcome).toBe('queued');
      expect(out.detail).toMatch(/a running engine sends it within 30 s/);
      const d = (await row(f, 1, 'pfi'))!;
      expect(d.state).toBe('queued');
      expect(d.detail).toMatch(TRACE);
      expect(d.detail).toMatch(/\(was: PSL_DEST_NAK_ERROR: refused\)$/);
    });

    test('a held delivery, one not dead, and a receipt are refused with their code, the row unchanged', async () => {
      const f = filler();
      await put(
        { lab: LAB, fillerOrder: f, version: 1, target: 'dmp', state: 'held', detail: 'identity not qualified' },
        { lab: LAB, fillerOrder: f, version: 1, target: 'pfi', state: 'sent', detail: 'ACK' },
        { lab: LAB, fillerOrder: f, version: 1, target: 'mss:dr.x@hopital.mssante.fr', state: 'queued', detail: null },
        { lab: LAB, fillerOrder: f, version: 1, target: 'pfi>dmp', state: 'failed', detail: 'DMPClosed' },
      );
      const resend = (target: string): Promise<unknown> => resendVersionDelivery({ store }, { fillerOrder: f, version: 1, target }, 'console:alice');
      await expect(resend('dmp')).rejects.toMatchObject({ code: 'PSL_RESEND_HELD', message: expect.stringContaining('identity not qualified') });
      await expect(resend('pfi')).rejects.toMatchObject({ code: 'PSL_RESEND_NOT_DEAD', message: `${f}/v1/pfi: sent, nothing to retry` });
      await expect(resend('mss:dr.x@hopital.mssante.fr')).rejects.toMatchObject({ code: 'PSL_RESEND_NOT_DEAD' });
      await expect(resend('pfi>dmp')).rejects.toMatchObject({ code: 'PSL_DELIVERY_RECEIPT' });
      await expect(cancelVersionDelivery({ store }, { fillerOrder: f, version: 1, target: 'pfi>dmp' }, 'console:alice')).rejects.toMatchObject({ code: 'PSL_DELIVERY_RECEIPT' });
      expect((await store.versionDeliveries(LAB, f)).map((d) => [d.target, d.state, d.detail])).toEqual([
        ['dmp', 'held', 'identity not qualified'],
        ['mss:dr.x@hopital.mssante.fr', 'queued', null],
        ['pfi', 'sent', 'ACK'],
        ['pfi>dmp', 'failed', 'DMPClosed'],
      ]);
    });

    test('an older version is not resent to a target a newer one went to; to another target it is', async () => {
      const f = filler();
      await put(
        { lab: LAB, fillerOrder: f, version: 1, target: 'pfi', state: 'dead', detail: 'refused' },
        { lab: LAB, fillerOrder: f, version: 2, target: 'pfi', state: 'sent', detail: 'ACK' },
        { lab: LAB, fillerOrder: f, version: 1, target: 'dmp', state: 'dead', detail: 'refused' },
        { lab: LAB, fillerOrder: f, version: 2, target: 'dmp', state: 'dead', detail: 'refused' },
      );
      await expect(resendVersionDelivery({ store }, { fillerOrder: f, version: 1, target: 'pfi' }, 'cli:bob')).rejects.toMatchObject({
        code: 'PSL_RESEND_NEWER_SENT',
        message: `${f}/v1/pfi: v2 was sent to pfi since; sending this older version now would put it over the newer one`,
      });
      expect((await row(f, 1, 'pfi'))!.state).toBe('dead');
      expect((await resendVersionDelivery({ store }, { fillerOrder: f, version: 1, target: 'dmp' }, 'cli:bob')).outcome).toBe('queued');
      expect((await row(f, 1, 'dmp'))!.state).toBe('queued');
    });

    test('cancel: queued, held and dead rows become dead saying who and what they were; a sent one is refused', async () => {
      const f = filler();
      await put(
        { lab: LAB, fillerOrder: f, version: 1, target: 'pfi', state: 'queued', detail: null },
        { lab: LAB, fillerOrder: f, version: 1, target: 'dmp', state: 'held', detail: 'identity not qualified' },
        { lab: LAB, fillerOrder: f, version: 1, target: 'mss:a@x.mssante.fr', state: 'dead', detail: '550 no such user' },
        { lab: LAB, fillerOrder: f, version: 1, target: 'mss:b@x.mssante.fr', state: 'sent', detail: '<id@x>' },
      );
      const cancel = (target: string): Promise<{ outcome: string }> => cancelVersionDelivery({ store }, { lab: LAB, fillerOrder: f, version: 1, target }, 'console:alice');
      expect(await cancel('pfi')).toEqual({ outcome: 'cancelled', detail: `${f}/v1/pfi: cancelled` });
      expect(await cancel('dmp')).toMatchObject({ outcome: 'cancelled' });
      expect(await cancel('mss:a@x.mssante.fr')).toMatchObject({ outcome: 'cancelled' });
      await expect(cancel('mss:b@x.mssante.fr')).rejects.toMatchObject({ code: 'PSL_CANCEL_SENT' });
      const rows = await store.versionDeliveries(LAB, f);
      expect(rows.map((d) => [d.target, d.state])).toEqual([
        ['dmp', 'dead'],
        ['mss:a@x.mssante.fr', 'dead'],
        ['mss:b@x.mssante.fr', 'sent'],
        ['pfi', 'dead'],
      ]);
      for (const d of rows.filter((r) => r.state === 'dead')) expect(d.detail).toMatch(TRACE);
      expect(rows.find((d) => d.target === 'pfi')!.detail).toMatch(/\(was: queued\)$/);
      expect(rows.find((d) => d.target === 'dmp')!.detail).toMatch(/\(was: held: identity not qualified\)$/);
    });

    test('an older version still queued holds the newer one on its line; cancelled, it lets it go', async () => {
      const f = filler();
      // v1 reserved, never written: no job sends it; v2 written waits behind it.
      await store.reserveReportVersion({ lab: LAB, fillerOrder: f, version: 1, status: 'active', contentHash: 'h1', revision: 1 }, 60_000);
      await written(f, 2);
      await put({ lab: LAB, fillerOrder: f, version: 1, target: 'test', state: 'queued', detail: null }, { lab: LAB, fillerOrder: f, version: 2, target: 'test', state: 'queued', detail: null });
      const l = await line();
      await l.enqueue({ lab: LAB, fillerOrder: f, version: 2 });
      await new Promise((r) => setTimeout(r, 500));
      expect((await row(f, 2, 'test'))!.state).toBe('queued');
      await cancelVersionDelivery({ store }, { fillerOrder: f, version: 1, target: 'test' }, 'console:alice');
      expect(await waitFor(async () => (await row(f, 2, 'test'))?.state === 'sent', 10_000)).toBe(true);
      expect(l.sent).toContain(`${f}/v2`);
      expect(l.sent).not.toContain(`${f}/v1`);
    });

    test('an unknown id, a malformed one, two labs with the number, and no actor are refused', async () => {
      const f = filler();
      await put({ lab: 'LAB-A', fillerOrder: f, version: 1, target: 'pfi', state: 'dead', detail: 'x' }, { lab: 'LAB-B', fillerOrder: f, version: 1, target: 'pfi', state: 'dead', detail: 'x' });
      await expect(resendVersionDelivery({ store }, { fillerOrder: f, version: 9, target: 'pfi' }, 'cli')).rejects.toMatchObject({ code: 'PSL_DELIVERY_NOT_FOUND' });
      expect(() => parseVersionDeliveryId('LAB-0001-v1-pfi')).toThrow(expect.objectContaining({ code: 'PSL_DELIVERY_NOT_FOUND' }));
      await expect(cancelVersionDelivery({ store }, { fillerOrder: f, version: 1, target: 'pfi' }, 'cli')).rejects.toMatchObject({ code: 'PSL_DELIVERY_AMBIGUOUS', message: expect.stringContaining('LAB-A, LAB-B') });
      expect((await cancelVersionDelivery({ store }, { lab: 'LAB-B', fillerOrder: f, version: 1, target: 'pfi' }, 'cli')).outcome).toBe('cancelled');
      expect((await row(f, 1, 'pfi', 'LAB-A'))!.detail).toBe('x');
      await expect(resendVersionDelivery({ store }, { lab: 'LAB-A', fillerOrder: f, version: 1, target: 'pfi' }, '')).rejects.toMatchObject({ code: 'PSL_ACTION_INVALID' });
      await expect(resendVersionDelivery({ store }, { lab: 'LAB-A', fillerOrder: f, version: 1, target: 'pfi' }, 'alice\nroot')).rejects.toMatchObject({ code: 'PSL_ACTION_INVALID' });
      expect((await row(f, 1, 'pfi', 'LAB-A'))!.state).toBe('dead');
    });

    test('ids print and parse back, whatever the target', () => {
      const ref = { fillerOrder: 'LAB/0001', version: 12, target: 'mss:dr.x@hopital.mssante.fr' };
      expect(versionDeliveryId(ref)).toBe('LAB/0001/v12/mss:dr.x@hopital.mssante.fr');
      expect(parseVersionDeliveryId(versionDeliveryId(ref), 'SIL')).toEqual({ ...ref, lab: 'SIL' });
    });
  });
}

suite('SQLite', () => openSqliteTestStore('psl-vactions-'));
suite('PostgreSQL', openPgTestStore);

/**
 * Correspondent resolution (SGL.ANN.05/.06): the correspondents file first, then the directory
 * loaded in a real SQLite store; unknown and inactive RPPS flagged, and routing recording them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../engine/lab';
import type { SqliteStore } from '../../engine/store';
import type { Correspondents } from '../../engine/config/correspondents';
import { loadDirectoryFile } from '../../engine/directory/loader';
import { chosenMailbox, resolveCorrespondents } from '../../engine/directory/resolver';
import { routeVersion } from '../../engine/delivery/routing';
import { openSqliteTestStore, type TestStore } from '../support/test-stores';
import { MSSANTE_FILE, MSSANTE_HEADER, PERSONS_FILE, PERSON_HEADER, header, mailboxLine, personLine, writeExtraction } from './extraction-files';

const A = '10003456790';
const B = '10003456791';
const GONE = '10003456792';
const UNKNOWN = '10003456799';
const HAND = '10003456789';

let t: TestStore<SqliteStore>;
let dir: string;
const book: Correspondents = new Map([[HAND, { rpps: HAND, name: 'MAIN', mssante: 'main@test.mssante.fr' }]]);
const report = (prescriber: Report['prescriber'], copiesTo: Report['copiesTo'] = []): Report => ({ prescriber, copiesTo }) as unknown as Report;

beforeAll(async () => {
  t = await openSqliteTestStore('psl-resolver-');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-resolver-files-'));
});

afterAll(async () => {
  await t.store.close();
  await t.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('no directory loaded: the correspondents file only, nothing flagged', async () => {
  const out = await resolveCorrespondents(report({ id: UNKNOWN }, [{ id: HAND }]), book, t.store);
  expect(out.prescriber).toEqual({ id: UNKNOWN });
  expect(out.copiesTo[0]!.mssante).toBe('main@test.mssante.fr');
});

test('the PER mailbox of the RPPS, chosen the same way whatever the line order; names filled; unknown and inactive flagged', async () => {
  const persons = (rows: string[]): Promise<unknown> => loadDirectoryFile(t.store, writeExtraction(dir, PERSONS_FILE, [header(PERSON_HEADER), ...rows]));
  await persons([personLine({ rpps: A, last: 'ALPHA', first: 'ANNE' }), personLine({ rpps: B, last: 'BETA', first: 'BRUNO' }), personLine({ rpps: GONE, last: 'GAMMA', first: 'GIL' })]);
  await persons([personLine({ rpps: A, last: 'ALPHA', first: 'ANNE' }), personLine({ rpps: B, last: 'BETA', first: 'BRUNO' })]);
  await loadDirectoryFile(
    t.store,
    writeExtraction(dir, MSSANTE_FILE, [
      header(MSSANTE_HEADER),
      mailboxLine({ type: 'ORG', address: 'aaa.cabinet@test.mssante.fr', rpps: A }), // a structure's box: never the prescriber's
      mailboxLine({ type: 'PER', address: 'anne.alpha@test.mssante.fr', rpps: A }),
      mailboxLine({ type: 'PER', address: 'a.alpha@test.mssante.fr', rpps: A }),
      mailboxLine({ type: 'PER', address: 'hand.file.loses@test.mssante.fr', rpps: HAND }),
      mailboxLine({ type: 'PER', address: 'gil.gamma@test.mssante.fr', rpps: GONE }),
    ]),
  );
  const out = await resolveCorrespondents(
    report({ id: `8${A}` }, [{ id: B, family: 'BETA-MESSAGE' }, { id: HAND }, { id: GONE }, { id: UNKNOWN, mssante: 'given@test.mssante.fr' }, { id: 'LOCAL42' }]),
    book,
    t.store,
  );
  expect(out.prescriber).toEqual({ id: `8${A}`, family: 'ALPHA', given: 'ANNE', mssante: 'a.alpha@test.mssante.fr' });
  const today = new Date().toISOString().slice(0, 10);
  expect(out.copiesTo).toEqual([
    { id: B, family: 'BETA-MESSAGE' }, // listed, no mailbox: nothing to add, nothing to flag
    { id: HAND, mssante: 'main@test.mssante.fr' }, // the correspondents file overrides the directory
    { id: GONE, family: 'GAMMA', given: 'GIL', mssante: 'gil.gamma@test.mssante.fr', directoryNote: `RPPS inactive since ${today} (absent from the directory's extraction since then)` },
    { id: UNKNOWN, mssante: 'given@test.mssante.fr', directoryNote: `RPPS unknown to the directory (loaded ${today})` },
    { id: 'LOCAL42' },
  ]);
  expect(chosenMailbox([...(await t.store.directoryLookup(A)).mailboxes].reverse())).toBe('a.alpha@test.mssante.fr');

  const routing = routeVersion({ ...out, patient: {}, copiesTo: [...out.copiesTo, { id: '10003456798' }] } as unknown as Report, { dmp: false, mssProfessionals: true, mssPatient: false });
  expect(routing.mail.map((m) => m.address)).toEqual(['a.alpha@test.mssante.fr', 'main@test.mssante.fr', 'gil.gamma@test.mssante.fr', 'given@test.mssante.fr']);
  expect(routing.flagged).toEqual([
    { who: `copy ${GONE}`, why: expect.stringContaining('RPPS inactive since') },
    { who: `copy ${UNKNOWN}`, why: `RPPS unknown to the directory (loaded ${today})` },
  ]);
  expect(routing.notMailed).toEqual([{ who: `copy ${B}`, why: 'no MSSanté address (neither in the message nor in the correspondents file)' }, { who: 'copy LOCAL42', why: expect.any(String) }, { who: 'copy 10003456798', why: expect.any(String) }]);
});

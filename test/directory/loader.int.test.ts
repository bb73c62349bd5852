/**
 * Directory loads into both real stores (SQLite, PostgreSQL): the two extractions, latin-1 and
 * zip variants, bad lines counted with their line number, a reload flagging the absent RPPS
 * inactive, a failed load leaving the previous directory in place.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MessageStore } from '../../engine/store';
import { loadDirectoryFile } from '../../engine/directory/loader';
import { openPgTestStore, openSqliteTestStore, type TestStore } from '../support/test-stores';
import { MSSANTE_FILE, MSSANTE_HEADER, PERSONS_FILE, PERSON_HEADER, header, mailboxLine, personLine, writeExtraction, writeZip } from './extraction-files';

const DUPONT = { rpps: '10003456789', last: 'DUPONT', first: 'JEAN' };
const MARTIN = { rpps: '10003456790', last: 'MARTIN', first: 'CLAIRE', structure: 'CENTRE DE SANTÉ TEST', siret: '12345678900011', city: 'Lyon' };
const LEROY = { rpps: '10003456791', last: 'LEROY', first: 'HÉLÈNE' };

const stores: [string, () => Promise<TestStore<MessageStore>>][] = [
  ['SQLite', () => openSqliteTestStore('psl-directory-')],
  ['PostgreSQL', () => openPgTestStore()],
];

describe.each(stores)('directory loads on %s', (_name, open) => {
  let t: TestStore<MessageStore>;
  let store: MessageStore;
  let dir: string;

  beforeEach(async () => {
    t = await open();
    store = t.store;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-dir-files-'));
  });

  afterEach(async () => {
    await store.close();
    await t.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('persons: one person per RPPS, each distinct activity once, bad lines counted by line number', async () => {
    const file = writeExtraction(dir, PERSONS_FILE, [
      header(PERSON_HEADER),
      personLine(DUPONT),
      personLine(DUPONT), // the same line twice: one activity
      personLine({ ...DUPONT, structure: 'HÔPITAL TEST', finess: '750000001', city: 'Paris' }),
      'not|a|directory|line|',
      personLine(MARTIN),
      personLine({ ...LEROY, rpps: '' }).replace(`|8|`, '||'), // no identifier at all
      personLine(LEROY),
    ]);
    const r = await loadDirectoryFile(store, file);
    expect(r.load).toMatchObject({ kind: 'persons', state: 'done', lines: 7, rejected: 2, inactivated: 0 });
    expect(r.rejects).toEqual([
      { line: 5, why: `4 fields where the header has ${PERSON_HEADER.length}` },
      { line: 7, why: 'no Identification nationale PP' },
    ]);
    const d = await store.directoryLookup('10003456789');
    expect(d.entry).toMatchObject({ idNat: '810003456789', ppId: '10003456789', civility: 'Docteur', lastName: 'DUPONT', firstName: 'JEAN', professionCode: '10', professionLabel: 'Médecin' });
    expect(d.entry!.inactiveSince).toBeUndefined();
    expect(d.entry!.activities.map((a) => [a.structureName, a.finess, a.city])).toEqual([['CABINET TEST', '', 'Paris'], ['HÔPITAL TEST', '750000001', 'Paris']]);
    // The national id finds the same person.
    expect((await store.directoryLookup('810003456790')).entry).toMatchObject({ lastName: 'MARTIN', activities: [{ structureName: 'CENTRE DE SANTÉ TEST', siret: '12345678900011', city: 'Lyon' }] });
    expect((await store.directoryLookup('10009999999')).entry).toBeUndefined();
    expect((await store.directoryLookup('10009999999')).persons).toBeDefined();
  });

  test('MSSanté: PER and ORG boxes, duplicates kept once, found by RPPS', async () => {
    const file = writeExtraction(dir, MSSANTE_FILE, [
      header(MSSANTE_HEADER),
      mailboxLine({ type: 'PER', address: 'jean.dupont@test.mssante.fr', rpps: DUPONT.rpps }),
      mailboxLine({ type: 'PER', address: 'Jean.Dupont@test.mssante.fr', rpps: DUPONT.rpps, structure: 'AUTRE SITE' }), // the same box again
      mailboxLine({ type: 'ORG', address: 'secretariat@test.mssante.fr' }),
      mailboxLine({ type: 'PER', address: 'not an address', rpps: MARTIN.rpps }),
    ]);
    const r = await loadDirectoryFile(store, file);
    expect(r.load).toMatchObject({ kind: 'mssante', state: 'done', lines: 4, rejected: 1 });
    const d = await store.directoryLookup(DUPONT.rpps);
    expect(d.persons).toBeUndefined();
    expect(d.mailboxes).toEqual([{ address: 'jean.dupont@test.mssante.fr', balType: 'PER', idNat: '810003456789', ppId: DUPONT.rpps, structureId: '1750000001', structureName: 'CABINET TEST', service: '' }]);
  });

  test('a latin-1 file reads the same as UTF-8; the kind comes from the header when the name says nothing', async () => {
    const file = writeExtraction(dir, 'annuaire.txt', [header(PERSON_HEADER), personLine(LEROY), personLine(MARTIN)], 'latin1');
    const r = await loadDirectoryFile(store, file);
    expect(r.load).toMatchObject({ kind: 'persons', lines: 2, rejected: 0 });
    expect(r.latin1Lines).toBe(2);
    expect((await store.directoryLookup(LEROY.rpps)).entry).toMatchObject({ firstName: 'HÉLÈNE', professionLabel: 'Médecin' });
    expect((await store.directoryLookup(MARTIN.rpps)).entry!.activities[0]!.structureName).toBe('CENTRE DE SANTÉ TEST');
  });

  test('a zip as served: the Personne_activite entry is read, the others skipped', async () => {
    const persons = [header(PERSON_HEADER), personLine(DUPONT), personLine(MARTIN)].join('\n') + '\n';
    const file = writeZip(dir, 'PS_LibreAcces_202612070000.zip', {
      'PS_LibreAcces_SavoirFaire_202612070000.txt': 'Type|Autre|\n1|2|\n',
      [PERSONS_FILE]: persons,
      'PS_LibreAcces_Dipl_AutExerc_202612070000.txt': 'x|\n',
    });
    const r = await loadDirectoryFile(store, file);
    expect(r.name).toBe(`PS_LibreAcces_202612070000.zip!${PERSONS_FILE}`);
    expect(r.load).toMatchObject({ kind: 'persons', lines: 2, rejected: 0 });
    expect((await store.directoryLookup(MARTIN.rpps)).entry?.lastName).toBe('MARTIN');
  });

  test('a reload: the RPPS it no longer lists stays, inactive since the reload; listed again, active again', async () => {
    await loadDirectoryFile(store, writeExtraction(dir, PERSONS_FILE, [header(PERSON_HEADER), personLine(DUPONT), personLine(MARTIN), personLine(LEROY)]));
    const before = Date.now();
    const second = await loadDirectoryFile(store, writeExtraction(dir, PERSONS_FILE, [header(PERSON_HEADER), personLine(DUPONT), personLine(LEROY)]));
    expect(second.load.inactivated).toBe(1);
    const martin = (await store.directoryLookup(MARTIN.rpps)).entry!;
    expect(martin.lastName).toBe('MARTIN');
    expect(martin.inactiveSince!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(martin.activities).toHaveLength(1);
    // Still absent at the next load: the date it went stays.
    await new Promise((r) => setTimeout(r, 20));
    await loadDirectoryFile(store, writeExtraction(dir, PERSONS_FILE, [header(PERSON_HEADER), personLine(DUPONT)]));
    expect((await store.directoryLookup(MARTIN.rpps)).entry!.inactiveSince).toEqual(martin.inactiveSince);
    expect((await store.directoryLookup(LEROY.rpps)).entry!.inactiveSince).toBeDefined();
    await loadDirectoryFile(store, writeExtraction(dir, PERSONS_FILE, [header(PERSON_HEADER), personLine(DUPONT), personLine(MARTIN)]));
    expect((await store.directoryLookup(MARTIN.rpps)).entry!.inactiveSince).toBeUndefined();
    const loads = await store.directoryLoads(10);
    expect(loads.map((l) => [l.state, l.lines, l.inactivated])).toEqual([['done', 2, 0], ['done', 1, 1], ['done', 2, 1], ['done', 3, 0]]);
  });

  test('a failed load (missing column, unreadable zip) leaves the previous directory in place', async () => {
    await loadDirectoryFile(store, writeExtraction(dir, PERSONS_FILE, [header(PERSON_HEADER), personLine(DUPONT)]));
    const noName = PERSON_HEADER.filter((h) => h !== "Nom d'exercice");
    const bad = writeExtraction(dir, 'PS_LibreAcces_Personne_activite_bad.txt', [header(noName), personLine(MARTIN)]);
    await expect(loadDirectoryFile(store, bad)).rejects.toMatchObject({ code: 'PSL_DIRECTORY_FORMAT', message: expect.stringMatching(/PS_LibreAcces_Personne_activite_bad\.txt: the header lacks the column\(s\) "Nom d'exercice"/) });
    const broken = path.join(dir, 'PS_LibreAcces_broken.zip');
    const zip = fs.readFileSync(writeZip(dir, 'ok.zip', { [PERSONS_FILE]: [header(PERSON_HEADER), ...Array.from({ length: 2000 }, (_, i) => personLine({ ...MARTIN, rpps: String(10004000000 + i) }))].join('\n') }));
    fs.writeFileSync(broken, zip.subarray(0, Math.floor(zip.length / 2)));
    await expect(loadDirectoryFile(store, broken)).rejects.toMatchObject({ code: 'PSL_DIRECTORY_FORMAT' });
    const d = await store.directoryLookup(DUPONT.rpps);
    expect(d.entry?.lastName).toBe('DUPONT');
    expect((await store.directoryLookup('10004000001')).entry).toBeUndefined();
    const loads = await store.directoryLoads(5);
    expect(loads[0]).toMatchObject({ state: 'failed', error: expect.stringContaining('zip') });
    expect(loads.at(-1)).toMatchObject({ state: 'done' });
  });

  test('the loader lease: one holder at a time, taken over once expired', async () => {
    expect(await store.directoryLease('a', 60_000)).toBe(true);
    expect(await store.directoryLease('b', 60_000)).toBe(false);
    expect(await store.directoryLease('a', 60_000)).toBe(true); // renewed
    await store.directoryReleaseLease('a');
    expect(await store.directoryLease('b', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(await store.directoryLease('a', 60_000)).toBe(true);
  });
});

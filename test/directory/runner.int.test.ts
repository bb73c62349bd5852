/**
 * The automatic load (SGL.ANN.01/.04) against a real https server (throw-away PKI) and a real
 * SQLite store: a zip downloaded then loaded, a period not loaded twice, one loader at a time,
 * an HTTP error or a silent server leaving the previous directory; the engine settings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { DirectoryRunner } from '../../engine/directory/runner';
import { directoryRunnerFor, directorySources } from '../../engine/directory/from-config';
import { engineConfigFromEnv } from '../../engine/config/engine-config';
import type { SqliteStore } from '../../engine/store';
import { makePki, type TestPki } from '../support/pki';
import { capturingLogger } from '../support/log-capture';
import { openSqliteTestStore, type TestStore } from '../support/test-stores';
import { MSSANTE_FILE, MSSANTE_HEADER, PERSONS_FILE, PERSON_HEADER, header, mailboxLine, personLine, writeExtraction, writeZip } from './extraction-files';
import { waitFor } from '../support/wait';

let pki: TestPki;
let server: https.Server;
let base: string;
let t: TestStore<SqliteStore>;
let dir: string;
let zip: Buffer;
let answer: 'zip' | '500' | 'silent' = 'zip';

beforeAll(async () => {
  pki = makePki();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-runner-'));
  zip = fs.readFileSync(writeZip(dir, 'z.zip', { [PERSONS_FILE]: [header(PERSON_HEADER), personLine({ rpps: '10003456789', last: 'DUPONT', first: 'JEAN' })].join('\n') + '\n' }));
  server = https.createServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => {
    if (req.url === '/redirect') return void res.writeHead(302, { location: '/extraction/PS_LibreAcces' }).end();
    if (answer === 'silent') return; // never answers
    if (answer === '500') return void res.writeHead(500).end('down');
    res.writeHead(200, { 'content-type': 'application/zip' }).end(zip);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t = await openSqliteTestStore('psl-runner-store-');
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await t.store.close();
  await t.destroy();
  pki.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

const runner = (o: Partial<ConstructorParameters<typeof DirectoryRunner>[0]> = {}) => {
  const log = capturingLogger();
  const r = new DirectoryRunner({
    store: t.store, sources: [{ kind: 'persons', source: `${base}/redirect` }], everyMs: 3_600_000, downloadDir: path.join(dir, 'dl'), ca: pki.caCert.toString(), downloadTimeoutMs: 1500, logger: log.logger, ...o,
  });
  return { r, records: log.records };
};

test('downloads the zip (redirect followed), loads it, deletes the download; not again within the period', async () => {
  const { r, records } = runner();
  const [first] = await r.runOnce();
  expect(first).toMatchObject({ kind: 'persons', outcome: 'loaded', result: { load: { state: 'done', lines: 1, rejected: 0 } } });
  expect((await t.store.directoryLookup('10003456789')).entry?.lastName).toBe('DUPONT');
  expect(fs.readdirSync(path.join(dir, 'dl'))).toEqual([]);
  expect(records.find((x) => x.message === 'directory loaded')).toMatchObject({ level: 'info' });
  expect(JSON.stringify(records)).not.toContain('DUPONT');
  expect(await r.runOnce()).toEqual([{ kind: 'persons', outcome: 'skipped', why: 'loaded recently' }]);
});

test('one loader at a time across processes sharing the store', async () => {
  expect(await t.store.directoryLease('another-host:1', 60_000)).toBe(true);
  const { r } = runner();
  expect(await r.runOnce(true)).toEqual([{ kind: 'persons', outcome: 'skipped', why: 'another process is loading' }]);
  await t.store.directoryReleaseLease('another-host:1');
});

test.each([
  ['500', /HTTP 500/],
  ['silent', /no complete answer within 1500 ms/],
] as const)('a server answering %s: failed, logged with its code, the directory in place stays', async (mode, why) => {
  answer = mode;
  try {
    const { r, records } = runner();
    const [out] = await r.runOnce(true);
    expect(out).toMatchObject({ outcome: 'failed', why: expect.stringMatching(why) });
    expect(records.find((x) => x.level === 'error')).toMatchObject({ message: expect.stringContaining('directory load failed'), code: 'PSL_DIRECTORY_LOAD_FAILED' });
    expect((await t.store.directoryLookup('10003456789')).entry?.lastName).toBe('DUPONT');
    expect(await t.store.directoryLease('next', 1000)).toBe(true); // the lease was given back
    await t.store.directoryReleaseLease('next');
  } finally {
    answer = 'zip';
  }
});

test('engine settings: sources, period, refusals', () => {
  const c = engineConfigFromEnv({ PASSERELLE_DIRECTORY_PERSONS: 'var/PS_LibreAcces.zip', PASSERELLE_DIRECTORY_MSSANTE: 'https://example.test/extraction/Extraction_Correspondance_MSSante', PASSERELLE_DIRECTORY_EVERY: '12h' });
  expect(c.directoryEveryMs).toBe(12 * 3_600_000);
  expect(directorySources(c)).toEqual([
    { kind: 'persons', source: path.resolve('var/PS_LibreAcces.zip') },
    { kind: 'mssante', source: 'https://example.test/extraction/Extraction_Correspondance_MSSante' },
  ]);
  expect(engineConfigFromEnv({}).directoryEveryMs).toBe(86_400_000);
  expect(directorySources(engineConfigFromEnv({}))).toEqual([]);
  expect(() => engineConfigFromEnv({ PASSERELLE_DIRECTORY_EVERY: 'daily' })).toThrow(/PSL_CONFIG_INVALID|directoryEveryMs/);
  expect(() => engineConfigFromEnv({ PASSERELLE_DIRECTORY_PERSONS: 'http://example.test/x' })).toThrow(/directoryPersons: a file path or an https:\/\/ URL/);
});

test('in the engine: a runner only with a source; started, it loads a file source, then stops', async () => {
  const { logger } = capturingLogger();
  expect(directoryRunnerFor(engineConfigFromEnv({}), t.store, logger)).toBeUndefined();
  expect(directoryRunnerFor(engineConfigFromEnv({ PASSERELLE_DIRECTORY_MSSANTE: 'x.txt', PASSERELLE_DIRECTORY_EVERY: '0' }), t.store, logger)).toBeUndefined();
  const file = writeExtraction(dir, MSSANTE_FILE, [header(MSSANTE_HEADER), mailboxLine({ type: 'PER', address: 'jean.dupont@test.mssante.fr', rpps: '10003456789' })]);
  const r = directoryRunnerFor(engineConfigFromEnv({ PASSERELLE_DIRECTORY_MSSANTE: file, PASSERELLE_DIRECTORY_EVERY: '1h', PASSERELLE_VAR: dir }), t.store, logger)!;
  r.start(10);
  try {
    expect(await waitFor(async () => (await t.store.directoryLookup('10003456789')).mailboxes.length === 1, 10_000)).toBe(true);
  } finally {
    await r.stop();
  }
});

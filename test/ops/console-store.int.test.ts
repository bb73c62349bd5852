/** The console store on SQLite and on PostgreSQL (its own schema): same behaviour, same answers. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgConsoleStore } from '../../engine/ops/store/pg-console-store';
import { SqliteConsoleStore } from '../../engine/ops/store/sqlite-console-store';
import { consoleStoreFor } from '../../engine/ops/store';
import type { ConsoleStore } from '../../engine/ops/store/types';
import { engineConfigFromEnv } from '../../engine/config/engine-config';
import { channelYaml } from '../support/engine-harness';
import { dropTestSchema, testPgUrl, testSchemaName } from '../support/pg';
import { Client, adminClient, startTestConsole } from './console-harness';

const kinds: [string, () => Promise<{ store: ConsoleStore; destroy(): Promise<void> }>][] = [
  ['sqlite', async () => {
    const store = new SqliteConsoleStore(join(mkdtempSync(join(tmpdir(), 'psl-console-')), 'console.sqlite'));
    return { store, destroy: () => store.close() };
  }],
  ['postgres', async () => {
    const url = await testPgUrl();
    const schema = testSchemaName();
    const store = new PgConsoleStore(url, schema);
    return { store, destroy: async () => { await store.close(); await dropTestSchema(url, schema); } };
  }],
];

describe.each(kinds)('console store on %s', (_kind, open) => {
  let store: ConsoleStore;
  let destroy: () => Promise<void>;
  beforeAll(async () => {
    ({ store, destroy } = await open());
    await store.init();
    await store.init(); // idempotent
  });
  afterAll(async () => destroy());

  test('users: the first insert of a name wins; patches; ending sessions bumps the version', async () => {
    expect(await store.countUsers()).toBe(0);
    expect(await store.createUser({ name: 'ana', role: 'viewer', passwordHash: 'h1', mustChangePassword: true })).toBe(true);
    expect(await store.createUser({ name: 'ana', role: 'admin', passwordHash: 'h2', mustChangePassword: false })).toBe(false);
    expect(await store.createUser({ name: 'bob', role: 'operator', passwordHash: 'h3', mustChangePassword: false })).toBe(true);
    const ana = (await store.getUser('ana'))!;
    expect(ana).toMatchObject({ role: 'viewer', passwordHash: 'h1', mustChangePassword: true, disabled: false, authVersion: 1, lastLoginAt: null });
    const at = new Date('2026-12-01T10:00:00.000Z');
    expect(await store.updateUser('ana', { role: 'operator', mustChangePassword: false, lastLoginAt: at, endSessions: true })).toBe(true);
    expect(await store.getUser('ana')).toMatchObject({ role: 'operator', mustChangePassword: false, authVersion: 2, lastLoginAt: at });
    expect(await store.updateUser('ana', { disabled: true })).toBe(true);
    expect((await store.getUser('ana'))!.disabled).toBe(true);
    expect(await store.updateUser('nobody', { disabled: true })).toBe(false);
    expect((await store.listUsers()).map((u) => u.name)).toEqual(['ana', 'bob']);
    expect(await store.countUsers()).toBe(2);
  });

  test('tokens: found by hash, listed per user, revoked once, last use recorded', async () => {
    await store.createToken({ id: 't1', userName: 'bob', label: 'ci', role: 'viewer', hash: 'a'.repeat(64) });
    await store.createToken({ id: 't2', userName: 'ana', label: '', role: 'operator', hash: 'b'.repeat(64) });
    expect(await store.tokenByHash('a'.repeat(64))).toMatchObject({ id: 't1', userName: 'bob', label: 'ci', role: 'viewer', revokedAt: null });
    expect(await store.tokenByHash('c'.repeat(64))).toBeUndefined();
    expect((await store.listTokens('bob')).map((t) => t.id)).toEqual(['t1']);
    expect((await store.listTokens()).length).toBe(2);
    const used = new Date('2026-12-02T08:00:00.000Z');
    await store.touchToken('t1', used);
    expect((await store.tokenByHash('a'.repeat(64)))!.lastUsedAt).toEqual(used);
    expect(await store.revokeToken('t1')).toBe(true);
    expect(await store.revokeToken('t1')).toBe(false);
    expect((await store.tokenByHash('a'.repeat(64)))!.revokedAt).toBeInstanceOf(Date);
  });

  test('audit: newest first, filters (an action family, patient, dates), pages', async () => {
    const base = Date.parse('2026-12-03T00:00:00.000Z');
    for (let i = 0; i < 7; i++) {
      await store.appendAudit({
        at: new Date(base + i * 60_000), userName: i % 2 ? 'ana' : 'bob', via: 'session', ip: `10.1.0.${i}`,
        action: i < 4 ? 'message.view' : 'user.create', target: `t${i}`, patient: i < 4, detail: i === 0 ? null : `d${i}`,
      });
    }
    const all = await store.queryAudit({ limit: 100 });
    expect(all.map((r) => r.target)).toEqual(['t6', 't5', 't4', 't3', 't2', 't1', 't0']);
    expect(all[6]).toMatchObject({ userName: 'bob', via: 'session', ip: '10.1.0.0', action: 'message.view', patient: true, detail: null, at: new Date(base) });
    expect((await store.queryAudit({ action: 'message.', limit: 100 })).length).toBe(4);
    expect((await store.queryAudit({ action: 'message', limit: 100 })).length).toBe(0);
    expect((await store.queryAudit({ user: 'ana', patient: true, limit: 100 })).map((r) => r.target)).toEqual(['t3', 't1']);
    expect((await store.queryAudit({ patient: false, limit: 100 })).length).toBe(3);
    expect((await store.queryAudit({ from: new Date(base + 2 * 60_000), to: new Date(base + 4 * 60_000), limit: 100 })).map((r) => r.target)).toEqual(['t3', 't2']);
    expect((await store.queryAudit({ target: 't5', limit: 100 })).map((r) => r.detail)).toEqual(['d5']);
    const page1 = await store.queryAudit({ limit: 3 });
    const page2 = await store.queryAudit({ limit: 3, beforeId: page1[2]!.id });
    expect([...page1, ...page2].map((r) => r.target)).toEqual(['t6', 't5', 't4', 't3', 't2', 't1']);
  });
});

test('the console store follows the message store: a file beside SQLite, the same schema on PostgreSQL', () => {
  const sqlite = consoleStoreFor(engineConfigFromEnv({}, { store: 'sqlite:/srv/psl/store/messages.db' }));
  expect(sqlite).toBeInstanceOf(SqliteConsoleStore);
  const pg = consoleStoreFor(engineConfigFromEnv({}, { store: 'postgres://u@db.example/psl?schema=lab1' }));
  expect(pg).toBeInstanceOf(PgConsoleStore);
  expect((pg as unknown as { t: { users: string } }).t.users).toBe('"lab1".console_users');
  return pg.close();
});

test('a console on the PostgreSQL console store: first admin, login, audit', async () => {
  const url = await testPgUrl();
  const schema = testSchemaName();
  const tc = await startTestConsole({ 'a.yaml': channelYaml('alpha', 'acceptance:\n  messageTypes: [ORU^R01]\n') }, { consoleStore: () => new PgConsoleStore(url, schema) });
  try {
    const admin = await adminClient(tc);
    expect((await admin.post('/api/users', { name: 'pat', role: 'viewer', password: 'pat-password-12' })).status).toBe(201);
    const pat = new Client(tc.url);
    expect((await pat.login('pat', 'pat-password-12')).status).toBe(200);
    expect((await pat.get('/api/channels')).status).toBe(200);
    const actions = (await admin.get('/api/audit')).json<{ entries: { action: string; target: string }[] }>().entries.map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(['login pat', 'user.create pat', 'password.change admin', 'login admin']);
  } finally {
    await tc.stop();
    await dropTestSchema(url, schema);
  }
});

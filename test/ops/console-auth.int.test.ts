/**
 * Console access through real HTTP (port 0), a real Redis (fresh prefix) and SQLite: the first
 * admin, logins and their limits, sessions across two consoles and their expiry, roles, API
 * tokens, the Origin check, and the audit log with its CSV export.
 */
import { existsSync, statSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { initialPasswordFile } from '../../engine/ops/auth/first-admin';
import type { ConsoleContext } from '../../engine/ops/context';
import { channelYaml } from '../support/engine-harness';
import { delay } from '../support/wait';
import { Client, adminClient, initialAdminPassword, startTestConsole, userClient, type TestConsole } from './console-harness';

/** A route module of the kind the pages engineer writes: one operator-only action, one page. */
const testRoutes = (app: FastifyInstance, ctx: ConsoleContext): void => {
  app.post('/api/test/operate', { config: { role: 'operator' } }, async (req) => {
    await ctx.audit(req, { action: 'test.operate', target: 'msg-1', patient: true, detail: 'ok' });
    return { done: true, by: req.user };
  });
  app.get('/test/page', async (req) => `page for ${req.user!.name}`);
};

let tc: TestConsole;
let admin: Client;

beforeAll(async () => {
  tc = await startTestConsole(
    { 'a.yaml': channelYaml('alpha', 'acceptance:\n  messageTypes: [ORU^R01]\n') },
    { console: { trustProxy: true, loginMaxFailures: 3, loginWindowSeconds: 60 }, routes: [testRoutes] },
  );
});

afterAll(async () => {
  await tc?.stop();
});

test('first start: admin with a generated password in a 0600 file, which must be changed before anything else', async () => {
  const file = initialPasswordFile(tc.te.config.varDir);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const password = initialAdminPassword(tc);
  expect(password.length).toBeGreaterThanOrEqual(20);

  const c = new Client(tc.url, '10.0.0.1');
  const login = await c.login('admin', password);
  expect(login.status).toBe(200);
  expect(login.json()).toEqual({ user: { name: 'admin', role: 'admin' }, mustChangePassword: true });
  expect(login.headers.get('set-cookie')).toMatch(/psl_session=[^;]+;.*HttpOnly/i);
  expect(login.headers.get('set-cookie')).toMatch(/SameSite=Strict/i);

  const refused = await c.get('/api/channels');
  expect(refused.status).toBe(403);
  expect(refused.json().code).toBe('password_change_required');
  const page = await c.get('/test/page');
  expect(page.status).toBe(302);
  expect(page.headers.get('location')).toBe('/password?next=%2Ftest%2Fpage');
  expect((await c.get('/api/me')).json()).toMatchObject({ name: 'admin', mustChangePassword: true });

  const short = await c.post('/api/password', { current: password, password: 'short' });
  expect(short.status).toBe(400);
  expect(short.json().code).toBe('PSL_PASSWORD_REJECTED');
  const before = c.cookie;
  const changed = await c.post('/api/password', { current: password, password: 'admin-password-1' });
  expect(changed.status).toBe(200);
  expect(c.cookie).not.toBe(before); // the session is replaced
  expect(existsSync(file)).toBe(false);
  expect((await c.get('/api/channels')).status).toBe(200);
  admin = c;
});

test('login: right and wrong passwords, unknown users, and the form with its redirect', async () => {
  const a = new Client(tc.url, '10.0.1.1');
  expect((await a.login('admin', 'wrong-password-xx')).json().code).toBe('login_failed');
  expect((await a.login('nobody', 'whatever-password')).status).toBe(401);
  expect((await a.get('/api/channels')).status).toBe(401);

  const form = new Client(tc.url, '10.0.1.2');
  const page = await form.get('/test/page');
  expect(page.status).toBe(302);
  expect(page.headers.get('location')).toBe('/login?next=%2Ftest%2Fpage');
  const loginPage = await form.get('/login?next=%2Ftest%2Fpage');
  expect(loginPage.text).toContain('<form method="post" action="/login"');
  expect(loginPage.text).toContain('/static/console.css');
  const bad = await form.post('/login', new URLSearchParams({ name: 'admin', password: 'nope-nope-nope', next: '/test/page' }));
  expect(bad.status).toBe(401);
  expect(bad.text).toContain('Wrong user name or password');
  const ok = await form.post('/login', new URLSearchParams({ name: 'admin', password: 'admin-password-1', next: '/test/page' }));
  expect(ok.status).toBe(303);
  expect(ok.headers.get('location')).toBe('/test/page');
  expect((await form.get('/test/page')).text).toBe('page for admin');
  // An address elsewhere is never a place to go after a login.
  const away = await form.post('/login', new URLSearchParams({ name: 'admin', password: 'admin-password-1', next: '//evil.example/' }));
  expect(away.headers.get('location')).toBe('/');

  const out = await form.post('/logout');
  expect(out.status).toBe(303);
  expect((await form.get('/test/page')).status).toBe(302);
});

test('failed logins are limited per user name and per address', async () => {
  await admin.post('/api/users', { name: 'carol', role: 'viewer', password: 'carol-password-1' });
  await admin.post('/api/users', { name: 'dave', role: 'viewer', password: 'dave-password-1' });
  const fromA = new Client(tc.url, '10.0.2.1');
  for (let i = 0; i < 3; i++) expect((await fromA.login('carol', 'not-her-password')).status).toBe(401);
  // Her right password from the same address, then from another: both refused for now.
  expect((await fromA.login('carol', 'carol-password-1')).status).toBe(429);
  const fromB = new Client(tc.url, '10.0.2.2');
  expect((await fromB.login('carol', 'carol-password-1')).json().code).toBe('rate_limited');
  // Another user from the address that failed: refused too; from a fresh address: fine.
  expect((await fromA.login('dave', 'dave-password-1')).status).toBe(429);
  expect((await new Client(tc.url, '10.0.2.3').login('dave', 'dave-password-1')).status).toBe(200);

  const audit = await admin.get('/api/audit?action=login.failed&target=carol');
  const details = audit.json<{ entries: { detail: string; ip: string }[] }>().entries.map((e) => `${e.ip} ${e.detail}`);
  expect(details).toEqual(expect.arrayContaining(['10.0.2.1 wrong password', '10.0.2.1 rate limited', '10.0.2.2 rate limited']));
});

test('roles: a viewer cannot run an operator action, an operator cannot reach admin routes', async () => {
  const viewer = await userClient(tc, admin, 'vera', 'viewer', '10.0.3.1');
  const operator = await userClient(tc, admin, 'otto', 'operator', '10.0.3.2');
  const v = await viewer.post('/api/test/operate');
  expect(v.status).toBe(403);
  expect(v.json().code).toBe('forbidden');
  expect((await viewer.get('/api/channels')).status).toBe(200);
  const o = await operator.post('/api/test/operate');
  expect(o.status).toBe(200);
  expect(o.json()).toEqual({ done: true, by: { name: 'otto', role: 'operator', via: 'session' } });
  expect((await operator.get('/api/users')).status).toBe(403);
  expect((await operator.post('/api/channels/alpha/pause')).status).toBe(403);
  expect((await operator.get('/api/audit')).status).toBe(403);

  // A role taken away applies to the open session at once; disabling ends it.
  expect((await admin.post('/api/users/otto/role', { role: 'viewer' })).status).toBe(200);
  expect((await operator.post('/api/test/operate')).status).toBe(403);
  expect((await admin.post('/api/users/otto/disable')).status).toBe(200);
  expect((await operator.get('/api/channels')).status).toBe(401);
  // The last enabled admin cannot be demoted nor disabled.
  expect((await admin.post('/api/users/admin/role', { role: 'viewer' })).json().code).toBe('PSL_USER_CONFLICT');
  expect((await admin.post('/api/users/admin/disable')).status).toBe(409);
});

test('state changes carried by the session cookie need the console as Origin', async () => {
  const noOrigin = await admin.post('/api/users', { name: 'eve', role: 'viewer' }, { origin: '' });
  expect(noOrigin.status).toBe(403);
  expect(noOrigin.json().code).toBe('bad_origin');
  expect((await admin.post('/api/users', { name: 'eve', role: 'viewer' }, { origin: 'https://evil.example' })).status).toBe(403);
  expect((await admin.get('/api/users')).json<{ users: { name: string }[] }>().users.map((u) => u.name)).not.toContain('eve');
  // A login form posted from another site is refused as well.
  expect((await new Client(tc.url, '10.0.4.1').post('/api/login', { name: 'admin', password: 'admin-password-1' }, { origin: 'https://evil.example' })).status).toBe(403);
});

test('API tokens: shown once, role at most the owner’s, no Origin needed, revocable', async () => {
  await admin.post('/api/users', { name: 'prom', role: 'viewer', password: 'prom-password-1' });
  const tooHigh = await admin.post('/api/tokens', { user: 'prom', label: 'scraper', role: 'admin' });
  expect(tooHigh.status).toBe(400);
  const made = await admin.post('/api/tokens', { user: 'prom', label: 'scraper' });
  expect(made.status).toBe(201);
  const { token, view } = made.json<{ token: string; view: { id: string; role: string; label: string } }>();
  expect(token).toMatch(/^psl_[0-9a-f]{12}_/);
  expect(view).toMatchObject({ role: 'viewer', label: 'scraper' });
  expect(JSON.stringify((await admin.get('/api/tokens')).json())).not.toContain(token);

  const bot = new Client(tc.url, '10.0.5.1', token);
  expect((await bot.get('/api/channels')).status).toBe(200);
  expect((await bot.get('/api/me')).json()).toMatchObject({ name: 'prom', role: 'viewer', via: 'token' });
  expect((await bot.post('/api/test/operate', {}, { origin: '' })).status).toBe(403);
  expect((await new Client(tc.url, '10.0.5.1', token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')).get('/api/channels')).status).toBe(401);

  // An admin's token limited to operator.
  const adminToken = (await admin.post('/api/tokens', { user: 'admin', label: 'ci', role: 'operator' })).json<{ token: string }>().token;
  const ci = new Client(tc.url, '10.0.5.2', adminToken);
  expect((await ci.post('/api/test/operate', {}, { origin: '' })).status).toBe(200);
  expect((await ci.get('/api/users')).status).toBe(403);

  expect((await admin.post(`/api/tokens/${view.id}/revoke`)).status).toBe(200);
  expect((await bot.get('/api/channels')).status).toBe(401);
  expect((await admin.post(`/api/tokens/${view.id}/revoke`)).status).toBe(404);
});

test('sessions live in Redis: one console’s session works on another; idle and absolute expiry', async () => {
  const other = await tc.another({ sessionIdleSeconds: 1, sessionMaxSeconds: 2, trustProxy: true });
  // Logged in on the first console, used on the second (another engine process on the same Redis).
  const first = new Client(tc.url, '10.0.6.1');
  expect((await first.login('admin', 'admin-password-1')).status).toBe(200);
  const shared = new Client(other.url, '10.0.6.1');
  shared.cookie = first.cookie;
  expect((await shared.get('/api/me')).json()).toMatchObject({ name: 'admin', via: 'session' });

  const idle = new Client(other.url, '10.0.6.2');
  expect((await idle.login('admin', 'admin-password-1')).status).toBe(200);
  expect((await idle.get('/api/me')).status).toBe(200);
  await delay(1400);
  expect((await idle.get('/api/me')).status).toBe(401);

  const busy = new Client(other.url, '10.0.6.3');
  expect((await busy.login('admin', 'admin-password-1')).status).toBe(200);
  const startedAt = Date.now();
  const seen: number[] = [];
  while (Date.now() - startedAt < 2600) {
    seen.push((await busy.get('/api/me')).status);
    await delay(300);
  }
  // Used every 300 ms (never idle for 1 s), ended all the same once 2 s old.
  expect(seen[0]).toBe(200);
  expect(seen[seen.length - 1]).toBe(401);
  expect(seen.indexOf(401)).toBeGreaterThan(2);
});

test('audit: logins and admin actions with who, when and from where; filters, pages and CSV', async () => {
  const all = (await admin.get('/api/audit?limit=500')).json<{ entries: { action: string; userName: string; via: string; ip: string; target: string; patient: boolean; at: string }[] }>().entries;
  const find = (action: string, target: string): (typeof all)[number] | undefined => all.find((e) => e.action === action && e.target === target);
  expect(all.filter((e) => e.action === 'login' && e.target === 'admin').map((e) => `${e.userName}@${e.ip}`)).toContain('admin@10.0.0.1');
  expect(find('password.change', 'admin')).toMatchObject({ userName: 'admin' });
  expect(find('user.create', 'vera')).toMatchObject({ userName: 'admin' });
  expect(find('user.role', 'otto')).toBeDefined();
  expect(find('user.disable', 'otto')).toBeDefined();
  expect(all.some((e) => e.action === 'token.revoke')).toBe(true);
  const operated = all.filter((e) => e.action === 'test.operate' && e.target === 'msg-1' && e.patient);
  expect(operated.map((e) => `${e.userName}@${e.ip}`).sort()).toEqual(['admin@10.0.5.2', 'otto@10.0.3.2']);
  expect(Date.now() - Date.parse(all[0]!.at)).toBeLessThan(60_000);

  const page1 = (await admin.get('/api/audit?limit=2')).json<{ entries: { id: number }[]; next: number }>();
  const page2 = (await admin.get(`/api/audit?limit=2&before=${page1.next}`)).json<{ entries: { id: number }[] }>();
  expect(page2.entries[0]!.id).toBeLessThan(page1.entries[1]!.id);
  const family = (await admin.get('/api/audit?action=user.')).json<{ entries: { action: string }[] }>().entries;
  expect(family.length).toBeGreaterThan(2);
  expect(family.every((e) => e.action.startsWith('user.'))).toBe(true);
  const patientViews = (await admin.get('/api/audit?patient=1')).json<{ entries: { userName: string; via: string }[] }>().entries;
  expect(patientViews.map((e) => `${e.userName} by ${e.via}`).sort()).toEqual(['admin by token', 'otto by session']);

  const csv = await admin.get('/api/audit.csv?user=otto');
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
  const lines = csv.text.trim().split('\r\n');
  expect(lines[0]).toBe('id,at,user,via,ip,action,target,patient,detail');
  expect(lines.slice(1).some((l) => /,otto,session,10\.0\.3\.2,test\.operate,msg-1,1,ok$/.test(l))).toBe(true);
  // The export itself is traced.
  expect((await admin.get('/api/audit?action=audit.export')).json<{ entries: unknown[] }>().entries.length).toBe(1);
});

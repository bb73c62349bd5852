/**
 * OpenID Connect login against a small identity provider of our own on a real socket (discovery,
 * JWKS, token endpoint checking the client secret and the PKCE verifier, RS256 ID tokens): the
 * session it opens, the role from the claim, and the logins it must refuse.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { channelYaml } from '../support/engine-harness';
import { Client, adminClient, startTestConsole, type TestConsole } from './console-harness';

const CLIENT_ID = 'passerelle-console';
const SECRET = 'client-secret-1';

/** What the provider will put in the ID token of the next code it hands out. */
interface Grant {
  claims: Record<string, unknown>;
  challenge: string;
  nonce: string;
  /** Sign with another key than the published one. */
  forge?: boolean;
}

class FakeIdp {
  readonly server: Server;
  readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly rogue = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly grants = new Map<string, Grant>();
  issuer = '';

  constructor() {
    this.server = createServer((req, res) => {
      const url = new URL(req.url!, this.issuer);
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (url.pathname === '/.well-known/openid-configuration') {
        return send(200, { issuer: this.issuer, authorization_endpoint: `${this.issuer}/authorize`, token_endpoint: `${this.issuer}/token`, jwks_uri: `${this.issuer}/jwks` });
      }
      if (url.pathname === '/jwks') return send(200, { keys: [{ ...this.key.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] });
      if (url.pathname === '/token' && req.method === 'POST') {
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          const form = new URLSearchParams(text);
          const basic = Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64');
          if (req.headers.authorization !== `Basic ${basic}`) return send(401, { error: 'invalid_client' });
          const grant = this.grants.get(form.get('code') ?? '');
          this.grants.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          if (!grant || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return send(400, { error: 'invalid_grant' });
          const now = Math.floor(Date.now() / 1000);
          const claims = { iss: this.issuer, aud: CLIENT_ID, iat: now, exp: now + 300, nonce: grant.nonce, sub: 'u-1', ...grant.claims };
          return send(200, { access_token: 'at', token_type: 'Bearer', id_token: this.jwt(claims, grant.forge ? this.rogue.privateKey : this.key.privateKey) });
        });
        return;
      }
      send(404, {});
    });
  }

  jwt(claims: Record<string, unknown>, key: KeyObject): string {
    const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const data = `${part({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${part(claims)}`;
    return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
  }
}

let idp: FakeIdp;
let tc: TestConsole;

beforeAll(async () => {
  idp = new FakeIdp();
  await new Promise<void>((r) => idp.server.listen(0, '127.0.0.1', r));
  const addr = idp.server.address() as { port: number };
  idp.issuer = `http://127.0.0.1:${addr.port}`;
  tc = await startTestConsole(
    { 'a.yaml': channelYaml('alpha', 'acceptance:\n  messageTypes: [ORU^R01]\n') },
    { console: { oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: SECRET, redirectUrl: 'http://127.0.0.1/oidc/callback' } } },
  );
});

afterAll(async () => {
  await tc?.stop();
  await new Promise((r) => idp?.server.close(r));
});

/**
 * The browser's trip: /login/oidc → the provider (which, logged in, hands out a code for
 * `claims`) → the console's callback. Returns the callback's answer.
 */
async function oidcLogin(c: Client, claims: Record<string, unknown>, o: { next?: string; forge?: boolean; replay?: boolean } = {}): Promise<Awaited<ReturnType<Client['get']>>> {
  const start = await c.get(`/login/oidc?next=${encodeURIComponent(o.next ?? '/api/me')}`);
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.origin + authorize.pathname).toBe(`${idp.issuer}/authorize`);
  expect(authorize.searchParams.get('client_id')).toBe(CLIENT_ID);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  const code = `code-${Math.random().toString(36).slice(2)}`;
  idp.grants.set(code, { claims, challenge: authorize.searchParams.get('code_challenge')!, nonce: authorize.searchParams.get('nonce')!, forge: o.forge });
  const callback = `/oidc/callback?code=${code}&state=${authorize.searchParams.get('state')}`;
  const res = await c.get(callback);
  return o.replay ? c.get(callback) : res;
}

test('the login page offers the provider; a login opens a session with the claimed role', async () => {
  expect((await new Client(tc.url).get('/login')).text).toContain(`Log in with 127.0.0.1:`);
  const c = new Client(tc.url);
  const res = await oidcLogin(c, { preferred_username: 'olivia', passerelle_role: 'operator' });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/api/me');
  expect((await c.get('/api/me')).json()).toEqual({ name: 'olivia', role: 'operator', via: 'oidc', mustChangePassword: false });

  // The role follows the provider at each login; a list claim gives its highest known role.
  const again = new Client(tc.url);
  await oidcLogin(again, { preferred_username: 'olivia', passerelle_role: ['staff', 'viewer'] });
  expect((await again.get('/api/me')).json()).toMatchObject({ name: 'olivia', role: 'viewer', via: 'oidc' });
  // No password logs in as an OIDC user.
  expect((await new Client(tc.url).login('olivia', '!oidc')).status).toBe(401);
});

test('refused: a forged signature, a replayed answer, no role, a local user of that name, a disabled user', async () => {
  const forged = await oidcLogin(new Client(tc.url), { preferred_username: 'mallory', passerelle_role: 'admin' }, { forge: true });
  expect(forged.status).toBe(401);
  expect(forged.text).toContain('signature does not verify');

  const replay = await oidcLogin(new Client(tc.url), { preferred_username: 'paul', passerelle_role: 'viewer' }, { replay: true });
  expect(replay.status).toBe(401);
  expect(replay.text).toContain('unknown, used or expired login attempt');

  const norole = await oidcLogin(new Client(tc.url), { preferred_username: 'nora' });
  expect(norole.status).toBe(401);
  expect(norole.text).toContain('names no console role');

  const admin = await adminClient(tc);
  await admin.post('/api/users', { name: 'lucy', role: 'viewer', password: 'lucy-password-1' });
  const takeover = await oidcLogin(new Client(tc.url), { preferred_username: 'lucy', passerelle_role: 'admin' });
  expect(takeover.status).toBe(401);
  expect(takeover.text).toContain('a local user is already named lucy');

  await admin.post('/api/users/olivia/disable');
  expect((await oidcLogin(new Client(tc.url), { preferred_username: 'olivia', passerelle_role: 'operator' })).text).toContain('user olivia is disabled');

  const rows = (await admin.get('/api/audit?action=login.failed')).json<{ entries: { via: string; target: string; detail: string }[] }>().entries;
  expect(rows.filter((r) => r.via === 'oidc').map((r) => r.target).sort()).toEqual(['-', '-', 'lucy', 'nora', 'olivia']);
  const ok = (await admin.get('/api/audit?action=login&user=olivia')).json<{ entries: { via: string; detail: string }[] }>().entries;
  expect(ok.map((r) => `${r.via} ${r.detail}`)).toEqual(['oidc ok, role viewer', 'oidc ok, role operator']);
});

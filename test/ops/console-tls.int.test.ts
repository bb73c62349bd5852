/** The console over HTTPS (PASSERELLE_HTTP_TLS_CERT / _KEY): the session cookie is Secure, HSTS is sent, plain HTTP is not served. */
import { request } from 'node:https';
import { join } from 'node:path';
import { channelYaml } from '../support/engine-harness';
import { makePki, type TestPki } from '../support/pki';
import { initialAdminPassword, startTestConsole, type TestConsole } from './console-harness';

let pki: TestPki;
let tc: TestConsole;

beforeAll(async () => {
  pki = makePki();
  tc = await startTestConsole(
    { 'a.yaml': channelYaml('alpha', 'acceptance:\n  messageTypes: [ORU^R01]\n') },
    { console: { tlsCert: join(pki.dir, 'server.crt'), tlsKey: join(pki.dir, 'server.key') } },
  );
});

afterAll(async () => {
  await tc?.stop();
  pki?.cleanup();
});

function post(url: string, body: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', ca: pki.caCert, headers: { 'content-type': 'application/json', origin: u.origin } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('HTTPS login: Secure cookie, HSTS; plain HTTP refused', async () => {
  expect(tc.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const res = await post(`${tc.url}/api/login`, { name: 'admin', password: initialAdminPassword(tc) });
  expect(res.status).toBe(200);
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('psl_session='));
  expect(cookie).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
  expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
  await expect(fetch(tc.url.replace('https:', 'http:') + '/api/health/live')).rejects.toThrow();
});

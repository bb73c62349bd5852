// CI (.ci/run): after the quick start, the console answers at http://127.0.0.1:8080 with the
// sample channels, their queues and the sample messages, and the first login works as the README
// says: admin with the password in var/console/initial-admin-password, changed at once.
import { readFileSync } from 'node:fs';

const base = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8080';
const fail = (why) => {
  console.error(`ci: console: ${why}`);
  process.exit(1);
};
const password = readFileSync('var/console/initial-admin-password', 'utf8').trim();
let cookie = '';
async function call(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { origin: base, cookie, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const set = res.headers.get('set-cookie');
  if (set) cookie = set.split(';')[0];
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

const login = await call('POST', '/api/login', { name: 'admin', password });
if (login.status !== 200) fail(`first login refused (${login.status}): ${JSON.stringify(login.json)}`);
const forced = await call('GET', '/api/channels');
if (forced.status !== 403) fail(`the first login was not asked to change its password (${forced.status})`);
const newPassword = `ci-${Date.now()}-Passerelle!`;
const changed = await call('POST', '/api/password', { current: password, password: newPassword, confirm: newPassword });
if (changed.status !== 200) fail(`password change refused (${changed.status}): ${JSON.stringify(changed.json)}`);
const relogin = await call('POST', '/api/login', { name: 'admin', password: newPassword });
if (relogin.status !== 200) fail(`login with the new password refused (${relogin.status})`);

const channels = await call('GET', '/api/channels');
const names = (channels.json.channels ?? channels.json).map((c) => c.name).sort();
for (const want of ['ilw-results', 'ltw-results', 'orders', 'pfi-receipts']) if (!names.includes(want)) fail(`channel ${want} missing from /api/channels: ${names}`);
const queues = await call('GET', '/api/queues');
if (queues.status !== 200 || !JSON.stringify(queues.json).includes('ltw-results')) fail(`/api/queues: ${queues.status}`);
const results = await call('GET', '/api/messages?channel=ltw-results');
if (!JSON.stringify(results.json).includes('SMP-ORU-0001')) fail(`the sample ORU is not in /api/messages: ${JSON.stringify(results.json).slice(0, 300)}`);
const orders = await call('GET', '/api/messages?channel=orders');
if (!JSON.stringify(orders.json).includes('SMP-OML-0001')) fail('the sample OML is not in /api/messages');
const overview = await call('GET', '/');
if (overview.status !== 200 || !String(overview.json).includes('ltw-results')) fail(`the overview page: ${overview.status}`);
console.log(`ci: console OK (${names.length} channels, sample messages listed)`);

/**
 * An operator resends a dead report-version delivery from the console: the row is queued again
 * and put on its line at once (not left to the line's 30 s scan), then sent; a viewer may not.
 */
import { LTW_SAMPLE } from '../support/sample-channels';
import { USERS, startConsoleScenario, type ConsoleScenario } from '../support/console-scenario';
import type { StoredVersionDelivery } from '../../engine/store/types';
import type { Role } from '../../engine/ops/context';
import { waitFor } from '../support/wait';

let s: ConsoleScenario;

beforeAll(async () => {
  s = await startConsoleScenario({ pfi: true });
  s.lis.fixed = true;
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

async function loginAs(role: Role): Promise<(path: string, body: unknown) => Promise<{ status: number; json: Record<string, unknown> }>> {
  const res = await fetch(`${s.base}/api/login`, {
    method: 'POST',
    headers: { origin: s.base, 'content-type': 'application/json' },
    body: JSON.stringify({ name: USERS[role].name, password: USERS[role].password }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return async (path, body) => {
    const r = await fetch(`${s.base}${path}`, { method: 'POST', headers: { origin: s.base, cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
}

async function pfiRow(): Promise<StoredVersionDelivery | undefined> {
  return (await s.te.engine.messageStore.findVersionDeliveries({ limit: 100 })).find((d) => d.target === 'pfi');
}

test('a dead PFI delivery resent by an operator goes on its line at once and is sent', async () => {
  await s.send('results', LTW_SAMPLE.replace('|SMP-ORU-0001|', '|CON-RESEND-0001|'));
  expect(await waitFor(async () => (await pfiRow())?.state === 'sent', 90_000, 200)).toBe(true);
  const sent = (await pfiRow())!;
  // As the line leaves a delivery it gave up on.
  await s.te.engine.messageStore.putVersionDelivery({ ...sent, state: 'dead', detail: 'PSL_DEST_CONNECT: the PFI was down' });
  const ref = { lab: sent.lab, fillerOrder: sent.fillerOrder, version: sent.version, target: 'pfi' };

  const viewer = await loginAs('viewer');
  expect((await viewer('/api/deliveries/resend', ref)).status).toBe(403);
  expect((await pfiRow())!.state).toBe('dead');

  const operator = await loginAs('operator');
  const r = await operator('/api/deliveries/resend', ref);
  expect(r.status).toBe(200);
  expect(r.json.outcome).toBe('queued');
  expect(String(r.json.detail)).toContain('on its line now');
  expect(await waitFor(async () => (await pfiRow())?.state === 'sent', 30_000, 100)).toBe(true);
});

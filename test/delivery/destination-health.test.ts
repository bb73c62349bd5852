/** The per-destination breaker: one probe at a time while failing, outage failures not charged to messages. */
import { DestinationHealth, failingAfterFor } from '../../engine/delivery/destination-health';
import { PasserelleError } from '../../engine/errors';
import type { AttemptTicket } from '../../engine/queue/types';
import { capturingLogger } from '../support/log-capture';
import { waitFor } from '../support/wait';

const down = (): PasserelleError => new PasserelleError('PSL_DEST_CONNECT', 'connect ECONNREFUSED');

function make(failingAfter = 3) {
  const { logger, records } = capturingLogger();
  const health = new DestinationHealth({ channel: 'ch', destination: 'lis', failingAfter, backoff: { baseMs: 5, maxMs: 20 }, logger });
  const events = () => records.filter((r) => r.message.startsWith('destination '));
  return { health, events };
}

async function trip(health: DestinationHealth, times = 3): Promise<boolean[]> {
  const charged: boolean[] = [];
  for (let i = 0; i < times; i++) charged.push((await health.admit(new AbortController().signal))!.failed(down(), true));
  return charged;
}

test('healthy: every head is admitted; a few failures are charged to their messages', async () => {
  const { health, events } = make();
  const a = await health.admit(new AbortController().signal);
  const b = await health.admit(new AbortController().signal);
  expect(a && b).toBeTruthy();
  expect(a!.failed(down(), true)).toBe(false);
  b!.succeeded(); // a success in between: the count starts again
  expect(await trip(health, 2)).toEqual([false, false]);
  expect(health.failing).toBe(false);
  expect(events()).toEqual([]);
});

test('a message whose every attempt fails in a row meets a tripped breaker on its last one, whatever maxAttempts', async () => {
  expect([1, 2, 3, 10].map(failingAfterFor)).toEqual([2, 2, 3, 3]);
  const signal = new AbortController().signal;
  for (const maxAttempts of [2, 3, 5]) {
    const { health } = make(failingAfterFor(maxAttempts));
    const charged: boolean[] = [];
    for (let attempt = 1; attempt <= maxAttempts; attempt++) charged.push((await health.admit(signal))!.failed(down(), true));
    // Charged to the message before the last attempt at most; the last one is the outage's.
    expect(charged[maxAttempts - 1]).toBe(true);
    expect(health.failing).toBe(true);
  }
});

test('the third consecutive failure makes it failing: one warn with channel, destination and code', async () => {
  const { health, events } = make();
  expect(await trip(health)).toEqual([false, false, true]);
  expect(health.failing).toBe(true);
  expect(events()).toEqual([expect.objectContaining({ level: 'warn', message: 'destination failing', channel: 'ch', destination: 'lis', code: 'PSL_DEST_CONNECT' })]);
});

test('failing: one probe at a time, in turn; failed probes are not charged; a success lets everyone go, one info', async () => {
  const { health, events } = make();
  await trip(health);
  const signal = new AbortController().signal;
  const order: string[] = [];
  let tickets: Record<string, AttemptTicket | undefined> = {};
  const heads = ['p0', 'p1', 'p2'].map((name) =>
    health.admit(signal).then((t) => {
      order.push(name);
      tickets[name] = t;
    }),
  );
  await new Promise((r) => setTimeout(r, 50));
  expect(order).toEqual(['p0']); // one probe, the others wait
  expect(tickets.p0!.failed(down(), true)).toBe(true); // outage: not charged
  const again = health.admit(signal).then((t) => {
    order.push('p0 again');
    tickets['p0 again'] = t;
  });
  expect(await waitFor(() => order.length === 2, 5000, 5)).toBe(true);
  await new Promise((r) => setTimeout(r, 50));
  expect(order).toEqual(['p0', 'p1']); // the next in line probes alone, p0 went to the back
  tickets.p1!.succeeded();
  await Promise.all([...heads, again]);
  expect(order).toEqual(['p0', 'p1', 'p2', 'p0 again']);
  expect(health.failing).toBe(false);
  expect(events().map((e) => [e.level, e.message, e.code])).toEqual([
    ['warn', 'destination failing', 'PSL_DEST_CONNECT'],
    ['info', 'destination recovered', 'PSL_DEST_CONNECT'],
  ]);
  tickets = {};
});

test('a permanent failure of the probe is the message\'s own: charged, the next head probes', async () => {
  const { health } = make();
  await trip(health);
  const probe = await health.admit(new AbortController().signal);
  expect(probe!.failed(new PasserelleError('PSL_DEST_NAK_ERROR', 'AE'), false)).toBe(false);
  expect(health.failing).toBe(true);
  const next = await health.admit(new AbortController().signal);
  expect(next).toBeDefined();
});

test('a waiting head is released when its worker stops', async () => {
  const { health } = make();
  await trip(health);
  const first = await health.admit(new AbortController().signal); // the probe, in flight
  const stop = new AbortController();
  const waiting = health.admit(stop.signal);
  stop.abort();
  expect(await waiting).toBeUndefined();
  first!.cancelled();
  expect(await health.admit(new AbortController().signal)).toBeDefined();
});

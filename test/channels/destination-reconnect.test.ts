/**
 * An MLLP destination's client waits between connection attempts; that wait must stay within
 * the destination's retry backoff. The outage soak showed the client's own 30 s cap keeping a
 * peer that had come back unused for seconds after backoffMaxMs 2 s allowed the next try.
 */
import { channelSchema } from '../../engine/config/channel-schema';
import { makeDestination } from '../../engine/channels/channel';
import { Message } from '../../engine/hl7';
import { silentLogger } from '../../engine/runtime/logger';
import { freePort } from '../support/redis';

async function reconnectDelayAfterFailures(retry: Record<string, number> | undefined, failures: number): Promise<number> {
  const port = await freePort(); // nothing listens there any more: every connect is refused
  const config = channelSchema.parse({
    name: 'c',
    source: { type: 'mllp', port: 0 },
    acceptance: { messageTypes: ['ORU^R01'] },
    destinations: [{ name: 'eai', type: 'mllp', host: '127.0.0.1', port, connectTimeoutMs: 1000, ...(retry ? { retry } : {}) }],
  });
  const dest = makeDestination(config.destinations[0]!, 'utf-8', { logger: silentLogger() });
  const message = Message.parse('MSH|^~\\&|A|B|C|D|20261206||ORU^R01|M1|P|2.5\r');
  let delay = -1;
  try {
    for (let i = 0; i < failures; i++) {
      const err = await dest.deliver({ id: 'x', controlId: 'M1', message }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; details?: { reconnectDelayMs?: number } },
      );
      expect(err?.code).toBe('PSL_DEST_CONNECT');
      delay = err!.details!.reconnectDelayMs!;
    }
  } finally {
    await dest.close();
  }
  return delay;
}

test('after many refused connections the next attempt waits at most retry.backoffMaxMs', async () => {
  expect(await reconnectDelayAfterFailures({ backoffBaseMs: 50, backoffMaxMs: 200 }, 8)).toBe(200);
});

test('with the default retry settings the client keeps its own pacing (0.5 s doubling)', async () => {
  expect(await reconnectDelayAfterFailures(undefined, 2)).toBe(1000);
});

import { engineConfigFromEnv } from '../config/engine-config';
import { loadChannelDir } from '../config/load-channels';
import { storeSettings } from '../engine';
import { createStore } from '../store';
import type { MessageState } from '../store/types';
import { Pipeline } from '../channels/pipeline';
import { redisOptionsFromUrl } from '../runtime/redis';
import { silentLogger } from '../runtime/logger';

const out = (s: string): void => void process.stdout.write(s + '\n');

/** `passerelle messages <channel>`: operators' view of the store (no patient data). */
export async function messagesCommand(channel: string, state: string | undefined, limit: number): Promise<number> {
  const store = createStore(storeSettings(engineConfigFromEnv()));
  await store.init();
  try {
    const counts = await store.counts(channel);
    out(Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${s}=${n}`).join(' ') || 'no messages');
    const r = await store.refusalStats(channel);
    if (r.count > 0 || r.dropped > 0) out(`refusals kept ${r.count} (${Math.ceil(r.bytes / 1024)} KB), dropped by the quota ${r.dropped}`);
    for (const m of await store.list(channel, state as MessageState | undefined, limit)) {
      out([m.seq, m.id, m.state, m.controlId || '-', m.messageType || '-', m.receivedAt.toISOString(), m.reason ?? ''].join('\t'));
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `passerelle reprocess <channel> <id...>`: runs the failed stage of dead-lettered messages again. */
export async function reprocessCommand(channelName: string, ids: string[]): Promise<number> {
  const cfg = engineConfigFromEnv();
  const loaded = loadChannelDir(cfg.channelsDir).find((l) => l.config.name === channelName);
  if (!loaded) throw new Error(`no channel named ${channelName} in ${cfg.channelsDir}`);
  const store = createStore(storeSettings(cfg));
  await store.init();
  const pipeline = new Pipeline({
    channel: loaded.config,
    store,
    destinations: loaded.config.destinations.map((d) => ({ name: d.name, deliver: async () => '', close: async () => undefined })),
    connection: redisOptionsFromUrl(cfg.redisUrl),
    prefix: cfg.prefix,
    consume: false, // only puts jobs back; the running engine's workers deliver them
    logger: silentLogger(),
  });
  let failures = 0;
  try {
    for (const id of ids) {
      try {
        out(`${id}: requeued (${(await pipeline.reprocess(id)).join(', ')})`);
      } catch (e) {
        failures++;
        out(`${id}: ${(e as Error).message}`);
      }
    }
  } finally {
    await pipeline.stop(1000);
    await store.close();
  }
  return failures === 0 ? 0 : 1;
}

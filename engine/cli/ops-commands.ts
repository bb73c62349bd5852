import { engineConfigFromEnv } from '../config/engine-config';
import { loadChannelDir } from '../config/load-channels';
import { storeSettings } from '../engine';
import { createStore } from '../store';
import type { MessageState } from '../store/types';
import { Pipeline } from '../channels/pipeline';
import { discardMessage, reprocessMessage } from '../channels/message-actions';
import { PasserelleError } from '../errors';
import { cliActor, type ActionResult } from '../operator-action';
import { redisOptionsFromUrl } from '../runtime/redis';
import { silentLogger } from '../runtime/logger';

const out = (s: string): void => void process.stdout.write(s + '\n');

/**
 * Runs one operator action for the CLI: its detail on stdout, or a refusal (a coded error) on
 * `refusals` (stdout for the commands that take several ids, stderr otherwise); 0 or 1.
 * Anything else is a bug or an outage and goes up.
 */
export async function runAction(action: () => Promise<ActionResult>, refusals: 'stdout' | 'stderr' = 'stderr', prefix = ''): Promise<number> {
  try {
    out((await action()).detail);
    return 0;
  } catch (e) {
    if (!(e instanceof PasserelleError)) throw e;
    const line = `${prefix}${e.message}\n`;
    if (refusals === 'stdout') process.stdout.write(line);
    else process.stderr.write(line);
    return 1;
  }
}

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

/** `passerelle reprocess <channel> <id...>`: runs the failed stage of dead-lettered messages again (message-actions.ts). */
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
  const deps = {
    store,
    reprocess: (channel: string, id: string, note: string): Promise<string[]> => {
      if (channel !== channelName) throw new PasserelleError('PSL_MESSAGE_MISSING', `message ${id} is in channel ${channel}, not ${channelName}`);
      return pipeline.reprocess(id, note);
    },
  };
  let failures = 0;
  try {
    for (const id of ids) failures += await runAction(() => reprocessMessage(deps, id, cliActor()), 'stdout', `${id}: `);
  } finally {
    await pipeline.stop(1000);
    await store.close();
  }
  return failures === 0 ? 0 : 1;
}

/** `passerelle discard <id...> --reason <text>`: closes dead-lettered messages for good (message-actions.ts). */
export async function discardCommand(ids: string[], reason: string): Promise<number> {
  const store = createStore(storeSettings(engineConfigFromEnv()));
  await store.init();
  let failures = 0;
  try {
    for (const id of ids) failures += await runAction(() => discardMessage({ store }, id, reason, cliActor()), 'stdout', `${id}: `);
  } finally {
    await store.close();
  }
  return failures === 0 ? 0 : 1;
}

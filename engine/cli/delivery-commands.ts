/**
 * Operators' view of report version deliveries (issue 9, item 6): `passerelle deliveries`,
 * `passerelle retry <id>`, `passerelle cancel <id>` (engine/delivery/version-actions.ts). A delivery id is
 * `<filler order>/v<version>/<target>` (e.g. `LAB-0001/v2/pfi`, `LAB-0001/v2/dmp`,
 * `LAB-0001/v2/mss:dr.x@hopital.mssante.fr`). A running engine picks a
 * delivery queued again within its scan period (30 s).
 */
import { engineConfigFromEnv } from '../config/engine-config';
import { storeSettings } from '../engine';
import { createStore, type MessageStore, type StoredVersionDelivery } from '../store';
import { cancelVersionDelivery, parseVersionDeliveryId, resendVersionDelivery, versionDeliveryId } from '../delivery/version-actions';
import { cliActor } from '../operator-action';
import { runAction } from './ops-commands';

const out = (s: string): void => void process.stdout.write(s + '\n');
const STATES = ['queued', 'sent', 'held', 'dead', 'acknowledged', 'failed'] as const;

async function withStore<T>(fn: (store: MessageStore) => Promise<T>): Promise<T> {
  const store = createStore(storeSettings(engineConfigFromEnv()));
  await store.init();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export async function deliveriesCommand(opts: { state?: string; report?: string; limit?: string }): Promise<number> {
  if (opts.state && !(STATES as readonly string[]).includes(opts.state)) {
    process.stderr.write(`--state must be one of ${STATES.join(', ')}\n`);
    return 1;
  }
  return withStore(async (store) => {
    const rows = await store.findVersionDeliveries({ state: opts.state as StoredVersionDelivery['state'] | undefined, fillerOrder: opts.report, limit: Number(opts.limit ?? 100) });
    if (rows.length === 0) out('no delivery');
    for (const d of rows) out(`${versionDeliveryId(d)}\t${d.state}\t${d.updatedAt.toISOString()}\t${d.lab}${d.detail ? `\t${d.detail}` : ''}`);
    return 0;
  });
}

export async function retryCommand(id: string): Promise<number> {
  return withStore((store) => runAction(async () => resendVersionDelivery({ store }, parseVersionDeliveryId(id), cliActor())));
}

export async function cancelCommand(id: string): Promise<number> {
  return withStore((store) => runAction(async () => cancelVersionDelivery({ store }, parseVersionDeliveryId(id), cliActor())));
}

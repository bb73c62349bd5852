/**
 * Operators' view of report version deliveries (issue 9, item 6): `passerelle deliveries`,
 * `passerelle retry <id>`, `passerelle cancel <id>`. A delivery id is
 * `<filler order>/v<version>/<target>` (e.g. `LAB-0001/v2/pfi`, `LAB-0001/v2/dmp`,
 * `LAB-0001/v2/mss:dr.x@hopital.mssante.fr`). A running engine picks a
 * delivery queued again within its scan period (30 s).
 */
import { engineConfigFromEnv } from '../config/engine-config';
import { storeSettings } from '../engine';
import { createStore, type MessageStore, type StoredVersionDelivery } from '../store';

const out = (s: string): void => void process.stdout.write(s + '\n');
const STATES = ['queued', 'sent', 'held', 'dead', 'acknowledged', 'failed'] as const;

function idOf(d: StoredVersionDelivery): string {
  return `${d.fillerOrder}/v${d.version}/${d.target}`;
}

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
    for (const d of rows) out(`${idOf(d)}\t${d.state}\t${d.updatedAt.toISOString()}\t${d.lab}${d.detail ? `\t${d.detail}` : ''}`);
    return 0;
  });
}

/** The delivery an id names, or a one-line reason on stderr. */
async function find(store: MessageStore, id: string): Promise<StoredVersionDelivery | undefined> {
  const m = /^(.+)\/v(\d+)\/([^/]+)$/.exec(id);
  if (!m) {
    process.stderr.write(`${id}: a delivery id is <filler order>/v<version>/<target>, e.g. LAB-0001/v2/pfi\n`);
    return undefined;
  }
  const rows = (await store.findVersionDeliveries({ fillerOrder: m[1]!, limit: 10_000 })).filter((d) => d.version === Number(m[2]) && d.target === m[3]);
  if (rows.length !== 1) process.stderr.write(rows.length === 0 ? `${id}: no such delivery\n` : `${id}: several labs have this number (${rows.map((r) => r.lab).join(', ')})\n`);
  return rows.length === 1 ? rows[0] : undefined;
}

export async function retryCommand(id: string): Promise<number> {
  return withStore(async (store) => {
    const d = await find(store, id);
    if (!d) return 1;
    if (d.state !== 'dead') {
      process.stderr.write(d.state === 'held' ? `${id}: held (${d.detail ?? ''}); a new version is the way out\n` : `${id}: ${d.state}, nothing to retry\n`);
      return 1;
    }
    // An older version sent after a newer one would replace it over there: refused.
    const newer = (await store.findVersionDeliveries({ fillerOrder: d.fillerOrder, limit: 10_000 })).find((r) => r.lab === d.lab && r.target === d.target && r.version > d.version && r.state === 'sent');
    if (newer) {
      process.stderr.write(`${id}: v${newer.version} was sent to ${d.target} since; sending this older version now would put it over the newer one\n`);
      return 1;
    }
    await store.putVersionDelivery({ ...d, state: 'queued', detail: `retried by an operator (was: ${d.detail ?? 'dead'})`.slice(0, 1000) });
    out(`${id}: queued again; a running engine sends it within 30 s, in its place in the report's line`);
    return 0;
  });
}

export async function cancelCommand(id: string): Promise<number> {
  return withStore(async (store) => {
    const d = await find(store, id);
    if (!d) return 1;
    if (d.state === 'sent') {
      process.stderr.write(`${id}: already sent; a deletion of the report is how it is taken back\n`);
      return 1;
    }
    await store.putVersionDelivery({ ...d, state: 'dead', detail: `cancelled by an operator (was: ${d.state})` });
    out(`${id}: cancelled`);
    return 0;
  });
}

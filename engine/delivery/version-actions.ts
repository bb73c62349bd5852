/**
 * Operators' actions on one delivery of a report version (DMP, MSSanté, PFI; docs/design.md
 * "Operator actions"): queue a dead one again, or give up one not sent. The row's state is what
 * its line goes by (engine/delivery/version-line.ts), so each action is one row write whose
 * detail says who did it and when; a running engine's scan sends a row queued again within
 * 30 s, or at once when the caller hands over the lines of this process.
 */
import { PasserelleError } from '../errors';
import { actionTrace, checkActor, type ActionResult } from '../operator-action';
import type { MessageStore, StoredVersionDelivery } from '../store';
import type { VersionLine } from './version-line';

/** One delivery: a version of a report to one target (`pfi`, `dmp`, `mss:<address>`). `lab` may be left out when only one lab has that filler order number. */
export interface VersionDeliveryRef {
  lab?: string;
  fillerOrder: string;
  version: number;
  target: string;
}

export type VersionActionStore = Pick<MessageStore, 'findVersionDeliveries' | 'versionDeliveries' | 'putVersionDelivery'>;

export interface VersionActionDeps {
  store: VersionActionStore;
  /** The lines of this process, to put a row queued again on its line at once (else the engine's scan does, within 30 s). */
  lines?: readonly Pick<VersionLine, 'owns' | 'enqueue'>[];
}

/** `<filler order>/v<version>/<target>`, as `passerelle deliveries` prints it and the CLI takes it. */
export function versionDeliveryId(d: Pick<StoredVersionDelivery, 'fillerOrder' | 'version' | 'target'>): string {
  return `${d.fillerOrder}/v${d.version}/${d.target}`;
}

export function parseVersionDeliveryId(id: string, lab?: string): VersionDeliveryRef {
  const m = /^(.+)\/v(\d+)\/([^/]+)$/.exec(id);
  if (!m) throw new PasserelleError('PSL_DELIVERY_NOT_FOUND', `${id}: a delivery id is <filler order>/v<version>/<target>, e.g. LAB-0001/v2/pfi`);
  return { ...(lab === undefined ? {} : { lab }), fillerOrder: m[1]!, version: Number(m[2]), target: m[3]! };
}

/** Rows a PFI or a mailbox wrote about what they did (`pfi>dmp`, `mss>dsn:<address>`…): nothing of ours to send. */
function isReceipt(d: StoredVersionDelivery): boolean {
  return d.target.includes('>') || d.state === 'acknowledged' || d.state === 'failed';
}

/** The row a reference names, or a coded refusal (none, or several labs). */
export async function findVersionDelivery(store: Pick<MessageStore, 'findVersionDeliveries' | 'versionDeliveries'>, ref: VersionDeliveryRef): Promise<StoredVersionDelivery> {
  const rows =
    ref.lab !== undefined
      ? await store.versionDeliveries(ref.lab, ref.fillerOrder)
      : await store.findVersionDeliveries({ fillerOrder: ref.fillerOrder, limit: 10_000 });
  const hits = rows.filter((d) => d.version === ref.version && d.target === ref.target && d.fillerOrder === ref.fillerOrder);
  const id = versionDeliveryId(ref);
  if (hits.length === 0) throw new PasserelleError('PSL_DELIVERY_NOT_FOUND', `${id}${ref.lab ? ` of ${ref.lab}` : ''}: no such delivery`);
  if (hits.length > 1) throw new PasserelleError('PSL_DELIVERY_AMBIGUOUS', `${id}: several labs have this number (${hits.map((r) => r.lab).sort().join(', ')})`);
  return hits[0]!;
}

const bounded = (s: string): string => s.slice(0, 1000);

/**
 * A dead delivery queued again, in its place in the report's line (a newer version to the same
 * target still waits for it). Refused: a held one (a new version is the way out), one not dead,
 * a receipt, and an older version when a newer one went to that target since (it would be put
 * over the newer one there).
 */
export async function resendVersionDelivery(deps: VersionActionDeps, ref: VersionDeliveryRef, actor: string): Promise<ActionResult> {
  checkActor(actor);
  const d = await findVersionDelivery(deps.store, ref);
  const id = versionDeliveryId(d);
  if (isReceipt(d)) throw new PasserelleError('PSL_DELIVERY_RECEIPT', `${id}: a receipt (${d.state}), not something we send`);
  if (d.state === 'held') throw new PasserelleError('PSL_RESEND_HELD', `${id}: held (${d.detail ?? 'no reason kept'}); a new version is the way out`);
  if (d.state !== 'dead') throw new PasserelleError('PSL_RESEND_NOT_DEAD', `${id}: ${d.state}, nothing to retry`);
  const newer = (await deps.store.versionDeliveries(d.lab, d.fillerOrder)).find((r) => r.target === d.target && r.version > d.version && r.state === 'sent');
  if (newer) {
    throw new PasserelleError('PSL_RESEND_NEWER_SENT', `${id}: v${newer.version} was sent to ${d.target} since; sending this older version now would put it over the newer one`);
  }
  await deps.store.putVersionDelivery({ lab: d.lab, fillerOrder: d.fillerOrder, version: d.version, target: d.target, state: 'queued', detail: bounded(`${actionTrace('retried', actor)} (was: ${d.detail ?? 'dead'})`) });
  const lines = (deps.lines ?? []).filter((l) => l.owns(d.target));
  for (const l of lines) await l.enqueue(d);
  return {
    outcome: 'queued',
    detail: `${id}: queued again; ${lines.length > 0 ? 'on its line now' : 'a running engine sends it within 30 s'}, in its place in the report's line`,
  };
}

/**
 * A delivery not sent given up for good (`dead`, the detail saying who cancelled it and what it
 * was). A queued older version cancelled lets the newer ones waiting behind it go. Refused: a
 * sent one (a deletion of the report takes it back) and a receipt.
 */
export async function cancelVersionDelivery(deps: Pick<VersionActionDeps, 'store'>, ref: VersionDeliveryRef, actor: string): Promise<ActionResult> {
  checkActor(actor);
  const d = await findVersionDelivery(deps.store, ref);
  const id = versionDeliveryId(d);
  if (isReceipt(d)) throw new PasserelleError('PSL_DELIVERY_RECEIPT', `${id}: a receipt (${d.state}), not something we send`);
  if (d.state === 'sent') throw new PasserelleError('PSL_CANCEL_SENT', `${id}: already sent; a deletion of the report is how it is taken back`);
  const was = d.detail ? `${d.state}: ${d.detail}` : d.state;
  await deps.store.putVersionDelivery({ lab: d.lab, fillerOrder: d.fillerOrder, version: d.version, target: d.target, state: 'dead', detail: bounded(`${actionTrace('cancelled', actor)} (was: ${was})`) });
  return { outcome: 'cancelled', detail: `${id}: cancelled` };
}

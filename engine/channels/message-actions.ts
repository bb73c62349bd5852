/**
 * Operators' actions on one stored message (docs/design.md "Operator actions"): release it from
 * the dead letter (its failed stage runs again), or discard it for good. The message's reason
 * (and the deliveries' detail) say who did it and when: the store keeps the trace, whatever
 * asked (CLI or console).
 */
import { PasserelleError } from '../errors';
import { actionTrace, checkActor, operatorText, type ActionResult } from '../operator-action';
import type { MessageStore } from '../store/types';

const bounded = (s: string): string => s.slice(0, 1000);

export interface ReprocessDeps {
  store: Pick<MessageStore, 'get'>;
  /**
   * Runs the failed stage of a dead message of `channel` again, with `note` as its trace
   * (Pipeline.reprocess of the pipeline that runs the channel); returns the stages requeued.
   * Throws when the channel does not run where it is asked.
   */
  reprocess(channel: string, id: string, note: string): Promise<string[]>;
}

/**
 * Releases a dead-lettered message: its failed stage runs again (the dead destinations only
 * when delivery failed; filter and transform otherwise), at the end of its line. The message's
 * reason becomes `reprocess requested by <actor> at <time> (was: <old reason>)`.
 */
export async function reprocessMessage(deps: ReprocessDeps, id: string, actor: string): Promise<ActionResult> {
  checkActor(actor);
  const m = await deps.store.get(id);
  if (!m) throw new PasserelleError('PSL_MESSAGE_MISSING', `no message ${id} in the store`);
  if (m.state !== 'dead') {
    const why = m.state === 'discarded' ? 'discarded, closed for good' : `${m.state}, not dead`;
    throw new PasserelleError('PSL_REPROCESS_REFUSED', `message ${id} is ${why}`);
  }
  const stages = await deps.reprocess(m.channel, id, bounded(`${actionTrace('reprocess requested', actor)} (was: ${m.reason ?? 'dead'})`));
  return { outcome: 'requeued', detail: `${id}: requeued (${stages.join(', ')})` };
}

export interface DiscardDeps {
  store: Pick<MessageStore, 'get' | 'setState' | 'deliveries' | 'setDelivery' | 'openDeliveries'>;
}

/** Destinations a message is still open for: open rows (a first attempt has no delivery row yet) and pending ones. */
async function openFor(store: DiscardDeps['store'], m: { id: string; channel: string; seq: number }): Promise<Map<string, string | null>> {
  const open = new Map<string, string | null>();
  for (const d of await store.deliveries(m.id)) if (d.state === 'pending') open.set(d.destination, d.detail);
  // Rows sort by (seq, destination) and names are never empty: the message's own rows come first.
  for (let after = ''; ; ) {
    const page = (await store.openDeliveries(m.channel, m.seq, after, 64)).filter((o) => o.messageId === m.id);
    for (const o of page) if (!open.has(o.destination)) open.set(o.destination, null);
    if (page.length < 64) return open;
    after = page.at(-1)!.destination;
  }
}

/**
 * Closes a dead-lettered message for good: state `discarded` (terminal: never reprocessed,
 * pruned with the other final messages), its reason saying who, when and why, and any delivery
 * still open for it closed the same way, so no line sends it later. Refused for a message that
 * is not dead: one on its way is not taken out of its line, a final one needs nothing.
 */
export async function discardMessage(deps: DiscardDeps, id: string, reason: string, actor: string): Promise<ActionResult> {
  checkActor(actor);
  const why = operatorText(reason, 'a reason to discard a message', true)!;
  const m = await deps.store.get(id);
  if (!m) throw new PasserelleError('PSL_MESSAGE_MISSING', `no message ${id} in the store`);
  if (m.state !== 'dead') {
    throw new PasserelleError('PSL_DISCARD_REFUSED', `message ${id} is ${m.state}${m.state === 'discarded' ? ' already' : ''}; only a dead message is discarded`);
  }
  const trace = `${actionTrace('discarded', actor)}: ${why}`;
  // Open deliveries first: a destination that fails later would otherwise mark the message dead again.
  const open = await openFor(deps.store, m);
  for (const [dest, detail] of open) await deps.store.setDelivery(id, dest, 'dead', bounded(`${trace} (was: ${detail ?? 'not yet delivered'})`), false);
  await deps.store.setState(id, 'discarded', bounded(`${trace} (was: ${m.reason ?? 'dead'})`));
  const names = [...open.keys()];
  const closed = names.length > 0 ? `; ${names.length} open deliver${names.length === 1 ? 'y' : 'ies'} closed (${names.join(', ')})` : '';
  return { outcome: 'discarded', detail: `${id}: discarded${closed}` };
}

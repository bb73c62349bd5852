/**
 * Messages: search (store.searchMessages, newest first, paged by seq), one message's life
 * (state, reason, ACK, deliveries, search keys, reports), its segments and long values on demand,
 * and the raw HL7 (operators). Lists never carry payloads.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext, ConsoleRoutes } from '../context';
import type { DeliveryRecord, MessageKey, MessageQuery, MessageState, StoredMessage } from '../../store/types';
import { badRequest, consoleError, dateParam, intParam, json, maskTail, notFound, seesIdentity, userOf } from './common';
import { FIELD_CHUNK, SEGMENT_PAGE, decodeStored, fieldValue, loadMessage, segmentCount, segmentViews, viewerMayLoad, type SegmentView } from './segments';
import { parsePath } from '../../hl7';

export const STATES: readonly MessageState[] = ['received', 'processing', 'routed', 'done', 'filtered', 'refused', 'dead', 'discarded'];
export const PAGE_SIZE = 50;

export interface MessageSummary {
  id: string;
  seq: number;
  channel: string;
  controlId: string;
  messageType: string;
  state: MessageState;
  /** First 300 characters of the reason. */
  reason: string | null;
  receivedAt: string;
  updatedAt: string;
}

export function summary(m: StoredMessage): MessageSummary {
  return {
    id: m.id,
    seq: m.seq,
    channel: m.channel,
    controlId: m.controlId,
    messageType: m.messageType,
    state: m.state,
    reason: m.reason && m.reason.length > 300 ? `${m.reason.slice(0, 300)}…` : m.reason,
    receivedAt: m.receivedAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

export type SearchParams = Partial<Record<'channel' | 'state' | 'from' | 'to' | 'controlId' | 'order' | 'patient' | 'ins' | 'before' | 'limit', string>>;

/** A MessageQuery from query-string parameters (the API's and the browser page's form alike). */
export function messageQuery(p: SearchParams): MessageQuery {
  const trim = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const state = trim(p.state);
  if (state !== undefined && !STATES.includes(state as MessageState)) throw badRequest(`state must be one of ${STATES.join(', ')}`);
  const before = p.before ? intParam(p.before, 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
  return {
    channel: trim(p.channel),
    state: state as MessageState | undefined,
    from: dateParam(trim(p.from), 'from'),
    to: dateParam(trim(p.to), 'to'),
    controlId: trim(p.controlId),
    order: trim(p.order),
    patient: trim(p.patient),
    ins: trim(p.ins)?.replace(/\s/g, ''),
    beforeSeq: before,
    limit: intParam(p.limit, PAGE_SIZE, 1, 200),
  };
}

export interface SearchPage {
  messages: MessageSummary[];
  /** `before` for the next (older) page; null on the last one. */
  next: number | null;
}

/** Runs a search; a search by patient id or INS is a view of patient data, so it is audited. */
export async function search(ctx: ConsoleContext, req: FastifyRequest, q: MessageQuery): Promise<SearchPage> {
  if (q.ins || q.patient) {
    // The identifier itself is not written to the audit log: the target says which kind was looked up.
    await ctx.audit(req, { action: 'message.search', target: q.ins ? 'ins' : 'patient', patient: true });
  }
  // One more than the page tells whether an older page exists.
  const rows = await ctx.store.searchMessages({ ...q, limit: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return { messages: page.map(summary), next: rows.length > q.limit ? page[page.length - 1]!.seq : null };
}

export interface MessageDetail {
  message: MessageSummary & { sender: string; orderingKey: string; charset: string; reasonFull: string | null };
  ack: string;
  deliveries: (Omit<DeliveryRecord, 'updatedAt'> & { updatedAt: string })[];
  /** Destinations of its channel with no delivery recorded yet (routed, waiting behind a failing destination's gate). */
  notAttempted: string[];
  keys: (MessageKey & { masked: boolean })[];
  reports: { lab: string; fillerOrder: string }[];
  segments: { count: number; page: number };
  parseError?: string;
  bytes: number;
}

export function maskKey(k: MessageKey, identity: boolean): MessageKey & { masked: boolean } {
  if (identity || k.kind === 'order') return { ...k, masked: false };
  return { kind: k.kind, value: maskTail(k.value), masked: true };
}

export type MessageFacts = Pick<MessageDetail, 'message' | 'deliveries' | 'notAttempted'>;

/** A message's state, reason and deliveries: no payload, no identity (what a refresh after an action needs). */
export async function messageFacts(ctx: ConsoleContext, req: FastifyRequest, id: string): Promise<MessageFacts> {
  const stored = await ctx.store.get(id);
  if (!stored) throw notFound(`message ${id}`);
  return factsOf(ctx, stored, await ctx.store.deliveries(id), seesIdentity(req));
}

function factsOf(ctx: ConsoleContext, stored: StoredMessage, deliveries: DeliveryRecord[], identity: boolean): MessageFacts {
  // Routed (some destination recorded, or the state says so): the others have not been tried yet.
  const routed = stored.state === 'routed' || deliveries.length > 0;
  const destinations = ctx.engine.channelStatuses().find((c) => c.name === stored.channel)?.destinations ?? [];
  return {
    message: { ...summary(stored), sender: stored.sender, orderingKey: shownKey(stored.orderingKey, identity), charset: stored.charset, reasonFull: stored.reason },
    deliveries: deliveries.map((d) => ({ ...d, updatedAt: d.updatedAt.toISOString() })),
    notAttempted: routed ? destinations.map((d) => d.name).filter((n) => !deliveries.some((d) => d.destination === n)) : [],
  };
}

/** An ordering key by patient (`patient:<id>|<authority>`) is an identifier: viewers see its last characters. */
function shownKey(key: string, identity: boolean): string {
  return identity || !key.startsWith('patient:') ? key : `patient:${maskTail(key.slice('patient:'.length).split('|')[0]!)}`;
}

/** One message's life; audited as a view of patient data. */
export async function messageDetail(ctx: ConsoleContext, req: FastifyRequest, id: string): Promise<MessageDetail & { segmentViews: SegmentView[] }> {
  const loaded = await loadMessage(ctx.store, id);
  await ctx.audit(req, { action: 'message.view', target: id, patient: true });
  const identity = seesIdentity(req);
  const { stored } = loaded;
  const [deliveries, keys] = await Promise.all([ctx.store.deliveries(id), ctx.store.messageKeys(id)]);
  const reports: { lab: string; fillerOrder: string }[] = [];
  for (const k of keys.filter((x) => x.kind === 'order')) {
    for (const r of await ctx.store.reportsByFillerOrder(k.value)) {
      if (!reports.some((x) => x.lab === r.lab && x.fillerOrder === r.fillerOrder)) reports.push({ lab: r.lab, fillerOrder: r.fillerOrder });
    }
  }
  return {
    ...factsOf(ctx, stored, deliveries, identity),
    ack: decodeStored(stored.ack, stored.charset),
    keys: keys.map((k) => maskKey(k, identity)),
    reports,
    segments: { count: loaded.message ? segmentCount(loaded.message) : 0, page: SEGMENT_PAGE },
    ...(loaded.parseError ? { parseError: loaded.parseError } : {}),
    bytes: loaded.text.length,
    segmentViews: loaded.message ? segmentViews(loaded.message, 0, SEGMENT_PAGE, identity) : [],
  };
}

export async function segmentsPage(ctx: ConsoleContext, req: FastifyRequest, id: string, from: number): Promise<{ from: number; count: number; segments: SegmentView[] }> {
  const loaded = await loadMessage(ctx.store, id);
  await ctx.audit(req, { action: 'message.segments', target: id, patient: true });
  if (!loaded.message) return { from, count: 0, segments: [] };
  return { from, count: segmentCount(loaded.message), segments: segmentViews(loaded.message, from, SEGMENT_PAGE, seesIdentity(req)) };
}

type IdReq = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>;

export const messageRoutes: ConsoleRoutes = (app: FastifyInstance, ctx: ConsoleContext) => {
  app.get('/api/messages', json(async (req: FastifyRequest<{ Querystring: SearchParams }>) => search(ctx, req, messageQuery(req.query))));

  app.get('/api/messages/:id', json(async (req: IdReq) => {
    const { segmentViews: segs, ...detail } = await messageDetail(ctx, req, req.params.id);
    return { ...detail, firstSegments: segs };
  }));

  app.get('/api/messages/:id/state', json(async (req: IdReq) => messageFacts(ctx, req, req.params.id)));

  app.get('/api/messages/:id/segments', json(async (req: IdReq) => segmentsPage(ctx, req, req.params.id, intParam(req.query.from, 0, 0, 10_000_000))));

  app.get('/api/messages/:id/field', json(async (req: IdReq) => {
    const path = req.query.path ?? '';
    try {
      parsePath(path);
    } catch {
      throw badRequest(`path: not an HL7 path (${path.slice(0, 40)})`);
    }
    // Viewers never get identity values, nor embedded documents (a PDF names the patient).
    if (!seesIdentity(req) && !viewerMayLoad(path)) {
      throw consoleError('PSL_CONSOLE_FORBIDDEN', `${userOf(req).role}s do not see ${path.slice(0, 3)} values in full`);
    }
    const loaded = await loadMessage(ctx.store, req.params.id);
    await ctx.audit(req, { action: 'message.field', target: `${req.params.id} ${path}`, patient: true });
    if (!loaded.message) throw badRequest('the message does not parse: no field can be read');
    return fieldValue(loaded.message, path, intParam(req.query.offset, 0, 0, 1 << 30), intParam(req.query.limit, FIELD_CHUNK, 1, 1 << 20));
  }));

  // The whole message as received, decoded: operators only (it carries the full identity).
  app.get('/api/messages/:id/raw', { config: { role: 'operator' } }, json(async (req: IdReq, reply) => {
    const loaded = await loadMessage(ctx.store, req.params.id);
    await ctx.audit(req, { action: 'message.raw', target: req.params.id, patient: true });
    return reply
      .type('text/plain; charset=utf-8')
      .header('content-disposition', `inline; filename="${loaded.stored.controlId.replace(/[^A-Za-z0-9._-]/g, '_') || loaded.stored.id}.hl7.txt"`)
      .send(loaded.text.replace(/\r/g, '\r\n'));
  }));
};

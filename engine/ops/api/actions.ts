/**
 * Operators' actions from the console: the engine's own action functions (the CLI calls the
 * same ones), with the signed-in user as actor. Each attempt is audited with its outcome,
 * refused or not. JSON in, JSON out: `{outcome, detail}` or `{code, message}`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext, ConsoleRoutes } from '../context';
import { errorCodeOf } from '../../errors';
import type { ActionResult } from '../../operator-action';
import { discardMessage, reprocessMessage } from '../../channels/message-actions';
import { cancelVersionDelivery, resendVersionDelivery, type VersionDeliveryRef } from '../../delivery/version-actions';
import { publishReportNow } from '../../documents/publish-now';
import { releaseParkedResult, releaseParkedSubOrder, type ParkedDecision } from '../../reports/parked-actions';
import { reportFromJson } from '../../reports';
import { PasserelleError } from '../../errors';
import type { ReportPublisher } from '../../documents/report-publisher';
import { badRequest, json, notFound, userOf } from './common';

/** `console:alice` (session) or `token:nightly` (API token): what the action's trace names. */
export function actorOf(req: FastifyRequest): string {
  const u = userOf(req);
  return `${u.via === 'token' ? 'token' : 'console'}:${u.name}`;
}

/** Runs an action and audits it, whatever came of it. */
export async function audited(ctx: ConsoleContext, req: FastifyRequest, action: string, target: string, run: () => Promise<ActionResult>): Promise<ActionResult> {
  try {
    const r = await run();
    await ctx.audit(req, { action, target, detail: r.outcome });
    return r;
  } catch (e) {
    await ctx.audit(req, { action, target, detail: `refused: ${errorCodeOf(e)}` });
    throw e;
  }
}

function deliveryRef(body: unknown): VersionDeliveryRef & { lab: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  const version = Number(b.version);
  if (typeof b.lab !== 'string' || typeof b.fillerOrder !== 'string' || typeof b.target !== 'string' || !Number.isInteger(version) || version < 1) {
    throw badRequest('a delivery is named by lab, fillerOrder, version and target');
  }
  return { lab: b.lab, fillerOrder: b.fillerOrder, version, target: b.target };
}

/** The running publisher of the channel a report's latest message came through. */
async function publisherOf(ctx: ConsoleContext, lab: string, fillerOrder: string): Promise<Pick<ReportPublisher, 'publish'>> {
  const row = await ctx.store.getReport(lab, fillerOrder);
  if (!row) throw notFound(`report ${fillerOrder} of ${lab}`);
  const last = reportFromJson(row.state).messages.at(-1);
  const channel = last ? (await ctx.store.get(last))?.channel : undefined;
  const publisher = channel ? ctx.engine.reportPublisher(channel) : undefined;
  if (!publisher) throw new PasserelleError('PSL_PUBLISH_NO_DESTINATION', `report ${fillerOrder}: its channel${channel ? ` ${channel}` : ''} runs no reports destination in this engine process`);
  return publisher;
}

function decisionOf(v: unknown): ParkedDecision {
  if (v !== 'accept' && v !== 'drop') throw badRequest('decision: accept or drop');
  return v;
}

type ReportReq = FastifyRequest<{ Params: { lab: string; filler: string }; Body: { note?: string; item?: string; subOrder?: string; decision?: string } | undefined }>;

type IdReq = FastifyRequest<{ Params: { id: string }; Body: { reason?: string } | undefined }>;
const OPERATOR = { config: { role: 'operator' as const } };

export const actionRoutes: ConsoleRoutes = (app: FastifyInstance, ctx: ConsoleContext) => {
  app.post('/api/messages/:id/reprocess', OPERATOR, json(async (req: IdReq) =>
    audited(ctx, req, 'message.reprocess', req.params.id, () =>
      reprocessMessage({ store: ctx.store, reprocess: (channel, id, note) => ctx.engine.reprocess(channel, id, note) }, req.params.id, actorOf(req)),
    ),
  ));

  app.post('/api/messages/:id/discard', OPERATOR, json(async (req: IdReq) =>
    audited(ctx, req, 'message.discard', req.params.id, () => discardMessage({ store: ctx.store }, req.params.id, req.body?.reason ?? '', actorOf(req))),
  ));

  app.post('/api/reports/:lab/:filler/publish', OPERATOR, json(async (req: ReportReq) => {
    const { lab, filler } = req.params;
    return audited(ctx, req, 'report.publish', `${lab}/${filler}`, async () =>
      publishReportNow({ store: ctx.store, publisher: await publisherOf(ctx, lab, filler) }, { lab, fillerOrder: filler }, actorOf(req), req.body?.note),
    );
  }));

  app.post('/api/reports/:lab/:filler/parked/release', OPERATOR, json(async (req: ReportReq) => {
    const { lab, filler } = req.params;
    const item = req.body?.item;
    if (!item) throw badRequest('item: the parked item id (<message id>/<observation key>)');
    const decision = decisionOf(req.body?.decision);
    return audited(ctx, req, `report.parked.${decision}`, `${lab}/${filler} ${item}`, async () =>
      releaseParkedResult({ store: ctx.store, publisher: await publisherOf(ctx, lab, filler) }, { lab, fillerOrder: filler, item }, decision, actorOf(req), req.body?.note),
    );
  }));

  app.post('/api/reports/:lab/:filler/suborders/release', OPERATOR, json(async (req: ReportReq) => {
    const { lab, filler } = req.params;
    const subOrder = req.body?.subOrder;
    if (!subOrder) throw badRequest('subOrder: the sub-order number whose results are parked');
    const decision = decisionOf(req.body?.decision);
    return audited(ctx, req, `report.suborder.${decision}`, `${lab}/${filler} ${subOrder}`, async () =>
      releaseParkedSubOrder({ store: ctx.store, publisher: await publisherOf(ctx, lab, filler) }, { lab, fillerOrder: filler, subOrder }, decision, actorOf(req), req.body?.note),
    );
  }));

  app.post('/api/deliveries/resend', OPERATOR, json(async (req: FastifyRequest<{ Body: unknown }>) => {
    const ref = deliveryRef(req.body);
    return audited(ctx, req, 'delivery.resend', `${ref.lab}/${ref.fillerOrder}/v${ref.version}/${ref.target}`, () => resendVersionDelivery({ store: ctx.store, lines: ctx.engine.versionLines() }, ref, actorOf(req)));
  }));

  app.post('/api/deliveries/cancel', OPERATOR, json(async (req: FastifyRequest<{ Body: unknown }>) => {
    const ref = deliveryRef(req.body);
    return audited(ctx, req, 'delivery.cancel', `${ref.lab}/${ref.fillerOrder}/v${ref.version}/${ref.target}`, () => cancelVersionDelivery({ store: ctx.store }, ref, actorOf(req)));
  }));
};

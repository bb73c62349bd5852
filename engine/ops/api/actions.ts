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
import { badRequest, json, userOf } from './common';

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

type IdReq = FastifyRequest<{ Params: { id: string }; Body: { reason?: string } | undefined }>;
const OPERATOR = { config: { role: 'operator' as const } };

export const actionRoutes: ConsoleRoutes = (app: FastifyInstance, ctx: ConsoleContext) => {
  app.post('/api/messages/:id/reprocess', OPERATOR, json(async (req: IdReq) =>
    audited(ctx, req, 'message.reprocess', req.params.id, () =>
      reprocessMessage({ store: ctx.store, reprocess: (channel, id) => ctx.engine.reprocess(channel, id) }, req.params.id, actorOf(req)),
    ),
  ));

  app.post('/api/messages/:id/discard', OPERATOR, json(async (req: IdReq) =>
    audited(ctx, req, 'message.discard', req.params.id, () => discardMessage({ store: ctx.store }, req.params.id, req.body?.reason ?? '', actorOf(req))),
  ));

  app.post('/api/deliveries/resend', OPERATOR, json(async (req: FastifyRequest<{ Body: unknown }>) => {
    const ref = deliveryRef(req.body);
    return audited(ctx, req, 'delivery.resend', `${ref.lab}/${ref.fillerOrder}/v${ref.version}/${ref.target}`, () => resendVersionDelivery({ store: ctx.store }, ref, actorOf(req)));
  }));

  app.post('/api/deliveries/cancel', OPERATOR, json(async (req: FastifyRequest<{ Body: unknown }>) => {
    const ref = deliveryRef(req.body);
    return audited(ctx, req, 'delivery.cancel', `${ref.lab}/${ref.fillerOrder}/v${ref.version}/${ref.target}`, () => cancelVersionDelivery({ store: ctx.store }, ref, actorOf(req)));
  }));
};

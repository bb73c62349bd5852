/**
 * Report version deliveries (DMP, MSSanté, PFI and their receipts) for operators: by state or
 * by filler order number, newest first; per kind with their last failures.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext, ConsoleRoutes } from '../context';
import type { StoredVersionDelivery } from '../../store/types';
import { versionDeliveryId } from '../../delivery/version-actions';
import { badRequest, intParam, json } from './common';

const STATES: readonly StoredVersionDelivery['state'][] = ['queued', 'sent', 'held', 'dead', 'acknowledged', 'failed'];

export const deliveryRoutes: ConsoleRoutes = (app: FastifyInstance, ctx: ConsoleContext) => {
  app.get('/api/deliveries', json(async (req: FastifyRequest<{ Querystring: { state?: string; filler?: string; limit?: string } }>) => {
    const state = req.query.state || undefined;
    if (state !== undefined && !STATES.includes(state as StoredVersionDelivery['state'])) throw badRequest(`state must be one of ${STATES.join(', ')}`);
    const rows = await ctx.store.findVersionDeliveries({
      ...(state ? { state: state as StoredVersionDelivery['state'] } : {}),
      ...(req.query.filler ? { fillerOrder: req.query.filler } : {}),
      limit: intParam(req.query.limit, 100, 1, 1000),
    });
    return rows.map((d) => ({ id: versionDeliveryId(d), ...d, updatedAt: d.updatedAt.toISOString() }));
  }));

  app.get('/api/deliveries/stats', json(async () =>
    (await ctx.store.versionDeliveryStats()).map((s) => ({
      ...s,
      oldestQueuedAt: s.oldestQueuedAt?.toISOString() ?? null,
      lastFailures: s.lastFailures.map((f) => ({ ...f, at: f.at.toISOString() })),
    })),
  ));
};

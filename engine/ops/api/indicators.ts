/**
 * Ségur indicators (TBB.01 / TBB.03, engine/reports/indicators.ts): per month, year and
 * previous year of a reference date, per geographic FINESS and RPPS; JSON and the CSV extract
 * (docs/indicators.md). Counts only: no patient data.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext, ConsoleRoutes } from '../context';
import { indicatorsCsv, loadIndicators, type IndicatorGroup } from '../../reports/indicators';
import { badRequest, json } from './common';

/** The reference date: `YYYY-MM` (that month), `YYYY-MM-DD`, or today. */
export function referenceDate(at: string | undefined, now = new Date()): Date {
  if (!at) return now;
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(at.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw badRequest('at: a month (YYYY-MM) or a day (YYYY-MM-DD)');
  return new Date(Number(m[1]), Number(m[2]) - 1, m[3] ? Number(m[3]) : 1, 12);
}

export function indicators(ctx: ConsoleContext, at: string | undefined): Promise<IndicatorGroup[]> {
  return loadIndicators(ctx.store, referenceDate(at));
}

type AtReq = FastifyRequest<{ Querystring: { at?: string } }>;

export const indicatorRoutes: ConsoleRoutes = (app: FastifyInstance, ctx: ConsoleContext) => {
  app.get('/api/indicators', json(async (req: AtReq) =>
    (await indicators(ctx, req.query.at)).map((g) => ({ ...g, period: { ...g.period, from: g.period.from.toISOString(), to: g.period.to.toISOString() } })),
  ));

  app.get('/api/indicators.csv', json(async (req: AtReq, reply) => {
    const groups = await indicators(ctx, req.query.at);
    await ctx.audit(req, { action: 'indicators.export', target: groups[0]?.period.label ?? referenceDate(req.query.at).toISOString().slice(0, 7) });
    const label = groups[0]?.period.label ?? 'empty';
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="passerelle-indicateurs-${label}.csv"`)
      .send(indicatorsCsv(groups));
  }));
};

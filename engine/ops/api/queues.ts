import type { PlatformRoutes } from '../platform';
import { ageSeconds, queueOverview } from '../queue-overview';

/**
 * GET /api/queues: per channel, the inbound stage and each destination — depth (open
 * deliveries), oldest message age, throughput over 1 / 5 / 60 min, dead count, failures with
 * their last reasons, the breaker, BullMQ jobs per stage — then the report-version lines.
 */
export const queueRoutes: PlatformRoutes = (app, p) => {
  app.get('/api/queues', async () => {
    const o = await queueOverview(p.store, p.engine);
    const now = o.at;
    return {
      at: now.toISOString(),
      channels: o.channels.map(({ channel, stats, jobs, error }) => {
        const stage = (name: string): Omit<NonNullable<typeof jobs>[number], 'stage'> | null => {
          const j = jobs?.find((s) => s.stage === name);
          return j ? { waiting: j.waiting, active: j.active, delayed: j.delayed, failed: j.failed } : null;
        };
        return {
          name: channel.name,
          state: channel.state,
          ...(error ? { error } : {}),
          inbound: stats
            ? {
                counts: stats.counts,
                received: stats.received,
                oldestAt: stats.oldestInboundAt?.toISOString() ?? null,
                oldestAgeSeconds: ageSeconds(stats.oldestInboundAt, now),
                jobs: stage('in'),
              }
            : null,
          destinations: channel.destinations.map((d) => {
            const s = stats?.destinations.find((x) => x.destination === d.name);
            return {
              name: d.name,
              type: d.type,
              failing: d.failing,
              ...(s
                ? {
                    open: s.open,
                    oldestOpenAt: s.oldestOpenAt?.toISOString() ?? null,
                    oldestAgeSeconds: ageSeconds(s.oldestOpenAt, now),
                    dead: s.dead,
                    delivered: s.delivered,
                    lastFailures: s.lastFailures.map((f) => ({ ...f, at: f.at.toISOString() })),
                  }
                : {}),
              jobs: stage(`dest.${d.name}`),
            };
          }),
        };
      }),
      versionDeliveries:
        o.versionDeliveries?.map((v) => ({
          ...v,
          oldestQueuedAt: v.oldestQueuedAt?.toISOString() ?? null,
          oldestAgeSeconds: ageSeconds(v.oldestQueuedAt, now),
          lastFailures: v.lastFailures.map((f) => ({ ...f, at: f.at.toISOString() })),
        })) ?? null,
      ...(o.versionDeliveriesError ? { versionDeliveriesError: o.versionDeliveriesError } : {}),
    };
  });
};

import { MetricsCollector } from '../metrics-collector';
import type { PlatformRoutes } from '../platform';

/** GET /metrics (Prometheus text format): a viewer's session or token, or public with PASSERELLE_METRICS_PUBLIC=1. */
export const metricsRoutes: PlatformRoutes = (app, p) => {
  const collector = new MetricsCollector(p.store, p.engine);
  app.get('/metrics', { config: { public: p.config.metricsPublic, role: 'viewer' } }, async (_req, reply) => {
    const text = await collector.metrics();
    return reply.type(collector.contentType).send(text);
  });
};

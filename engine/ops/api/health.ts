import { waitAtMost } from '../../runtime/deadline';
import type { PlatformRoutes } from '../platform';

const CHECK_MS = 2000;

/** A check that answers in time and without an error. */
async function passes(check: () => Promise<unknown>): Promise<boolean> {
  let ok = false;
  await waitAtMost(
    check().then(
      () => (ok = true),
      () => undefined,
    ),
    CHECK_MS,
  );
  return ok;
}

/**
 * Liveness: the process answers. Readiness: Redis and the store answer (503 otherwise);
 * destinations whose breaker is open here are named (status `degraded`, still 200: the engine
 * keeps taking messages in, they wait for the destination). Public, so nothing beyond names.
 */
export const healthRoutes: PlatformRoutes = (app, p) => {
  app.get('/api/health/live', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/api/health/ready', { config: { public: true } }, async (_req, reply) => {
    const [redis, store] = await Promise.all([passes(() => p.redis.ping()), passes(() => p.store.get('readiness-probe'))]);
    const failing = [
      ...(redis ? [] : ['redis']),
      ...(store ? [] : ['store']),
      ...p.engine.channelStatuses().flatMap((c) => c.destinations.filter((d) => d.failing).map((d) => `${c.name}/${d.name}`)),
    ];
    const status = !redis || !store ? 'failing' : failing.length > 0 ? 'degraded' : 'ok';
    return reply.code(status === 'failing' ? 503 : 200).send({ status, failing });
  });
};

import fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { errorCodeOf } from '../errors';
import type { Logger } from '../runtime/logger';
import { apiError, escapeHtml, isApiUrl, publicMessage, simplePage, statusOf } from './http';

export interface ServerOptions {
  /** PEM certificate and key: HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
  trustProxy: boolean;
  logger: Logger;
}

/**
 * Pages may set their own (a CDA narrative, a PDF viewer); this is what a response without one
 * gets: our own origin only, no inline script, framing by the console itself only.
 */
const DEFAULT_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'";

/**
 * The console's fastify app before any route: form bodies, error and not-found
 * answers (JSON for the API, a small page otherwise), security headers. Nothing here logs
 * request bodies or URLs at info: URLs may hold patient identifiers (searches by INS).
 */
export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  // fastify types an HTTPS instance apart; routes are written against the plain one.
  const app = fastify({
    logger: false,
    trustProxy: o.trustProxy,
    bodyLimit: 1 << 20,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...(o.tls ? { https: { cert: o.tls.cert, key: o.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  await app.register(formbody);

  app.setErrorHandler((err, req, reply) => {
    const status = statusOf(err);
    const code = errorCodeOf(err);
    if (status >= 500) o.logger.error('console request failed', { code, error: (err as Error)?.message, state: status });
    const message = publicMessage(err, status);
    if (isApiUrl(req.url)) return apiError(reply, status, status === 400 && code === 'PSL_INTERNAL' ? 'bad_request' : code, message);
    return reply.code(status).type('text/html; charset=utf-8').send(simplePage('Error', `<p>${escapeHtml(message)}</p><p><a href="/">Back</a></p>`));
  });

  app.setNotFoundHandler((req, reply) => {
    if (isApiUrl(req.url)) return apiError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).type('text/html; charset=utf-8').send(simplePage('Not found', '<p>No such page.</p><p><a href="/">Back</a></p>'));
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'same-origin');
    if (!reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', DEFAULT_CSP);
    if (!reply.hasHeader('X-Frame-Options')) reply.header('X-Frame-Options', 'SAMEORIGIN');
    // Patient data must not linger in shared caches or the browser's history cache.
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    if (o.tls) reply.header('Strict-Transport-Security', 'max-age=31536000');
    return payload;
  });
  return app;
}

import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** The pages' assets (engine/ops/web/static, copied beside the compiled console by `npm run build`). */
export const STATIC_DIR = resolve(__dirname, 'web', 'static');

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * GET /static/<path>: public (the login page needs its stylesheet), only files of known types
 * inside the folder; revalidated by ETag so a new build shows at once.
 */
export function registerStatic(app: FastifyInstance, dir: string = STATIC_DIR): void {
  const root = resolve(dir);
  app.get<{ Params: { '*': string } }>('/static/*', { config: { public: true } }, async (req, reply) => {
    const rel = req.params['*'];
    const file = resolve(root, rel);
    const type = TYPES[extname(file).toLowerCase()];
    if (!type || !file.startsWith(root + sep) || rel.includes('\0')) return reply.callNotFound();
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return reply.callNotFound();
    const etag = `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
    reply.header('ETag', etag).header('Cache-Control', 'no-cache');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type(type).send(await readFile(file));
  });
}


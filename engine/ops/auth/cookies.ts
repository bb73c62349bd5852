import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The one cookie the console sets, read and written here: @fastify/cookie loads its parser with
 * a dynamic import() of an ES module, which jest's CommonJS runtime refuses.
 */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** HttpOnly, SameSite=Strict, whole console; Secure whenever the browser came over HTTPS. No Max-Age: the server ends sessions. */
export function setCookie(reply: FastifyReply, name: string, value: string, secure: boolean): void {
  appendSetCookie(reply, `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`);
}

export function clearCookie(reply: FastifyReply, name: string, secure: boolean): void {
  appendSetCookie(reply, `${name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`);
}

function appendSetCookie(reply: FastifyReply, line: string): void {
  const prev = reply.getHeader('set-cookie');
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
  reply.header('set-cookie', [...list, line]);
}

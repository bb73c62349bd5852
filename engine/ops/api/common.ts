/**
 * What the console's JSON routes and pages share: typed errors ({code, message} with a PSL_
 * code), who is asking, and masking of patient identity for viewers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, PasserelleError, errorCodeOf, type ErrorCode } from '../../errors';
import { roleAtLeast, type ConsoleUser, type Role } from '../context';
import { apiError, publicMessage } from '../http';

/** HTTP status of the codes the console answers with; any other code is a 500 unless retryable (503). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  PSL_CONSOLE_BAD_REQUEST: 400,
  PSL_CONSOLE_FORBIDDEN: 403,
  PSL_CONSOLE_NOT_FOUND: 404,
  PSL_MESSAGE_MISSING: 404,
  PSL_REPROCESS_REFUSED: 409,
  PSL_CONSOLE_CONFLICT: 409,
  PSL_CHANNEL_UNKNOWN: 404,
  PSL_CHANNEL_NOT_RUNNING: 409,
};

export function consoleError(code: ErrorCode, message: string): PasserelleError {
  return new PasserelleError(code, message);
}

export const notFound = (what: string): PasserelleError => consoleError('PSL_CONSOLE_NOT_FOUND', `${what} not found`);
export const badRequest = (why: string): PasserelleError => consoleError('PSL_CONSOLE_BAD_REQUEST', why);

export function statusOf(e: unknown): number {
  const code = errorCodeOf(e) as ErrorCode;
  const known = STATUS[code];
  if (known) return known;
  // Codes the engine's actions add later follow their names: an unknown target, or an action refused in its state.
  if (/_(UNKNOWN|MISSING|NOT_FOUND)$/.test(code)) return 404;
  if (code === 'PSL_ACTION_INVALID') return 400;
  if (/_(REFUSED|CONFLICT|AMBIGUOUS|RECEIPT|HELD|NEWER_SENT|NOT_DEAD|SENT|NOT_PARKED|DISABLED|NOT_RUNNING|NO_DESTINATION)$/.test(code)) return 409;
  if (code in ERROR_CATALOGUE && ERROR_CATALOGUE[code].retry === 'transient') return 503;
  return 500;
}

/** The code and message of a failed call (a catalogued PSL_ code; never a stack, nor an uncoded error's words). */
export function errorBody(e: unknown): { code: string; message: string } {
  const code = errorCodeOf(e);
  const known = code in ERROR_CATALOGUE;
  return { code: known ? code : 'PSL_INTERNAL', message: (known ? publicMessage(e, statusOf(e)) : publicMessage(e, 500)).slice(0, 500) };
}

/** Wraps a JSON handler: errors become the console's API error body ({statusCode, error, code, message}). */
export function json<Req extends FastifyRequest>(handler: (req: Req, reply: FastifyReply) => Promise<unknown>) {
  return async (req: Req, reply: FastifyReply): Promise<unknown> => {
    try {
      return await handler(req, reply);
    } catch (e) {
      const status = statusOf(e);
      // Failures of ours go to the console's error handler, which logs them (code, no patient data).
      if (status >= 500) throw e;
      const body = errorBody(e);
      return apiError(reply, status, body.code, body.message);
    }
  };
}

/** The user the auth hook set; a request without one is treated as the least role. */
export function userOf(req: FastifyRequest): ConsoleUser {
  return req.user ?? { name: 'anonymous', role: 'viewer', via: 'session' };
}

export function can(req: FastifyRequest, role: Role): boolean {
  return roleAtLeast(userOf(req).role, role);
}

/** Operators and admins see the patient's identity; viewers see it masked (INS.03, least privilege). */
export function seesIdentity(req: FastifyRequest): boolean {
  return can(req, 'operator');
}

/** `•••••••••••2345`: only the last characters, enough to tell two patients apart on a screen. */
export function maskTail(value: string, keep = 4): string {
  if (value.length <= keep) return '•'.repeat(value.length);
  return '•'.repeat(Math.min(11, value.length - keep)) + value.slice(-keep);
}

export const MASK = '•••';

/** A bounded integer query parameter. */
export function intParam(v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`expected an integer in [${min}, ${max}], got ${String(v).slice(0, 40)}`);
  return n;
}

export function dateParam(v: unknown, name: string): Date | undefined {
  if (v === undefined || v === '') return undefined;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw badRequest(`${name}: not a date (${String(v).slice(0, 40)})`);
  return d;
}

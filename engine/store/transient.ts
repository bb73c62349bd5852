import { PasserelleError } from '../errors';
import { wrapMethods } from './method-proxy';

/**
 * Store faults that pass: a PostgreSQL restart or a killed backend, a lost socket, SQLite busy
 * or out of disk, the store closing during shutdown. Raw, they would be uncoded and so
 * permanent for `retryClassOf`, and dead-letter the message whose job met them; coded
 * PSL_STORE_TRANSIENT, the job is retried with backoff instead. Faults that retrying cannot
 * fix (constraint, SQL error, bad argument) keep their own error.
 */
export function isTransientStoreFault(e: unknown): boolean {
  if (!e || typeof e !== 'object' || e instanceof PasserelleError) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|INTERRUPT)/.test(code)) return true;
    // PostgreSQL SQLSTATE classes: 08 connection, 40 rollback (serialization/deadlock),
    // 53 insufficient resources, 57 operator intervention (admin shutdown, cannot connect now), 58 system.
    if (/^(08|40|53|57|58)[0-9A-Z]{3}$/.test(code)) return true;
    // Node socket errors (ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT…).
    if (/^E[A-Z]{3,}$/.test(code)) return true;
  }
  const message = (e as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Store: closed|init\(\) has not been called|connection is not open|Connection terminated|Cannot use a pool after calling end|not queryable|timeout exceeded when trying to connect|terminating connection/i.test(
      message,
    )
  );
}

export function storeTransient(e: unknown, operation: string): PasserelleError {
  const detail = e instanceof Error ? e.message : String(e);
  return new PasserelleError('PSL_STORE_TRANSIENT', `store ${operation}: ${detail}`, { cause: e, details: { operation } });
}

function translate(e: unknown, operation: string): unknown {
  return isTransientStoreFault(e) ? storeTransient(e, operation) : e;
}

/**
 * Returns `store` seen through a proxy whose public methods (all but `unguarded`) turn
 * transient faults into PSL_STORE_TRANSIENT, thrown or rejected. Methods run on the store
 * itself, so its internal calls are not wrapped twice. Stores return this from their
 * constructor: every instance is guarded, however it was created.
 */
export function guardStoreErrors<T extends object>(store: T, unguarded: readonly string[]): T {
  return wrapMethods(store, unguarded, (method, name) =>
    function guarded(...args: unknown[]): unknown {
      let out: unknown;
      try {
        out = method(...args);
      } catch (e) {
        throw translate(e, name);
      }
      if (out instanceof Promise) return out.catch((e: unknown) => Promise.reject(translate(e, name)));
      return out;
    },
  );
}

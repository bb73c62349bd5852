/**
 * `target` seen through a proxy whose methods are replaced by `wrap(method, name)` (made once
 * per name), except those in `skip`, which are only bound. Every method, wrapped or not, runs
 * on the target itself, so the target's own calls never meet the proxy. Used to give every store
 * instance the same behaviour around its public calls (transient.ts, sqlite-intake-journal.ts).
 */
export type AnyMethod = (...args: unknown[]) => unknown;

export function wrapMethods<T extends object>(target: T, skip: readonly string[], wrap: (method: AnyMethod, name: string) => AnyMethod): T {
  const direct = new Set(skip);
  const made = new Map<string, AnyMethod>();
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
      let w = made.get(prop);
      if (!w) {
        const method = (value as AnyMethod).bind(t);
        w = direct.has(prop) ? method : wrap(method, prop);
        made.set(prop, w);
      }
      return w;
    },
  });
}

import type { MessageStore } from './types';
import { SqliteStore, type SqliteStoreOptions } from './sqlite';
import { PgStore } from './postgres';

export * from './types';
export { SqliteStore, type SqliteStoreOptions } from './sqlite';
export { PgStore, type PgStoreOptions } from './postgres';
export { newMessageId } from './common';

export type StoreConfig =
  | (Pick<SqliteStoreOptions, 'path' | 'synchronous' | 'intakeThread' | 'intakeJournal' | 'onIntakeEvent'> & { kind: 'sqlite' })
  | { kind: 'postgres'; url: string; schema?: string; poolSize?: number };

/** The configured store, not yet initialised: call `init()` before use. */
export function createStore(cfg: StoreConfig): MessageStore {
  switch (cfg.kind) {
    case 'sqlite':
      return new SqliteStore({ path: cfg.path, synchronous: cfg.synchronous, intakeThread: cfg.intakeThread, intakeJournal: cfg.intakeJournal, onIntakeEvent: cfg.onIntakeEvent });
    case 'postgres':
      return new PgStore({ connectionString: cfg.url, schema: cfg.schema, poolSize: cfg.poolSize });
    default: {
      const kind: never = cfg;
      throw new TypeError(`unknown store kind: ${String((kind as { kind?: unknown }).kind)}`);
    }
  }
}

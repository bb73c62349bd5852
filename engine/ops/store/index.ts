import { dirname, join, resolve } from 'node:path';
import type { EngineConfig } from '../../config/engine-config';
import { storeSettings } from '../../engine';
import { PgConsoleStore } from './pg-console-store';
import { SqliteConsoleStore } from './sqlite-console-store';
import type { ConsoleStore } from './types';

export * from './types';

/**
 * The console store beside the message store: `<store dir>/console.sqlite` for SQLite (its own
 * file, so the console's writes never wait on the intake's), the same schema for PostgreSQL
 * (several engine processes share users, tokens and the audit log). Not initialised.
 */
export function consoleStoreFor(cfg: EngineConfig): ConsoleStore {
  const s = storeSettings(cfg);
  if (s.kind === 'sqlite') return new SqliteConsoleStore(join(dirname(resolve(s.path)), 'console.sqlite'));
  return new PgConsoleStore(s.url, s.schema);
}

import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { ConsoleContext } from './context';
import type { ConsoleConfig } from './config';
import type { Authenticator } from './auth/authenticator';
import type { UserAdmin } from './auth/user-admin';
import type { AuditLog } from './audit-log';
import type { ConsoleStore } from './store/types';

/** What the console platform's own routes get beyond the route modules' ConsoleContext. */
export interface Platform extends ConsoleContext {
  readonly config: ConsoleConfig;
  readonly auth: Authenticator;
  readonly users: UserAdmin;
  readonly auditLog: AuditLog;
  readonly consoleStore: ConsoleStore;
  /** The console's Redis connection (sessions, login limits, readiness). */
  readonly redis: Redis;
  /** The engine's var directory (first admin's password file). */
  readonly varDir: string;
  /** Prefix of the console's Redis keys (`<PASSERELLE_PREFIX>:console:`). */
  readonly keyPrefix: string;
}

export type PlatformRoutes = (app: FastifyInstance, p: Platform) => void | Promise<void>;

import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { EngineConfig } from '../config/engine-config';
import { PasserelleError } from '../errors';
import { redisOptionsFromUrl } from '../runtime/redis';
import type { Logger } from '../runtime/logger';
import type { MessageStore } from '../store/types';
import type { AuditEntry, ConsoleRoutes, EngineControl } from './context';
import type { ConsoleConfig } from './config';
import { AuditLog } from './audit-log';
import { Authenticator } from './auth/authenticator';
import { installAuthHook } from './auth/auth-hook';
import { ensureFirstAdmin } from './auth/first-admin';
import { LoginLimiter } from './auth/login-limiter';
import { SessionStore } from './auth/session-store';
import { UserAdmin } from './auth/user-admin';
import { buildServer } from './server';
import { registerStatic } from './static-files';
import { consoleStoreFor } from './store';
import type { ConsoleStore } from './store/types';
import type { Platform } from './platform';
import { PLATFORM_ROUTES } from './routes';

export interface ConsoleOptions {
  config: ConsoleConfig;
  /** The engine's settings: var directory, Redis, key prefix, store location. */
  engineConfig: EngineConfig;
  store: MessageStore;
  engine: EngineControl;
  logger: Logger;
  /** Route modules of the pages and actions (engine/ops/api API_ROUTES and engine/ops/web WEB_ROUTES in `passerelle start`). */
  routes?: readonly ConsoleRoutes[];
  /** Default: beside the message store (consoleStoreFor). The console closes it. */
  consoleStore?: ConsoleStore;
  /** Default: engine/ops/web/static. */
  staticDir?: string;
}

/**
 * The operations console: one fastify app on PASSERELLE_HTTP_ADDR, its users, sessions, tokens
 * and audit log, the platform's routes (login, channels, queues, health, metrics, users, audit)
 * and the route modules given to it. Started after the engine, stopped before it.
 */
export class Console {
  private app?: FastifyInstance;
  private redis?: Redis;
  private consoleStore?: ConsoleStore;
  private bound?: { host: string; port: number };

  constructor(private readonly o: ConsoleOptions) {}

  /** Where it listens once started (port 0 in the settings: the one the system gave). */
  get address(): { host: string; port: number } | undefined {
    return this.bound;
  }

  /** The base URL once started. */
  get url(): string | undefined {
    if (!this.bound) return undefined;
    const host = this.bound.host.includes(':') ? `[${this.bound.host}]` : this.bound.host;
    return `${this.o.config.tlsCert ? 'https' : 'http'}://${host}:${this.bound.port}`;
  }

  async start(): Promise<void> {
    const { config, engineConfig, logger } = this.o;
    if (!config.listen) {
      logger.info('console off (PASSERELLE_HTTP_ADDR=off)');
      return;
    }
    try {
      await this.open(config.listen);
    } catch (e) {
      await this.stop(0).catch(() => undefined);
      throw e;
    }
    logger.info('console listening', { host: this.bound!.host, port: this.bound!.port, role: engineConfig.role });
  }

  private async open(listen: { host: string; port: number }): Promise<void> {
    const { config, engineConfig, logger } = this.o;
    const tls = config.tlsCert && config.tlsKey ? readTls(config.tlsCert, config.tlsKey) : undefined;
    const keyPrefix = `${engineConfig.prefix}:console:`;
    this.redis = new Redis({ ...redisOptionsFromUrl(engineConfig.redisUrl), maxRetriesPerRequest: 2 });
    this.redis.on('error', () => undefined); // readiness reports it; requests needing it fail with 503
    this.consoleStore = this.o.consoleStore ?? consoleStoreFor(engineConfig);
    await this.consoleStore.init();
    await ensureFirstAdmin(this.consoleStore, engineConfig.varDir, logger);

    const auditLog = new AuditLog(this.consoleStore, logger);
    const auth = new Authenticator(
      this.consoleStore,
      new SessionStore(this.redis, keyPrefix, config.sessionIdleSeconds * 1000, config.sessionMaxSeconds * 1000),
      new LoginLimiter(this.redis, keyPrefix, config.loginMaxFailures, config.loginWindowSeconds * 1000),
    );
    const platform: Platform = {
      store: this.o.store,
      engine: this.o.engine,
      logger,
      audit: (req: FastifyRequest, e: AuditEntry) => auditLog.record(req, e),
      config,
      auth,
      users: new UserAdmin(this.consoleStore),
      auditLog,
      consoleStore: this.consoleStore,
      redis: this.redis,
      varDir: engineConfig.varDir,
      keyPrefix,
    };
    const app = await buildServer({ tls, trustProxy: config.trustProxy, logger });
    this.app = app;
    installAuthHook(app, auth);
    registerStatic(app, this.o.staticDir);
    for (const routes of PLATFORM_ROUTES) await routes(app, platform);
    // Route modules see the contract only (ConsoleContext), not the platform's internals.
    const ctx = { store: platform.store, engine: platform.engine, logger, audit: platform.audit };
    for (const routes of this.o.routes ?? []) await routes(app, ctx);
    try {
      await app.listen({ host: listen.host, port: listen.port });
    } catch (e) {
      throw new PasserelleError('PSL_CONSOLE_LISTEN', `console cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`, { cause: e });
    }
    const addr = app.server.address();
    this.bound = typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : listen;
  }

  /**
   * Stops taking requests, lets those in flight finish within `deadlineMs`, then closes the
   * sockets left, Redis and the console store.
   */
  async stop(deadlineMs: number = this.o.config.closeDeadlineMs): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app) {
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          // Past the deadline: whatever is still open is cut.
          app.server.closeAllConnections?.();
          resolve();
        }, deadlineMs);
      });
      await Promise.race([app.close(), forced]);
      clearTimeout(timer);
    }
    this.redis?.disconnect();
    this.redis = undefined;
    await this.consoleStore?.close();
    this.consoleStore = undefined;
    this.bound = undefined;
  }
}

function readTls(cert: string, key: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } catch (e) {
    throw new PasserelleError('PSL_CONSOLE_LISTEN', `console TLS files unreadable: ${(e as Error).message}`, { cause: e });
  }
}

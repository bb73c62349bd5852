/**
 * The operations console's contract (issue 10): what every route module of engine/ops gets.
 * The console imports the engine; nothing under engine/ (but the CLI, the composition root)
 * imports engine/ops. docs/console.md describes the console.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MessageStore } from '../store/types';
import type { Logger } from '../runtime/logger';
import type { EngineControl } from '../engine-control';

/** viewer: looks (patient identity masked); operator: + reprocess, resend, discard, release, publish; admin: + channels, users, audit. */
export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface ConsoleUser {
  name: string;
  role: Role;
  /** How this request was authenticated. */
  via: 'session' | 'token' | 'oidc';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every route that is not `public`. */
    user?: ConsoleUser;
  }
  interface FastifyContextConfig {
    /** Least role the route needs (default viewer). Checked by the auth hook before the handler. */
    role?: Role;
    /** No login needed (login page, liveness, static assets). */
    public?: boolean;
    /** Reachable by a user who must change their password first (account, password and logout routes only). */
    passwordChange?: boolean;
  }
}

export type { ChannelStatus, EngineControl, StageJobs } from '../engine-control';

export interface AuditEntry {
  /** e.g. `message.view`, `message.reprocess`, `report.view`, `login`, `user.create`. */
  action: string;
  /** What it was about: a message id, `<lab>/<filler order>`, a user name… */
  target: string;
  /** True when patient data was shown (INS.03: every access to an identity is traced). */
  patient?: boolean;
  /** Outcome or parameters, short; never patient data. */
  detail?: string;
}

export interface ConsoleContext {
  readonly store: MessageStore;
  readonly engine: EngineControl;
  readonly logger: Logger;
  /** Appends to the audit log: who (req.user), when, from where (req.ip), what. */
  audit(req: FastifyRequest, entry: AuditEntry): Promise<void>;
}

/** A route module: registers its routes on the app. */
export type ConsoleRoutes = (app: FastifyInstance, ctx: ConsoleContext) => void | Promise<void>;

export type { FastifyReply, FastifyRequest };

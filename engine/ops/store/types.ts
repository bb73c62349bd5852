import type { Role } from '../context';

/**
 * The console's own rows (users, API tokens, audit log), kept in the message store's database
 * family: an SQLite file beside the message store, or the same PostgreSQL schema.
 */
export interface ConsoleUserRow {
  name: string;
  role: Role;
  /** argon2id PHC string. */
  passwordHash: string;
  /** Set for a generated password (first admin, reset): nothing else is allowed until it is changed. */
  mustChangePassword: boolean;
  disabled: boolean;
  /** Bumped by a password change, a reset and a disable: sessions opened before end. */
  authVersion: number;
  createdAt: Date;
  lastLoginAt: Date | null;
}

export type UserPatch = Partial<Pick<ConsoleUserRow, 'role' | 'passwordHash' | 'mustChangePassword' | 'disabled' | 'lastLoginAt'>> & {
  /** Ends the user's sessions (authVersion + 1). */
  endSessions?: boolean;
};

export interface ApiTokenRow {
  /** Public id (shown in lists, used to revoke); the secret is never stored. */
  id: string;
  userName: string;
  label: string;
  role: Role;
  /** SHA-256 (hex) of the whole token. */
  hash: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface AuditRow {
  id: number;
  at: Date;
  /** Console user name, `-` before a login, or the OS user for the CLI. */
  userName: string;
  /** session, token, oidc, cli, or `-`. */
  via: string;
  /** Client address (req.ip), `local` for the CLI. */
  ip: string;
  action: string;
  target: string;
  patient: boolean;
  detail: string | null;
}

export interface AuditQuery {
  user?: string;
  /** Exact, or a prefix when it ends with `.` (e.g. `message.`). */
  action?: string;
  target?: string;
  patient?: boolean;
  /** at >= from */
  from?: Date;
  /** at < to */
  to?: Date;
  /** Page cursor: rows with id < beforeId. */
  beforeId?: number;
  limit: number;
}

export interface ConsoleStore {
  /** Creates the tables if needed. Idempotent; several processes may run it at once. */
  init(): Promise<void>;
  close(): Promise<void>;

  countUsers(): Promise<number>;
  getUser(name: string): Promise<ConsoleUserRow | undefined>;
  listUsers(): Promise<ConsoleUserRow[]>;
  /** False when the name is taken (the first caller wins; first-admin creation relies on it). */
  createUser(u: Pick<ConsoleUserRow, 'name' | 'role' | 'passwordHash' | 'mustChangePassword'>): Promise<boolean>;
  /** False when there is no such user. */
  updateUser(name: string, patch: UserPatch): Promise<boolean>;

  createToken(t: Omit<ApiTokenRow, 'createdAt' | 'revokedAt' | 'lastUsedAt'>): Promise<void>;
  tokenByHash(hash: string): Promise<ApiTokenRow | undefined>;
  listTokens(userName?: string): Promise<ApiTokenRow[]>;
  /** False when no live token has that id. */
  revokeToken(id: string): Promise<boolean>;
  touchToken(id: string, at: Date): Promise<void>;

  appendAudit(row: Omit<AuditRow, 'id'>): Promise<void>;
  /** Newest first. */
  queryAudit(q: AuditQuery): Promise<AuditRow[]>;
}

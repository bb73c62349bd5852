import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Role } from '../context';
import { auditWhere } from './audit-where';
import type { ApiTokenRow, AuditQuery, AuditRow, ConsoleStore, ConsoleUserRow, UserPatch } from './types';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS console_users (
  name                 TEXT    PRIMARY KEY,
  role                 TEXT    NOT NULL,
  password_hash        TEXT    NOT NULL,
  must_change_password INTEGER NOT NULL,
  disabled             INTEGER NOT NULL DEFAULT 0,
  auth_version         INTEGER NOT NULL DEFAULT 1,
  created_at           INTEGER NOT NULL,
  last_login_at        INTEGER
);
CREATE TABLE IF NOT EXISTS console_api_tokens (
  id           TEXT    PRIMARY KEY,
  user_name    TEXT    NOT NULL,
  label        TEXT    NOT NULL,
  role         TEXT    NOT NULL,
  hash         TEXT    NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  revoked_at   INTEGER,
  last_used_at INTEGER
);
CREATE TABLE IF NOT EXISTS console_audit_log (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  user_name TEXT    NOT NULL,
  via       TEXT    NOT NULL,
  ip        TEXT    NOT NULL,
  action    TEXT    NOT NULL,
  target    TEXT    NOT NULL,
  patient   INTEGER NOT NULL,
  detail    TEXT
);
CREATE INDEX IF NOT EXISTS console_audit_at ON console_audit_log (at);
CREATE INDEX IF NOT EXISTS console_audit_user ON console_audit_log (user_name, id);
CREATE INDEX IF NOT EXISTS console_audit_target ON console_audit_log (target, id);
`;

type Row = Record<string, unknown>;
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

/** The console store in its own SQLite file (beside the message store: `<store dir>/console.sqlite`). */
export class SqliteConsoleStore implements ConsoleStore {
  private db?: Database.Database;

  constructor(private readonly path: string) {}

  async init(): Promise<void> {
    if (this.db) return;
    mkdirSync(dirname(resolve(this.path)), { recursive: true });
    const db = new Database(this.path);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL survives a crash of the process; an fsync per audit row would stall the event loop.
    db.pragma('synchronous = NORMAL');
    db.transaction(() => db.exec(SCHEMA)).immediate();
    this.db = db;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  private get d(): Database.Database {
    if (!this.db) throw new Error('SqliteConsoleStore: not initialised');
    return this.db;
  }

  async countUsers(): Promise<number> {
    return Number((this.d.prepare('SELECT count(*) AS n FROM console_users').get() as Row).n);
  }

  async getUser(name: string): Promise<ConsoleUserRow | undefined> {
    const r = this.d.prepare('SELECT * FROM console_users WHERE name = ?').get(name) as Row | undefined;
    return r ? user(r) : undefined;
  }

  async listUsers(): Promise<ConsoleUserRow[]> {
    return (this.d.prepare('SELECT * FROM console_users ORDER BY name').all() as Row[]).map(user);
  }

  async createUser(u: Pick<ConsoleUserRow, 'name' | 'role' | 'passwordHash' | 'mustChangePassword'>): Promise<boolean> {
    const r = this.d
      .prepare('INSERT INTO console_users (name, role, password_hash, must_change_password, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING')
      .run(u.name, u.role, u.passwordHash, u.mustChangePassword ? 1 : 0, Date.now());
    return r.changes === 1;
  }

  async updateUser(name: string, p: UserPatch): Promise<boolean> {
    const sets: string[] = [];
    const args: unknown[] = [];
    const set = (col: string, v: unknown): void => {
      sets.push(`${col} = ?`);
      args.push(v);
    };
    if (p.role !== undefined) set('role', p.role);
    if (p.passwordHash !== undefined) set('password_hash', p.passwordHash);
    if (p.mustChangePassword !== undefined) set('must_change_password', p.mustChangePassword ? 1 : 0);
    if (p.disabled !== undefined) set('disabled', p.disabled ? 1 : 0);
    if (p.lastLoginAt !== undefined) set('last_login_at', p.lastLoginAt ? p.lastLoginAt.getTime() : null);
    if (p.endSessions) sets.push('auth_version = auth_version + 1');
    if (sets.length === 0) return (await this.getUser(name)) !== undefined;
    return this.d.prepare(`UPDATE console_users SET ${sets.join(', ')} WHERE name = ?`).run(...args, name).changes === 1;
  }

  async createToken(t: Omit<ApiTokenRow, 'createdAt' | 'revokedAt' | 'lastUsedAt'>): Promise<void> {
    this.d
      .prepare('INSERT INTO console_api_tokens (id, user_name, label, role, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(t.id, t.userName, t.label, t.role, t.hash, Date.now());
  }

  async tokenByHash(hash: string): Promise<ApiTokenRow | undefined> {
    const r = this.d.prepare('SELECT * FROM console_api_tokens WHERE hash = ?').get(hash) as Row | undefined;
    return r ? token(r) : undefined;
  }

  async listTokens(userName?: string): Promise<ApiTokenRow[]> {
    const rows = userName
      ? this.d.prepare('SELECT * FROM console_api_tokens WHERE user_name = ? ORDER BY created_at, id').all(userName)
      : this.d.prepare('SELECT * FROM console_api_tokens ORDER BY created_at, id').all();
    return (rows as Row[]).map(token);
  }

  async revokeToken(id: string): Promise<boolean> {
    return this.d.prepare('UPDATE console_api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), id).changes === 1;
  }

  async touchToken(id: string, at: Date): Promise<void> {
    this.d.prepare('UPDATE console_api_tokens SET last_used_at = ? WHERE id = ?').run(at.getTime(), id);
  }

  async appendAudit(a: Omit<AuditRow, 'id'>): Promise<void> {
    this.d
      .prepare('INSERT INTO console_audit_log (at, user_name, via, ip, action, target, patient, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(a.at.getTime(), a.userName, a.via, a.ip, a.action, a.target, a.patient ? 1 : 0, a.detail);
  }

  async queryAudit(q: AuditQuery): Promise<AuditRow[]> {
    const where = auditWhere(q, () => '?', (d) => d.getTime(), (b) => (b ? 1 : 0));
    const sql = `SELECT * FROM console_audit_log ${where.sql} ORDER BY id DESC LIMIT ?`;
    return (this.d.prepare(sql).all(...where.args, q.limit) as Row[]).map((r) => ({
      id: Number(r.id),
      at: new Date(Number(r.at)),
      userName: String(r.user_name),
      via: String(r.via),
      ip: String(r.ip),
      action: String(r.action),
      target: String(r.target),
      patient: Number(r.patient) === 1,
      detail: r.detail === null ? null : String(r.detail),
    }));
  }
}

function user(r: Row): ConsoleUserRow {
  return {
    name: String(r.name),
    role: String(r.role) as Role,
    passwordHash: String(r.password_hash),
    mustChangePassword: Number(r.must_change_password) === 1,
    disabled: Number(r.disabled) === 1,
    authVersion: Number(r.auth_version),
    createdAt: new Date(Number(r.created_at)),
    lastLoginAt: date(r.last_login_at),
  };
}

function token(r: Row): ApiTokenRow {
  return {
    id: String(r.id),
    userName: String(r.user_name),
    label: String(r.label),
    role: String(r.role) as Role,
    hash: String(r.hash),
    createdAt: new Date(Number(r.created_at)),
    revokedAt: date(r.revoked_at),
    lastUsedAt: date(r.last_used_at),
  };
}

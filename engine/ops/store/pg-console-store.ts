import { Pool } from 'pg';
import type { Role } from '../context';
import { auditWhere } from './audit-where';
import type { ApiTokenRow, AuditQuery, AuditRow, ConsoleStore, ConsoleUserRow, UserPatch } from './types';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

type Row = Record<string, unknown>;
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string | Date));

/** The console store in the message store's PostgreSQL schema (tables `console_*`). */
export class PgConsoleStore implements ConsoleStore {
  private readonly pool: Pool;
  private readonly t: { users: string; tokens: string; audit: string };

  constructor(connectionString: string, private readonly schema = 'passerelle') {
    if (!SCHEMA_NAME.test(schema)) throw new TypeError(`PgConsoleStore: invalid schema name ${JSON.stringify(schema)}`);
    const q = `"${schema}"`;
    this.t = { users: `${q}.console_users`, tokens: `${q}.console_api_tokens`, audit: `${q}.console_audit_log` };
    // A few connections: the console's queries are small and the message store has its own pool.
    this.pool = new Pool({ connectionString, max: 4, application_name: 'passerelle-console' });
    this.pool.on('error', () => undefined); // a dropped idle connection fails the next query, not the process
  }

  async init(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      // Several processes may start at once: CREATE ... IF NOT EXISTS can still collide.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`passerelle.console.init:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.t.users} (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, must_change_password BOOLEAN NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT false, auth_version INTEGER NOT NULL DEFAULT 1,
        created_at TIMESTAMPTZ NOT NULL, last_login_at TIMESTAMPTZ)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.t.tokens} (
        id TEXT PRIMARY KEY, user_name TEXT NOT NULL, label TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ, last_used_at TIMESTAMPTZ)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.t.audit} (
        id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, user_name TEXT NOT NULL, via TEXT NOT NULL, ip TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, patient BOOLEAN NOT NULL, detail TEXT)`);
      await c.query(`CREATE INDEX IF NOT EXISTS console_audit_at ON ${this.t.audit} (at)`);
      await c.query(`CREATE INDEX IF NOT EXISTS console_audit_user ON ${this.t.audit} (user_name, id)`);
      await c.query(`CREATE INDEX IF NOT EXISTS console_audit_target ON ${this.t.audit} (target, id)`);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows as Row[];
  }

  async countUsers(): Promise<number> {
    return Number((await this.rows(`SELECT count(*) AS n FROM ${this.t.users}`))[0]!.n);
  }

  async getUser(name: string): Promise<ConsoleUserRow | undefined> {
    const r = (await this.rows(`SELECT * FROM ${this.t.users} WHERE name = $1`, [name]))[0];
    return r ? user(r) : undefined;
  }

  async listUsers(): Promise<ConsoleUserRow[]> {
    return (await this.rows(`SELECT * FROM ${this.t.users} ORDER BY name`)).map(user);
  }

  async createUser(u: Pick<ConsoleUserRow, 'name' | 'role' | 'passwordHash' | 'mustChangePassword'>): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO ${this.t.users} (name, role, password_hash, must_change_password, created_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (name) DO NOTHING`,
      [u.name, u.role, u.passwordHash, u.mustChangePassword],
    );
    return r.rowCount === 1;
  }

  async updateUser(name: string, p: UserPatch): Promise<boolean> {
    const sets: string[] = [];
    const args: unknown[] = [name];
    const set = (col: string, v: unknown): void => {
      args.push(v);
      sets.push(`${col} = $${args.length}`);
    };
    if (p.role !== undefined) set('role', p.role);
    if (p.passwordHash !== undefined) set('password_hash', p.passwordHash);
    if (p.mustChangePassword !== undefined) set('must_change_password', p.mustChangePassword);
    if (p.disabled !== undefined) set('disabled', p.disabled);
    if (p.lastLoginAt !== undefined) set('last_login_at', p.lastLoginAt);
    if (p.endSessions) sets.push('auth_version = auth_version + 1');
    if (sets.length === 0) return (await this.getUser(name)) !== undefined;
    return (await this.pool.query(`UPDATE ${this.t.users} SET ${sets.join(', ')} WHERE name = $1`, args)).rowCount === 1;
  }

  async createToken(t: Omit<ApiTokenRow, 'createdAt' | 'revokedAt' | 'lastUsedAt'>): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t.tokens} (id, user_name, label, role, hash, created_at) VALUES ($1, $2, $3, $4, $5, now())`, [
      t.id, t.userName, t.label, t.role, t.hash,
    ]);
  }

  async tokenByHash(hash: string): Promise<ApiTokenRow | undefined> {
    const r = (await this.rows(`SELECT * FROM ${this.t.tokens} WHERE hash = $1`, [hash]))[0];
    return r ? token(r) : undefined;
  }

  async listTokens(userName?: string): Promise<ApiTokenRow[]> {
    const rows = userName
      ? await this.rows(`SELECT * FROM ${this.t.tokens} WHERE user_name = $1 ORDER BY created_at, id`, [userName])
      : await this.rows(`SELECT * FROM ${this.t.tokens} ORDER BY created_at, id`);
    return rows.map(token);
  }

  async revokeToken(id: string): Promise<boolean> {
    return (await this.pool.query(`UPDATE ${this.t.tokens} SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id])).rowCount === 1;
  }

  async touchToken(id: string, at: Date): Promise<void> {
    await this.pool.query(`UPDATE ${this.t.tokens} SET last_used_at = $2 WHERE id = $1`, [id, at]);
  }

  async appendAudit(a: Omit<AuditRow, 'id'>): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.audit} (at, user_name, via, ip, action, target, patient, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [a.at, a.userName, a.via, a.ip, a.action, a.target, a.patient, a.detail],
    );
  }

  async queryAudit(q: AuditQuery): Promise<AuditRow[]> {
    const where = auditWhere(q, (n) => `$${n}`, (d) => d, (b) => b);
    const rows = await this.rows(`SELECT * FROM ${this.t.audit} ${where.sql} ORDER BY id DESC LIMIT $${where.args.length + 1}`, [...where.args, q.limit]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(r.at as Date),
      userName: String(r.user_name),
      via: String(r.via),
      ip: String(r.ip),
      action: String(r.action),
      target: String(r.target),
      patient: r.patient === true,
      detail: r.detail === null ? null : String(r.detail),
    }));
  }
}

function user(r: Row): ConsoleUserRow {
  return {
    name: String(r.name),
    role: String(r.role) as Role,
    passwordHash: String(r.password_hash),
    mustChangePassword: r.must_change_password === true,
    disabled: r.disabled === true,
    authVersion: Number(r.auth_version),
    createdAt: new Date(r.created_at as Date),
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
    createdAt: new Date(r.created_at as Date),
    revokedAt: date(r.revoked_at),
    lastUsedAt: date(r.last_used_at),
  };
}

import { PasserelleError } from '../../errors';
import { ROLES, type Role } from '../context';
import type { ApiTokenRow, ConsoleStore, ConsoleUserRow } from '../store/types';
import { checkNewPassword, generatePassword, hashPassword, verifyPassword } from './passwords';
import { newApiToken } from './tokens';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** A user as lists show it: never the hash. */
export interface UserView {
  name: string;
  role: Role;
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface TokenView {
  id: string;
  user: string;
  label: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export function userView(u: ConsoleUserRow): UserView {
  return {
    name: u.name,
    role: u.role,
    disabled: u.disabled,
    mustChangePassword: u.mustChangePassword,
    createdAt: u.createdAt.toISOString(),
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
  };
}

export function tokenView(t: ApiTokenRow): TokenView {
  return {
    id: t.id, user: t.userName, label: t.label, role: t.role,
    createdAt: t.createdAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null, lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  };
}

export function parseRole(v: unknown): Role {
  if (typeof v === 'string' && (ROLES as readonly string[]).includes(v)) return v as Role;
  throw new PasserelleError('PSL_CONFIG_INVALID', `role must be one of ${ROLES.join(', ')}`);
}

/**
 * User and token administration, shared by the console's API and the `passerelle user` CLI
 * (both audit what they do). Never leaves the console without an enabled admin.
 */
export class UserAdmin {
  constructor(private readonly store: ConsoleStore) {}

  /** Without a password one is generated, returned once, and must be changed at first login. */
  async create(name: string, role: Role, password?: string): Promise<{ user: UserView; password?: string }> {
    if (!NAME.test(name)) throw new PasserelleError('PSL_CONFIG_INVALID', 'a user name is 1-64 letters, digits, . _ @ -, starting with a letter or digit');
    const generated = password === undefined ? generatePassword() : undefined;
    if (password !== undefined) checkNewPassword(password);
    const created = await this.store.createUser({ name, role: parseRole(role), passwordHash: await hashPassword(password ?? generated!), mustChangePassword: !!generated });
    if (!created) throw new PasserelleError('PSL_USER_CONFLICT', `user ${name} exists already`);
    return { user: userView(await this.get(name)), ...(generated ? { password: generated } : {}) };
  }

  async get(name: string): Promise<ConsoleUserRow> {
    const u = await this.store.getUser(name);
    if (!u) throw new PasserelleError('PSL_USER_UNKNOWN', `no user ${name}`);
    return u;
  }

  async list(): Promise<UserView[]> {
    return (await this.store.listUsers()).map(userView);
  }

  async setRole(name: string, role: Role): Promise<UserView> {
    const u = await this.get(name);
    if (u.role === 'admin' && parseRole(role) !== 'admin') await this.keepAnAdmin(name);
    await this.store.updateUser(name, { role });
    return userView(await this.get(name));
  }

  /** Disabling ends the user's sessions and stops their tokens (checked on every request). */
  async setDisabled(name: string, disabled: boolean): Promise<UserView> {
    const u = await this.get(name);
    if (disabled && u.role === 'admin') await this.keepAnAdmin(name);
    await this.store.updateUser(name, { disabled, endSessions: disabled });
    return userView(await this.get(name));
  }

  /** A new password (generated when none is given): sessions end; a generated one must be changed at next login. */
  async setPassword(name: string, password?: string): Promise<{ password?: string }> {
    await this.get(name);
    const generated = password === undefined ? generatePassword() : undefined;
    if (password !== undefined) checkNewPassword(password);
    await this.store.updateUser(name, { passwordHash: await hashPassword(password ?? generated!), mustChangePassword: !!generated, endSessions: true });
    return generated ? { password: generated } : {};
  }

  /** The user's own change: the current password proves it is them. Ends their other sessions. */
  async changeOwnPassword(name: string, current: string, next: string): Promise<ConsoleUserRow> {
    const u = await this.get(name);
    if (!(await verifyPassword(u.passwordHash, current))) throw new PasserelleError('PSL_PASSWORD_REJECTED', 'the current password is wrong');
    checkNewPassword(next, current);
    await this.store.updateUser(name, { passwordHash: await hashPassword(next), mustChangePassword: false, endSessions: true });
    return this.get(name);
  }

  /** The token is returned once; its role is at most its owner's (default: the owner's). */
  async createToken(userName: string, label: string, role?: Role): Promise<{ token: string; view: TokenView }> {
    const u = await this.get(userName);
    const r = role === undefined ? u.role : parseRole(role);
    if ((ROLES as readonly Role[]).indexOf(r) > (ROLES as readonly Role[]).indexOf(u.role)) {
      throw new PasserelleError('PSL_CONFIG_INVALID', `a token of ${userName} cannot have a role above ${u.role}`);
    }
    const t = newApiToken();
    await this.store.createToken({ id: t.id, userName: u.name, label: label.slice(0, 100), role: r, hash: t.hash });
    const view = (await this.store.listTokens(u.name)).find((x) => x.id === t.id)!;
    return { token: t.token, view: tokenView(view) };
  }

  async listTokens(userName?: string): Promise<TokenView[]> {
    return (await this.store.listTokens(userName)).map(tokenView);
  }

  async revokeToken(id: string): Promise<void> {
    if (!(await this.store.revokeToken(id))) throw new PasserelleError('PSL_USER_UNKNOWN', `no live token ${id}`);
  }

  private async keepAnAdmin(leaving: string): Promise<void> {
    const others = (await this.store.listUsers()).filter((u) => u.role === 'admin' && !u.disabled && u.name !== leaving);
    if (others.length === 0) throw new PasserelleError('PSL_USER_CONFLICT', 'this would leave no enabled admin');
  }
}

import { engineConfigFromEnv } from '../config/engine-config';
import { errorCodeOf } from '../errors';
import { cliActor } from '../operator-action';
import { silentLogger } from '../runtime/logger';
import { AuditLog } from '../ops/audit-log';
import { UserAdmin, parseRole } from '../ops/auth/user-admin';
import type { AuditEntry } from '../ops/context';
import { consoleStoreFor } from '../ops/store';

/** Where a user command reads and writes (tests give their own). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Everything on standard input (a password piped in). */
  stdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
};

/**
 * Opens the console store the engine uses (same PASSERELLE_STORE), runs one change, audits it
 * as `cli:<login>` from `local`. Coded errors print their code and exit 1.
 */
async function withUsers(io: CliIo, run: (users: UserAdmin, audit: (e: AuditEntry) => Promise<void>) => Promise<void>): Promise<number> {
  const store = consoleStoreFor(engineConfigFromEnv(io.env));
  try {
    await store.init();
    const log = new AuditLog(store, silentLogger());
    await run(new UserAdmin(store), (e) => log.write({ userName: cliActor(io.env), via: 'cli', ip: 'local' }, e));
    return 0;
  } catch (e) {
    io.err(`passerelle: ${errorCodeOf(e)}: ${(e as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

/** The first line of standard input, without its line end. */
async function passwordFromStdin(io: CliIo): Promise<string> {
  return (await io.stdin()).split(/\r?\n/)[0] ?? '';
}

export function userAddCommand(name: string, opts: { role: string; passwordStdin?: boolean }, io: CliIo = processIo): Promise<number> {
  return withUsers(io, async (users, audit) => {
    const role = parseRole(opts.role);
    const made = await users.create(name, role, opts.passwordStdin ? await passwordFromStdin(io) : undefined);
    await audit({ action: 'user.create', target: name, detail: `role ${role}${made.password ? ', generated password' : ''}` });
    io.out(`user ${name} (${role}) created`);
    if (made.password) io.out(`password: ${made.password}\n(shown once; to be changed at the first login)`);
  });
}

export function userPasswdCommand(name: string, opts: { passwordStdin?: boolean }, io: CliIo = processIo): Promise<number> {
  return withUsers(io, async (users, audit) => {
    const { password } = await users.setPassword(name, opts.passwordStdin ? await passwordFromStdin(io) : undefined);
    await audit({ action: 'user.reset', target: name, detail: password ? 'generated password, change required' : 'password set' });
    io.out(`password of ${name} changed; their sessions ended`);
    if (password) io.out(`password: ${password}\n(shown once; to be changed at the next login)`);
  });
}

export function userListCommand(io: CliIo = processIo): Promise<number> {
  return withUsers(io, async (users) => {
    const list = await users.list();
    if (list.length === 0) io.out('no users yet: the console creates `admin` at its first start');
    for (const u of list) {
      const flags = [u.disabled ? 'disabled' : 'enabled', ...(u.mustChangePassword ? ['must change password'] : [])].join(', ');
      io.out(`${u.name.padEnd(20)} ${u.role.padEnd(8)} ${flags}; last login ${u.lastLoginAt ?? 'never'}`);
    }
    const tokens = await users.listTokens();
    if (tokens.length > 0) io.out('\ntokens:');
    for (const t of tokens) {
      const state = t.revokedAt ? `revoked ${t.revokedAt}` : `last used ${t.lastUsedAt ?? 'never'}`;
      io.out(`${t.id}  ${t.user.padEnd(20)} ${t.role.padEnd(8)} ${(t.label || '-').padEnd(20)} ${state}`);
    }
  });
}

export function userDisableCommand(name: string, disabled: boolean, io: CliIo = processIo): Promise<number> {
  return withUsers(io, async (users, audit) => {
    await users.setDisabled(name, disabled);
    await audit({ action: disabled ? 'user.disable' : 'user.enable', target: name });
    io.out(`user ${name} ${disabled ? 'disabled (sessions ended, tokens refused)' : 'enabled'}`);
  });
}

/** Prints the token alone on standard output (easy to capture), the rest on standard error. */
export function userTokenCommand(name: string, opts: { label?: string; role?: string }, io: CliIo = processIo): Promise<number> {
  return withUsers(io, async (users, audit) => {
    const made = await users.createToken(name, opts.label ?? '', opts.role === undefined ? undefined : parseRole(opts.role));
    await audit({ action: 'token.create', target: name, detail: `${made.view.id} ${made.view.role} ${made.view.label}`.trim() });
    io.out(made.token);
    io.err(`token ${made.view.id} of ${name} (${made.view.role}): shown once; send it as "Authorization: Bearer <token>"`);
  });
}

export function userRevokeTokenCommand(id: string, io: CliIo = processIo): Promise<number> {
  return withUsers(io, async (users, audit) => {
    await users.revokeToken(id);
    await audit({ action: 'token.revoke', target: id });
    io.out(`token ${id} revoked`);
  });
}

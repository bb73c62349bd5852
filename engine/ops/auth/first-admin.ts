import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../runtime/logger';
import type { ConsoleStore } from '../store/types';
import { generatePassword, hashPassword } from './passwords';

export const FIRST_ADMIN = 'admin';

/** Where the first admin's password is written (removed once that password is changed). */
export function initialPasswordFile(varDir: string): string {
  return join(varDir, 'console', 'initial-admin-password');
}

/**
 * With no user at all, creates `admin` (role admin, must change its password) and writes its
 * generated password to a file only the engine's user can read; the log names the file, never
 * the password. Several processes starting at once: the first insert wins, the others leave.
 */
export async function ensureFirstAdmin(store: ConsoleStore, varDir: string, logger: Logger): Promise<string | undefined> {
  if ((await store.countUsers()) > 0) return undefined;
  const file = initialPasswordFile(varDir);
  mkdirSync(join(varDir, 'console'), { recursive: true, mode: 0o700 });
  const password = generatePassword();
  // The file exists before the user does: a crash between the two never leaves an admin nobody can log in as.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, password + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  const created = await store.createUser({ name: FIRST_ADMIN, role: 'admin', passwordHash: await hashPassword(password), mustChangePassword: true });
  if (!created) {
    rmSync(tmp, { force: true });
    return undefined;
  }
  renameSync(tmp, file);
  logger.info('console: first user "admin" created; its password is in the file (changed at first login)', { file });
  return file;
}

/** The first password is spent once changed: its file goes. */
export function forgetInitialPassword(varDir: string): void {
  rmSync(initialPasswordFile(varDir), { force: true });
}

import { randomBytes } from 'node:crypto';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { PasserelleError } from '../../errors';

export const MIN_PASSWORD_LENGTH = 12;

/**
 * argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane): ≈ 30-60 ms per login on one core.
 * `Algorithm` is a const enum (not usable under isolatedModules): 2 is Argon2id.
 */
const OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** False for a wrong password and for a hash that cannot be read. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

/** 24 URL-safe characters (144 bits): first admin, resets, `user add` without a password. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Refuses a new password that is short or the same as the one it replaces. */
export function checkNewPassword(password: string, current?: string): void {
  if (typeof password !== 'string' || [...password].length < MIN_PASSWORD_LENGTH) {
    throw new PasserelleError('PSL_PASSWORD_REJECTED', `a password has at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (current !== undefined && password === current) throw new PasserelleError('PSL_PASSWORD_REJECTED', 'the new password is the current one');
}

/** A hash of a password nobody has: unknown users cost a login the same time as known ones. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(generatePassword());
  return decoy;
}

import { createHash, randomBytes } from 'node:crypto';

/** `psl_<id>_<secret>`: the id is public (lists, revocation); only the SHA-256 of the whole token is stored. */
export function newApiToken(): { id: string; token: string; hash: string } {
  const id = randomBytes(6).toString('hex');
  const token = `psl_${id}_${randomBytes(32).toString('base64url')}`;
  return { id, token, hash: tokenHash(token) };
}

/** A plain hash is enough: the secret has 256 random bits, nothing to slow down against guessing. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function looksLikeApiToken(s: string): boolean {
  return /^psl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/.test(s);
}

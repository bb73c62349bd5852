import { createHash, createPublicKey, constants, randomBytes, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

type Claims = Record<string, unknown>;

const b64url = (b: Buffer): string => b.toString('base64url');
const json = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
const trimSlash = (s: string): string => s.replace(/\/+$/, '');

/** Why an OpenID Connect login failed (shown to the user, written to the audit log). */
export class OidcError extends Error {}

/**
 * The relying party of the authorization-code flow with PKCE (S256), a nonce, the client secret
 * sent with HTTP Basic, and the ID token's signature checked against the issuer's JWKS (RS256,
 * PS256, ES256; never `none` nor a shared secret). Discovery and keys are fetched once and again
 * when a token names a key not seen yet (rotation).
 */
export class OidcClient {
  private discovery?: Promise<Discovery>;
  private keys = new Map<string, KeyObject>();

  constructor(private readonly s: OidcSettings, private readonly clockSkewMs = 60_000) {}

  /** A fresh state, nonce and PKCE verifier for one login. */
  static newAttempt(): { state: string; nonce: string; verifier: string } {
    return { state: b64url(randomBytes(24)), nonce: b64url(randomBytes(24)), verifier: b64url(randomBytes(32)) };
  }

  async authorizationUrl(a: { state: string; nonce: string; verifier: string }): Promise<string> {
    const d = await this.meta();
    const u = new URL(d.authorization_endpoint);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', this.s.clientId);
    u.searchParams.set('redirect_uri', this.s.redirectUrl);
    u.searchParams.set('scope', 'openid profile email');
    u.searchParams.set('state', a.state);
    u.searchParams.set('nonce', a.nonce);
    u.searchParams.set('code_challenge', b64url(createHash('sha256').update(a.verifier).digest()));
    u.searchParams.set('code_challenge_method', 'S256');
    return u.toString();
  }

  /** Code → ID token → its verified claims. */
  async claims(code: string, verifier: string, nonce: string): Promise<Claims> {
    const d = await this.meta();
    const res = await fetch(d.token_endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(this.s.clientId)}:${encodeURIComponent(this.s.clientSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.s.redirectUrl, code_verifier: verifier }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    if (!res.ok || typeof body.id_token !== 'string') throw new OidcError(`the identity provider refused the code (${res.status} ${String(body.error ?? '')})`.trim());
    return this.verifyIdToken(body.id_token, nonce, d.issuer);
  }

  private async verifyIdToken(token: string, nonce: string, issuer: string): Promise<Claims> {
    const parts = token.split('.');
    if (parts.length !== 3) throw new OidcError('the ID token is not a signed JWT');
    const header = json(parts[0]!);
    const claims = json(parts[1]!);
    const key = await this.key(String(header.kid ?? ''));
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const sig = Buffer.from(parts[2]!, 'base64url');
    const ok =
      header.alg === 'RS256' ? verify('sha256', data, key, sig)
      : header.alg === 'PS256' ? verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
      : header.alg === 'ES256' ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
      : false;
    if (!ok) throw new OidcError(`the ID token's signature does not verify (alg ${String(header.alg)})`);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const now = Date.now();
    if (claims.iss !== issuer) throw new OidcError('the ID token comes from another issuer');
    if (!aud.includes(this.s.clientId) || (aud.length > 1 && claims.azp !== this.s.clientId)) throw new OidcError('the ID token is for another client');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < now - this.clockSkewMs) throw new OidcError('the ID token has expired');
    if (claims.nonce !== nonce) throw new OidcError('the ID token does not answer this login (nonce)');
    return claims;
  }

  private async key(kid: string): Promise<KeyObject> {
    if (!this.keys.has(kid)) await this.loadKeys();
    const k = this.keys.get(kid) ?? (kid === '' && this.keys.size === 1 ? [...this.keys.values()][0] : undefined);
    if (!k) throw new OidcError(`the identity provider has no key ${kid}`);
    return k;
  }

  private async loadKeys(): Promise<void> {
    const d = await this.meta();
    const res = await fetch(d.jwks_uri, { signal: AbortSignal.timeout(10_000) });
    const { keys } = (await res.json()) as { keys?: (JsonWebKey & { kid?: string; use?: string })[] };
    this.keys = new Map((keys ?? []).filter((k) => k.use === undefined || k.use === 'sig').map((k) => [k.kid ?? '', createPublicKey({ key: k, format: 'jwk' })]));
  }

  private meta(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const res = await fetch(`${trimSlash(this.s.issuer)}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new OidcError(`OpenID discovery failed at ${this.s.issuer} (${res.status})`);
      const d = (await res.json()) as Discovery;
      if (trimSlash(d.issuer) !== trimSlash(this.s.issuer)) throw new OidcError(`the discovery document names issuer ${d.issuer}, not ${this.s.issuer}`);
      return d;
    })().catch((e: unknown) => {
      this.discovery = undefined; // an identity provider down at start is asked again next time
      throw e;
    });
    return this.discovery;
  }
}

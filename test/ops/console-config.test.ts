/** The console's settings: defaults in one place, validated once, frozen, errors naming the variable. */
import { consoleConfigFromEnv, parseAddr } from '../../engine/ops/config';

test('defaults: loopback 8080, 30 min idle, 12 h at most, 5 failures per 15 min, metrics protected, no OIDC', () => {
  const c = consoleConfigFromEnv({});
  expect(c).toMatchObject({
    listen: { host: '127.0.0.1', port: 8080 },
    sessionIdleSeconds: 1800,
    sessionMaxSeconds: 43_200,
    loginMaxFailures: 5,
    loginWindowSeconds: 900,
    metricsPublic: false,
    trustProxy: false,
  });
  expect(c.oidc).toBeUndefined();
  expect(Object.isFrozen(c)).toBe(true);
});

test('environment variables', () => {
  const c = consoleConfigFromEnv({
    PASSERELLE_HTTP_ADDR: '[::1]:9443',
    PASSERELLE_HTTP_TLS_CERT: '/etc/psl/cert.pem',
    PASSERELLE_HTTP_TLS_KEY: '/etc/psl/key.pem',
    PASSERELLE_SESSION_IDLE_SECONDS: '60',
    PASSERELLE_SESSION_MAX_SECONDS: '120',
    PASSERELLE_LOGIN_MAX_FAILURES: '3',
    PASSERELLE_METRICS_PUBLIC: '1',
    PASSERELLE_OIDC_ISSUER: 'https://idp.example/realms/lab',
    PASSERELLE_OIDC_CLIENT_ID: 'passerelle',
    PASSERELLE_OIDC_CLIENT_SECRET: 's3cret',
    PASSERELLE_OIDC_REDIRECT_URL: 'https://console.example/oidc/callback',
  });
  expect(c.listen).toEqual({ host: '::1', port: 9443 });
  expect(c).toMatchObject({ tlsCert: '/etc/psl/cert.pem', sessionIdleSeconds: 60, sessionMaxSeconds: 120, loginMaxFailures: 3, metricsPublic: true });
  expect(c.oidc).toMatchObject({ clientId: 'passerelle', roleClaim: 'passerelle_role' });
  expect(consoleConfigFromEnv({ PASSERELLE_HTTP_ADDR: 'off' }).listen).toBeNull();
});

test('invalid settings are refused with what is wrong', () => {
  const bad = (env: NodeJS.ProcessEnv): string => {
    try {
      consoleConfigFromEnv(env);
    } catch (e) {
      expect((e as { code?: string }).code).toBe('PSL_CONFIG_INVALID');
      return (e as Error).message;
    }
    throw new Error('accepted');
  };
  expect(bad({ PASSERELLE_HTTP_ADDR: '8080' })).toMatch(/PASSERELLE_HTTP_ADDR must be host:port/);
  expect(bad({ PASSERELLE_HTTP_ADDR: '127.0.0.1:70000' })).toMatch(/PASSERELLE_HTTP_ADDR/);
  expect(bad({ PASSERELLE_HTTP_TLS_CERT: '/c.pem' })).toMatch(/go together/);
  expect(bad({ PASSERELLE_SESSION_IDLE_SECONDS: '600', PASSERELLE_SESSION_MAX_SECONDS: '60' })).toMatch(/shorter/);
  expect(bad({ PASSERELLE_LOGIN_MAX_FAILURES: 'many' })).toMatch(/loginMaxFailures/);
  expect(bad({ PASSERELLE_OIDC_ISSUER: 'https://idp.example' })).toMatch(/oidc\.clientId/);
});

test('addresses', () => {
  expect(parseAddr('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
  expect(parseAddr('console.lab.local:8080')).toEqual({ host: 'console.lab.local', port: 8080 });
  expect(parseAddr(' OFF ')).toBeNull();
  expect(() => parseAddr('::1:8080')).toThrow();
});

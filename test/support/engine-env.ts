import { join } from 'node:path';

/** Environment of an engine started with the compiled CLI (`passerelle start`) in `dir`, on its own Redis. */
export function cliEngineEnv(dir: string, redisPort: number, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PASSERELLE_CHANNELS: join(dir, 'channels'),
    PASSERELLE_VAR: join(dir, 'var'),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    PASSERELLE_EMBEDDED_REDIS: '0',
    PASSERELLE_STORE: `sqlite:${join(dir, 'store.db')}`,
    PASSERELLE_WATCH: '0',
    PASSERELLE_RECOVERY_MS: '2000',
    PASSERELLE_LOG_LEVEL: 'warn',
    ...overrides,
  };
}

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { PasserelleError } from '../errors';

const directorySource = z
  .string()
  .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || v.startsWith('https://'), 'a file path or an https:// URL')
  .default('');

/** `24h`, `90m`, `3600s`, `500ms`, `0` → ms; anything else is left for the schema to refuse. */
function durationMs(v: string | undefined): unknown {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(v);
  if (!m) return v;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
}

/**
 * Process-wide settings, from environment variables (and CLI flags that override them).
 * Validated once, frozen; every default is in `engineConfigSchema`.
 */
export const engineConfigSchema = z.strictObject({
  /** Channel files directory. Env PASSERELLE_CHANNELS. */
  channelsDir: z.string().default('channels'),
  /** Working data (embedded Redis, SQLite store, file outputs). Env PASSERELLE_VAR. */
  varDir: z.string().default('var'),
  /** Redis used by the queues. Env REDIS_URL. When nothing answers there and `embeddedRedis` is on, a local redis-server is started. */
  redisUrl: z.string().default('redis://127.0.0.1:6379'),
  /** Start a private redis-server (data and AOF under var/redis) when none answers at redisUrl. Env PASSERELLE_EMBEDDED_REDIS=0 turns it off. */
  embeddedRedis: z.boolean().default(true),
  /** Key prefix of every Redis key; several engines on one Redis with different prefixes never meet. Env PASSERELLE_PREFIX. */
  prefix: z.string().default('psl'),
  /** Message store: `sqlite:<path>` (embedded default) or a `postgres://` URL shared by several hosts. Env PASSERELLE_STORE. */
  store: z.string().default('sqlite:var/store/messages.db'),
  /** SQLite only: FULL survives power loss; NORMAL (WAL) survives a process crash and is faster. Env PASSERELLE_SQLITE_SYNC. */
  sqliteSynchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
  /**
   * SQLite only: where intake commits (or, with the journal, the indexing of journalled rows)
   * run. `auto` (default): in a writer thread at FULL and with the journal, on the event loop
   * otherwise. `on` / `off` force it. Env PASSERELLE_SQLITE_INTAKE_THREAD.
   */
  sqliteIntakeThread: z.enum(['auto', 'on', 'off']).default('auto'),
  /**
   * SQLite only: intake through an append-only journal (engine/store/sqlite-intake-journal.ts):
   * ACK once the group is appended (fdatasynced at FULL), rows indexed into SQLite just after.
   * `auto` (default): on at NORMAL, off at FULL. Env PASSERELLE_SQLITE_INTAKE_JOURNAL.
   */
  sqliteIntakeJournal: z.enum(['auto', 'on', 'off']).default('auto'),
  /** What this process runs: listeners (sources), workers (queue consumers) or both. Env PASSERELLE_ROLE. */
  role: z.enum(['all', 'listener', 'worker']).default('all'),
  /** Reload channel files when they change. Env PASSERELLE_WATCH=0 turns it off. */
  watchChannels: z.boolean().default(true),
  /** Deadline for a graceful stop (SIGTERM): in-flight ACKs and jobs finish, then sockets close. */
  drainDeadlineMs: z.number().int().positive().default(10_000),
  /** Re-enqueue scan period for messages whose jobs were lost (Redis restart without persistence). */
  recoveryIntervalMs: z.number().int().positive().default(60_000),
  /** Log level; patient data is only ever logged at debug. Env PASSERELLE_LOG_LEVEL. */
  logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  /** Log file (JSON lines); stdout when empty. Env PASSERELLE_LOG_FILE. */
  logFile: z.string().default(''),
  /**
   * The ANS CI-SIS kit (schematrons, value sets, CDA XSD) every CR-BIO is validated with. Not
   * shipped with Passerelle: see README "ANS kit". Env PASSERELLE_ANS_KIT.
   */
  ansKitDir: z.string().default('var/ans-kit'),
  /** Worker threads that render CR-BIO document sets (PDF, CDA, inline validation). Env PASSERELLE_RENDER_THREADS. */
  renderThreads: z.number().int().min(1).max(64).default(2),
  /** Heap limit of each render thread, MB: a render beyond fails with PSL_RENDER_OUT_OF_MEMORY, not the engine. Env PASSERELLE_RENDER_MEMORY_MB. */
  renderMemoryMb: z.number().int().min(64).max(16384).default(512),
  /** Prepared Schematron rule sets, keyed by a hash of the kit; outside the repository. Env PASSERELLE_CACHE_DIR. */
  cacheDir: z.string().default(join(homedir(), '.cache', 'passerelle', 'schematron')),
  /**
   * RPPS directory (docs/directory.md): where PS_LibreAcces_Personne_activite and
   * Extraction_Correspondance_MSSante are loaded from, a file (.txt / .zip) or an https:// URL;
   * empty: not loaded automatically. Env PASSERELLE_DIRECTORY_PERSONS, PASSERELLE_DIRECTORY_MSSANTE.
   */
  directoryPersons: directorySource,
  directoryMssante: directorySource,
  /** Period of the automatic directory load, ms (0: off). Env PASSERELLE_DIRECTORY_EVERY: `24h`, `90m`, `3600s`, `0`. */
  directoryEveryMs: z.number().int().min(0).default(86_400_000),
  /** Extra trusted root (PEM file) for https directory sources: the IGC-Santé root. Env PASSERELLE_DIRECTORY_CA. */
  directoryCaFile: z.string().default(''),
});

export type EngineConfig = Readonly<z.infer<typeof engineConfigSchema>>;

const flag = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : !['0', 'false', 'no', 'off'].includes(v.toLowerCase()));

export function engineConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<z.input<typeof engineConfigSchema>> = {}): EngineConfig {
  const fromEnv: Record<string, unknown> = {
    channelsDir: env.PASSERELLE_CHANNELS,
    varDir: env.PASSERELLE_VAR,
    redisUrl: env.REDIS_URL,
    embeddedRedis: flag(env.PASSERELLE_EMBEDDED_REDIS),
    prefix: env.PASSERELLE_PREFIX,
    store: env.PASSERELLE_STORE,
    sqliteSynchronous: env.PASSERELLE_SQLITE_SYNC,
    sqliteIntakeThread: env.PASSERELLE_SQLITE_INTAKE_THREAD,
    sqliteIntakeJournal: env.PASSERELLE_SQLITE_INTAKE_JOURNAL,
    role: env.PASSERELLE_ROLE,
    watchChannels: flag(env.PASSERELLE_WATCH),
    logLevel: env.PASSERELLE_LOG_LEVEL,
    logFile: env.PASSERELLE_LOG_FILE,
    ansKitDir: env.PASSERELLE_ANS_KIT,
    cacheDir: env.PASSERELLE_CACHE_DIR,
    renderThreads: env.PASSERELLE_RENDER_THREADS === undefined ? undefined : Number(env.PASSERELLE_RENDER_THREADS),
    renderMemoryMb: env.PASSERELLE_RENDER_MEMORY_MB === undefined ? undefined : Number(env.PASSERELLE_RENDER_MEMORY_MB),
    recoveryIntervalMs: env.PASSERELLE_RECOVERY_MS === undefined ? undefined : Number(env.PASSERELLE_RECOVERY_MS),
    directoryPersons: env.PASSERELLE_DIRECTORY_PERSONS,
    directoryMssante: env.PASSERELLE_DIRECTORY_MSSANTE,
    directoryEveryMs: durationMs(env.PASSERELLE_DIRECTORY_EVERY),
    directoryCaFile: env.PASSERELLE_DIRECTORY_CA,
  };
  const merged = { ...Object.fromEntries(Object.entries(fromEnv).filter(([, v]) => v !== undefined)), ...overrides };
  const parsed = engineConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new PasserelleError('PSL_CONFIG_INVALID', 'engine settings: ' + parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const c = parsed.data;
  // A relative SQLite path lives under the var dir's parent (the working directory).
  return Object.freeze({ ...c, channelsDir: resolve(c.channelsDir), varDir: resolve(c.varDir), ansKitDir: resolve(c.ansKitDir), cacheDir: resolve(c.cacheDir) });
}

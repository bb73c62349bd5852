/** Starts a real engine in this process: temp dirs, a fresh Redis key prefix, an SQLite store. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Engine } from '../../engine/engine';
import { engineConfigFromEnv, type EngineConfig } from '../../engine/config/engine-config';
import { silentLogger, type Logger } from '../../engine/runtime/logger';
import { deletePrefix } from './redis';
import { repoRootOf, resolveAnsKit } from '../../engine/config/reference-data';

export interface TestEngine {
  engine: Engine;
  config: EngineConfig;
  dir: string;
  /** Port a channel listens on (channel files in tests say port 0). */
  port(channel: string): number;
  stop(): Promise<void>;
}

export interface TestEngineOptions {
  redisUrl?: string;
  prefix?: string;
  dir?: string;
  watchChannels?: boolean;
  recoveryIntervalMs?: number;
  role?: 'all' | 'listener' | 'worker';
  /**
   * ANS kit for CR-BIO destinations. Default: the one reference-data finds, else none (documents
   * wait, as in the product); tests about documents pass test/support/ans-kit's, which fails loudly.
   */
  ansKitDir?: string;
  /** Default: a silent logger. */
  logger?: Logger;
  /** Store URL; default an SQLite file in the temp dir. */
  store?: string;
}

/** `channels` maps file names to YAML text; `${DIR}` in the text is replaced by the test's temp dir. */
export async function startTestEngine(channels: Record<string, string>, opts: TestEngineOptions = {}): Promise<TestEngine> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'psl-engine-'));
  const channelsDir = join(dir, 'channels');
  mkdirSync(channelsDir, { recursive: true });
  for (const [name, text] of Object.entries(channels)) writeFileSync(join(channelsDir, name), text.replace(/\$\{DIR\}/g, dir));
  const config = engineConfigFromEnv(
    {},
    {
      channelsDir,
      varDir: join(dir, 'var'),
      redisUrl: opts.redisUrl ?? 'redis://127.0.0.1:6379',
      embeddedRedis: false,
      prefix: opts.prefix ?? `pslt-${randomUUID().slice(0, 8)}`,
      store: opts.store ?? `sqlite:${join(dir, 'store.db')}`,
      sqliteSynchronous: 'NORMAL',
      watchChannels: opts.watchChannels ?? false,
      recoveryIntervalMs: opts.recoveryIntervalMs ?? 60_000,
      drainDeadlineMs: 3000,
      role: opts.role ?? 'all',
      ansKitDir: opts.ansKitDir ?? kitIfAny(dir),
    },
  );
  const engine = new Engine(config, opts.logger ?? silentLogger());
  await engine.start();
  return {
    engine,
    config,
    dir,
    port(channel) {
      const p = engine.channel(channel)?.port;
      if (!p) throw new Error(`channel ${channel} has no port`);
      return p;
    },
    async stop() {
      await engine.stop();
      // Leave the shared Redis as we found it (private ones die with their test).
      if (!opts.redisUrl) await deletePrefix(config.prefix).catch(() => undefined);
    },
  };
}

function kitIfAny(dir: string): string {
  try {
    return resolveAnsKit({ root: repoRootOf(__dirname) });
  } catch {
    return join(dir, 'no-ans-kit');
  }
}

/** A channel file listening on an ephemeral port. */
export function channelYaml(name: string, body: string): string {
  return `name: ${name}\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: 0\n${body}`;
}

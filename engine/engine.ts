import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import type { EngineConfig } from './config/engine-config';
import { loadChannelDir, ChannelConfigError, type LoadedChannel } from './config/load-channels';
import { Channel } from './channels/channel';
import { createStore } from './store';
import type { MessageStore } from './store/types';
import { EmbeddedRedis, redisAnswers, redisOptionsFromUrl } from './runtime/redis';
import type { Logger } from './runtime/logger';
import { AnsKit, ValidationPool } from './validation';
import { RenderPool } from './documents/render-pool';
import { PasserelleError, errorCodeOf } from './errors';
import type { ChannelStatus, EngineControl, StageJobs } from './engine-control';
import type { OrderedQueue } from './queue';
import { waitAtMost } from './runtime/deadline';
import { RetentionRunner } from './channels/retention';
import { directoryRunnerFor } from './directory/from-config';
import type { DirectoryRunner } from './directory/runner';

/**
 * The composition root: store + Redis + channels. Reloads changed channel files without
 * touching the other channels' connections; stops gracefully with a deadline. Operators start,
 * stop and pause channels through EngineControl (the console).
 */
export class Engine implements EngineControl {
  readonly channels = new Map<string, { loaded: LoadedChannel; runtime: Channel }>();
  /** Every channel file of the last valid load, enabled or not (what the console lists). */
  private loaded = new Map<string, LoadedChannel>();
  /** Stopped by an operator: reloads leave them stopped until started again (or the engine restarts). */
  private readonly operatorStopped = new Set<string>();
  /** Paused by an operator: a reload that restarts one pauses the new runtime too. */
  private readonly operatorPaused = new Set<string>();
  private store!: MessageStore;
  private connection!: RedisOptions;
  private embedded?: EmbeddedRedis;
  private watcher?: FSWatcher;
  private reloadTimer?: NodeJS.Timeout;
  private reloading: Promise<void> = Promise.resolve();
  private ansKit?: AnsKit;
  private validationPool?: ValidationPool;
  private renderPool?: RenderPool;
  private stopping = false;
  private retention?: RetentionRunner;
  private directory?: DirectoryRunner;

  constructor(readonly config: EngineConfig, private readonly logger: Logger) {}

  async start(): Promise<void> {
    const cfg = this.config;
    const loaded = loadChannelDir(cfg.channelsDir); // invalid files stop the start with file:line
    this.connection = redisOptionsFromUrl(cfg.redisUrl);
    if (!(await redisAnswers(this.connection))) {
      if (!cfg.embeddedRedis) throw new Error(`no Redis answers at ${cfg.redisUrl}`);
      this.embedded = new EmbeddedRedis(join(cfg.varDir, 'redis'), this.connection.port ?? 6379);
      await this.embedded.start();
      this.logger.info('embedded redis-server started', { port: this.connection.port });
    }
    const settings = storeSettings(cfg);
    // Intake journal problems no sender sees (its messages were ACKed) go to the engine's log.
    this.store = createStore(settings.kind === 'sqlite' ? { ...settings, onIntakeEvent: (level, message, details) => this.logger[level](message, details) } : settings);
    await this.store.init();
    this.loaded = new Map(loaded.map((l) => [l.config.name, l]));
    this.ansKit = this.openKit(loaded);
    for (const ch of loaded) if (ch.config.enabled) await this.runChannel(ch);
    if (cfg.watchChannels) this.watchChannels();
    // Housekeeping runs where the queues are consumed (a listener-only process keeps to intake).
    if (cfg.role !== 'listener') {
      this.retention = new RetentionRunner({ store: this.store, channels: () => [...this.channels.values()].map((c) => c.loaded.config), logger: this.logger });
      this.retention.start();
      // The RPPS directory's automatic load (SGL.ANN.01/.04), when a source is set.
      this.directory = directoryRunnerFor(cfg, this.store, this.logger);
      this.directory?.start();
    }
    this.logger.info('engine started', { role: cfg.role, count: this.channels.size, pid: process.pid });
  }

  /** The message store (CLI and tests read states from it). */
  get messageStore(): MessageStore {
    return this.store;
  }

  channel(name: string): Channel | undefined {
    return this.channels.get(name)?.runtime;
  }

  private async runChannel(loaded: LoadedChannel): Promise<void> {
    const runtime = new Channel({
      config: loaded.config,
      store: this.store,
      connection: this.connection,
      prefix: this.config.prefix,
      listen: this.config.role !== 'worker',
      consume: this.config.role !== 'listener',
      recoveryIntervalMs: this.config.recoveryIntervalMs,
      logger: this.logger,
      ansKit: this.ansKit,
      validationPool: this.validationPool,
      renderPool: this.renderPool,
    });
    await runtime.start();
    this.channels.set(loaded.config.name, { loaded, runtime });
    if (this.operatorPaused.has(loaded.config.name)) await runtime.pause(this.config.drainDeadlineMs);
  }

  channelStatuses(): ChannelStatus[] {
    return [...this.loaded.values()]
      .sort((a, b) => a.config.name.localeCompare(b.config.name))
      .map((l) => {
        const c = l.config;
        const runtime = this.channels.get(c.name)?.runtime;
        const state = !runtime ? 'stopped' : runtime.paused ? 'paused' : 'running';
        const stoppedBy = runtime ? undefined : !c.enabled ? 'file' : this.operatorStopped.has(c.name) ? 'operator' : 'failure';
        return {
          name: c.name,
          state,
          ...(stoppedBy ? { stoppedBy } : {}),
          file: l.file,
          // The running runtime's file may be older than the last load when a restart failed.
          configVersion: (this.channels.get(c.name)?.loaded ?? l).fingerprint,
          source: {
            type: c.source.type,
            port: runtime?.port ?? (c.source.type === 'mllp' ? c.source.port : undefined),
            connections: runtime?.connectionCount() ?? 0,
          },
          destinations: c.destinations.map((d) => ({ name: d.name, type: d.type, failing: runtime?.pipeline.health.get(d.name)?.failing ?? false })),
        } satisfies ChannelStatus;
      });
  }

  startChannel(name: string): Promise<void> {
    return this.serial(async () => {
      const l = this.known(name);
      if (!l.config.enabled) throw new PasserelleError('PSL_CHANNEL_DISABLED', `channel ${name} says enabled: false in ${l.file}`);
      this.operatorStopped.delete(name);
      if (this.channels.has(name)) return;
      await this.runChannel(l);
      this.logger.info('channel started by an operator', { channel: name });
    });
  }

  stopChannel(name: string): Promise<void> {
    return this.serial(async () => {
      this.known(name);
      this.operatorStopped.add(name);
      const cur = this.channels.get(name);
      if (!cur) return;
      this.channels.delete(name);
      await cur.runtime.stop(this.config.drainDeadlineMs);
      this.logger.info('channel stopped by an operator', { channel: name });
    });
  }

  pauseChannel(name: string): Promise<void> {
    return this.serial(async () => {
      const runtime = this.running(name);
      this.operatorPaused.add(name);
      await runtime.pause(this.config.drainDeadlineMs);
      this.logger.info('channel paused by an operator', { channel: name });
    });
  }

  resumeChannel(name: string): Promise<void> {
    return this.serial(async () => {
      const runtime = this.running(name);
      this.operatorPaused.delete(name);
      await runtime.resume();
      this.logger.info('channel resumed by an operator', { channel: name });
    });
  }

  reprocess(channel: string, messageId: string, note?: string): Promise<string[]> {
    return this.running(channel).pipeline.reprocess(messageId, note);
  }

  reportPublisher(channel: string): ReturnType<EngineControl['reportPublisher']> {
    return this.channels.get(channel)?.runtime.reportPublisher();
  }

  versionLines(): ReturnType<EngineControl['versionLines']> {
    return [...this.channels.values()].flatMap(({ runtime }) => runtime.versionLines());
  }

  async stageJobs(channel: string): Promise<StageJobs[] | undefined> {
    const runtime = this.channels.get(channel)?.runtime;
    if (!runtime) return undefined;
    const stages: [string, OrderedQueue][] = [['in', runtime.pipeline.inbound], ...[...runtime.pipeline.destinationQueues].map(([n, q]): [string, OrderedQueue] => [`dest.${n}`, q])];
    return Promise.all(
      stages.map(async ([stage, q]) => {
        const c = await q.counts();
        return { stage, waiting: c.waiting, active: c.active, delayed: c.delayed, failed: c.failed };
      }),
    );
  }

  private known(name: string): LoadedChannel {
    const l = this.loaded.get(name);
    if (!l) throw new PasserelleError('PSL_CHANNEL_UNKNOWN', `no channel named ${name}`);
    return l;
  }

  private running(name: string): Channel {
    this.known(name);
    const runtime = this.channels.get(name)?.runtime;
    if (!runtime || this.stopping) throw new PasserelleError('PSL_CHANNEL_NOT_RUNNING', `channel ${name} is not running in this process`);
    return runtime;
  }

  /** Channel control runs in line with reloads (and each other), never in the middle of one. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.reloading.then(() => {
      if (this.stopping) throw new PasserelleError('PSL_CHANNEL_NOT_RUNNING', 'the engine is stopping');
      return op();
    });
    this.reloading = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * The ANS kit is opened once when a channel produces CR-BIO documents. Without it those
   * channels still take messages in; their documents wait (transient error) until it exists.
   */
  private openKit(loaded: LoadedChannel[]): AnsKit | undefined {
    const needed = loaded.some((l) => l.config.destinations.some((d) => d.type === 'crbio' || d.type === 'reports'));
    if (!needed) return undefined;
    if (!existsSync(this.config.ansKitDir)) {
      this.logger.warn('ANS kit not found: CR-BIO documents will wait until it is installed (PASSERELLE_ANS_KIT)', { dir: this.config.ansKitDir });
      return undefined;
    }
    let kit: AnsKit;
    try {
      kit = AnsKit.open(this.config.ansKitDir, { cacheDir: this.config.cacheDir });
    } catch (e) {
      // A folder that is not a kit is the same as no kit: messages are still taken in, documents wait.
      this.logger.warn('ANS kit unusable: CR-BIO documents will wait until a kit is installed (PASSERELLE_ANS_KIT)', {
        dir: this.config.ansKitDir,
        code: errorCodeOf(e),
        error: (e as Error)?.message,
      });
      return undefined;
    }
    this.renderPool = new RenderPool(this.config.ansKitDir, { cacheDir: this.config.cacheDir, size: this.config.renderThreads, memoryMb: this.config.renderMemoryMb });
    if (loaded.some((l) => l.config.destinations.some((d) => (d.type === 'crbio' || d.type === 'reports') && d.fullValidation))) {
      this.validationPool = new ValidationPool(this.config.ansKitDir, { cacheDir: this.config.cacheDir, size: 1 });
    }
    return kit;
  }

  private watchChannels(): void {
    this.watcher = watch(this.config.channelsDir, () => {
      // Editors write in several steps: wait for the burst to end.
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reload(), 300); // reload() never rejects
    });
    this.watcher.on('error', (e) => this.logger.warn('channel watch error', { error: e.message }));
  }

  /** Applies the channel directory as it is now: changed channels restart, others keep running. */
  reload(): Promise<void> {
    // Never rejects: a failed reload is logged and the chain stays usable for the next reload
    // and for stop() (a rejected link would fail every later one).
    this.reloading = this.reloading
      .then(() => this.doReload())
      .catch((e: unknown) => {
        this.logger.error('channel reload failed; running channels kept', { code: errorCodeOf(e), error: (e as Error)?.message ?? String(e) });
      });
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    if (this.stopping) return; // a reload queued behind stop() must not start channels again
    let loaded: LoadedChannel[];
    try {
      loaded = loadChannelDir(this.config.channelsDir);
    } catch (e) {
      // Keep running what we have; say exactly what is wrong.
      const problems = e instanceof ChannelConfigError ? e.message : (e as Error).message;
      this.logger.error('channel files invalid; previous configuration kept', { reason: problems });
      return;
    }
    this.ansKit ??= this.openKit(loaded);
    this.loaded = new Map(loaded.map((l) => [l.config.name, l]));
    for (const set of [this.operatorStopped, this.operatorPaused]) for (const name of set) if (!this.loaded.has(name)) set.delete(name);
    // An operator's stop holds across reloads: its changed file is used when it is started again.
    const wanted = new Map(loaded.filter((l) => l.config.enabled && !this.operatorStopped.has(l.config.name)).map((l) => [l.config.name, l]));
    for (const [name, cur] of [...this.channels]) {
      const next = wanted.get(name);
      if (!next || next.fingerprint !== cur.loaded.fingerprint) {
        try {
          await cur.runtime.stop(this.config.drainDeadlineMs);
        } catch (e) {
          this.logger.error('channel did not stop cleanly for reload', { channel: name, code: errorCodeOf(e), error: (e as Error)?.message });
        }
        this.channels.delete(name);
        this.logger.info('channel stopped for reload', { channel: name });
      }
    }
    for (const [name, l] of wanted) {
      if (this.channels.has(name) || this.stopping) continue;
      try {
        await this.runChannel(l);
        this.logger.info('channel (re)started', { channel: name });
      } catch (e) {
        this.logger.error('channel failed to start', { channel: name, error: (e as Error).message });
      }
    }
  }

  /** Re-reads every listener's certificate files (SIGHUP): new handshakes use them, connections stay. */
  reloadTls(): void {
    for (const { runtime } of this.channels.values()) {
      try {
        runtime.reloadTls();
      } catch (e) {
        this.logger.error('TLS reload failed; previous certificates kept', { channel: runtime.name, error: (e as Error).message });
      }
    }
  }

  /**
   * Graceful stop within ONE deadline (drainDeadlineMs from the call), shared by every step:
   * channels drain in parallel, each stage with what is left of it, never a full deadline of
   * its own. Work still running at the deadline is abandoned: render and validation workers
   * are terminated, and the jobs go back to their lines (their leases lapse) for the next
   * start. A reload in progress gets a share of the deadline too.
   */
  async stop(): Promise<void> {
    const deadlineAt = Date.now() + this.config.drainDeadlineMs;
    const left = (): number => Math.max(0, deadlineAt - Date.now());
    this.stopping = true;
    this.watcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    await waitAtMost(this.reloading, left());
    const stops = [...this.channels.values()].map(({ runtime }) =>
      runtime.stop(left()).catch((e: unknown) => this.logger.error('channel did not stop cleanly', { channel: runtime.name, code: errorCodeOf(e), error: (e as Error)?.message })),
    );
    await Promise.all(stops);
    this.channels.clear();
    // Terminating the pools fails renders still in flight with a transient error: their jobs are retried later.
    await Promise.allSettled([this.validationPool?.close(), this.renderPool?.close()]);
    await waitAtMost(this.retention?.stop(), left());
    await waitAtMost(this.directory?.stop(), left());
    await this.store?.close();
    await this.embedded?.stop();
    this.logger.info('engine stopped', { pid: process.pid, ms: this.config.drainDeadlineMs - left() });
  }
}

/** `sqlite:<path>` or `postgres://…[?schema=name]` (schema default `passerelle`). */
export function storeSettings(cfg: EngineConfig): Parameters<typeof createStore>[0] {
  if (!/^postgres(ql)?:/.test(cfg.store)) {
    return {
      kind: 'sqlite',
      path: cfg.store.replace(/^sqlite:/, ''),
      synchronous: cfg.sqliteSynchronous,
      intakeThread: cfg.sqliteIntakeThread === 'auto' ? undefined : cfg.sqliteIntakeThread === 'on',
      intakeJournal: cfg.sqliteIntakeJournal === 'auto' ? undefined : cfg.sqliteIntakeJournal === 'on',
    };
  }
  const url = new URL(cfg.store);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return { kind: 'postgres', url: url.toString(), schema };
}

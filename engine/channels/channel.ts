import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { MllpServer, type ConnectionInfo, type FrameReply } from '../mllp';
import { nakFromRaw } from '../hl7';
import { FileDestination, MllpDestination, type Destination } from '../delivery';
import { CrBioDestination } from '../delivery/crbio-destination';
import { ReportsDestination, reportsDestinationOptions } from '../documents';
import { OrdersDestination } from '../orders';
import { PfiReceiptsDestination } from '../delivery/pfi/receipts';
import { loadLabProfile } from '../config/lab-profile';
import type { AnsKit, ValidationPool } from '../validation';
import type { RenderPool } from '../documents/render-pool';
import type { ChannelConfig } from '../config/channel-schema';
import type { MessageStore } from '../store/types';
import type { Logger } from '../runtime/logger';
import { ThrottledLog } from '../runtime/throttled-log';
import { waitAtMost } from '../runtime/deadline';
import { Intake } from './intake';
import { readClientTls } from '../delivery/client-tls';
import { BatchIntake } from './batch-intake';
import { ApplicationAcks, observeTerminalStates } from './app-ack';
import { Pipeline, type RecoverOptions } from './pipeline';
import type { OrderedQueue } from '../queue';

/** Periodic recovery scans skip what changed more recently than this (its stage is enqueueing it). */
const RECOVERY_GRACE_MS = 5000;
import { DirectorySource } from './directory-source';
import { NakLimiter } from './nak-limiter';
import { loadHandler, loadMapping } from './transform';

export interface ChannelRuntimeOptions {
  config: Readonly<ChannelConfig>;
  store: MessageStore;
  connection: RedisOptions;
  prefix: string;
  /** Open the channel's source (listener / watched directory) in this process. */
  listen: boolean;
  /** Consume the channel's queues in this process. */
  consume: boolean;
  recoveryIntervalMs: number;
  logger: Logger;
  /** The ANS kit CR-BIO destinations validate with (one per engine); undefined when not installed. */
  ansKit?: AnsKit;
  /** Worker threads running the full ANS profile sets (one per engine). */
  validationPool?: ValidationPool;
  /** Worker threads rendering document sets (one per engine). */
  renderPool?: RenderPool;
}

/**
 * One channel: source → intake (acceptance + durable commit + ACK) → ordered queues → destinations.
 * Commits are enqueued in commit order by a single flusher, so arrival order survives into Redis.
 */
export class Channel {
  readonly name: string;
  readonly intake: Intake;
  /** MLLP frames holding an HL7 batch: each message through `intake`, one batch ACK. */
  private readonly batches: BatchIntake;
  readonly pipeline: Pipeline;
  private server?: MllpServer;
  private directory?: DirectorySource;
  private pendingEnqueue: { id: string; orderingKey: string; stored?: Promise<void> }[] = [];
  private flushing: Promise<void> | undefined;
  private recoveryTimer?: NodeJS.Timeout;
  /** Set while a reconnect's recovery runs: direct enqueues wait so lost jobs go back first. */
  private barrier: Promise<void> | undefined;
  private redisWatch?: Redis;
  private boundPort?: number;
  private readonly destinations: Destination[];
  /** Enhanced-mode application ACKs (ack.application), when configured. */
  private readonly appAcks?: ApplicationAcks;
  /** Refused connections: one log line per interval with a count, never one per connection. */
  private readonly refusals: ThrottledLog;
  private nakLimiter?: NakLimiter;
  private shedSinceLog = 0;
  private lastShedLog = 0;

  constructor(private readonly o: ChannelRuntimeOptions) {
    const c = o.config;
    this.name = c.name;
    this.destinations = c.destinations.map((d) => makeDestination(d, c.charset.default, o, c.name));
    const app = c.ack.application;
    this.appAcks = app
      ? new ApplicationAcks({ channel: c, config: app, store: o.store, connection: o.connection, prefix: o.prefix, consume: o.consume, logger: o.logger })
      : undefined;
    this.pipeline = new Pipeline({
      channel: c,
      // With application ACKs, each terminal state the pipeline stores queues the sender's AA/AE/AR.
      store: this.appAcks ? observeTerminalStates(o.store, (id, state, reason) => void this.appAcks!.terminal(id, state, reason)) : o.store,
      destinations: this.destinations,
      transform: c.transform ? ('mapping' in c.transform ? loadMapping(c.transform.mapping) : loadHandler(c.transform.handler, 'transform')) : undefined,
      filter: c.filter?.handler ? loadHandler(c.filter.handler, 'filter') : undefined,
      connection: o.connection,
      prefix: o.prefix,
      consume: o.consume,
      logger: o.logger,
    });
    this.refusals = new ThrottledLog((reason, count) =>
      o.logger.warn('connections refused', { channel: this.name, code: 'PSL_CONNECTION_REFUSED', reason, count }),
    );
    this.intake = new Intake(c, o.store, (id, key, stored) => this.queueForEnqueue(id, key, stored), o.logger);
    this.batches = new BatchIntake(this.intake, o.logger, c.name, c.limits.maxBatchMessages);
  }

  get config(): Readonly<ChannelConfig> {
    return this.o.config;
  }

  /** Open source connections (operators' view; 0 for directory sources). */
  connectionCount(): number {
    return this.server?.connectionCount() ?? 0;
  }

  /** The publisher of the channel's reports destination, if it has one (operators' publish-now and parked releases). */
  reportPublisher(): ReportsDestination['publisher'] | undefined {
    for (const d of this.destinations) if (d instanceof ReportsDestination) return d.publisher;
    return undefined;
  }

  /** The report-version delivery lines of the channel's reports destinations (operators' resend). */
  versionLines(): ReturnType<ReportsDestination['deliveryLines']> {
    return this.destinations.flatMap((d) => (d instanceof ReportsDestination ? d.deliveryLines() : []));
  }

  /** The listening port (useful when the channel file says port 0). */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    // Re-enqueue before consuming: lost jobs go back in store order ahead of anything new.
    await this.runRecovery({ repair: true });
    await this.appAcks?.start();
    for (const d of this.destinations) await d.start?.();
    await this.pipeline.start();
    // Periodic scans leave the last few seconds' messages to their own stage (no double add).
    this.recoveryTimer = setInterval(() => void this.runRecovery({ graceMs: RECOVERY_GRACE_MS }), this.o.recoveryIntervalMs);
    this.recoveryTimer.unref();
    this.watchRedis();
    if (!this.o.listen) return;
    const src = this.o.config.source;
    if (src.type === 'mllp') {
      this.nakLimiter = new NakLimiter(src.nakRate);
      this.server = new MllpServer({
        host: src.host,
        port: src.port,
        handler: (frame, conn) => this.answer(frame, conn),
        maxFrameBytes: src.maxFrameBytes,
        idleTimeoutMs: src.idleTimeoutSeconds * 1000,
        maxConnections: src.maxConnections,
        onOversize: (prefix) =>
          Buffer.from(
            nakFromRaw(prefix.toString('latin1'), { hl7Code: 207, severity: 'E', userMessage: `frame exceeds ${src.maxFrameBytes} bytes` }, { code: 'AR' }),
            'latin1',
          ),
        tls: src.tls
          ? {
              key: readFileSync(resolve(src.tls.key)),
              cert: readFileSync(resolve(src.tls.cert)),
              ca: src.tls.ca ? readFileSync(resolve(src.tls.ca)) : undefined,
              requestClientCert: src.tls.requestClientCert,
            }
          : undefined,
      });
      this.server.on('handlerError', (e: { error?: Error }) => this.o.logger.error('handler error', { channel: this.name, error: e.error?.message }));
      this.server.on('oversize', () => this.o.logger.warn('oversize frame refused', { channel: this.name }));
      // Without a listener an 'error' (EMFILE on accept) would end the process; the server keeps listening.
      this.server.on('error', (err: Error) =>
        this.o.logger.error('listener error; still listening', { channel: this.name, code: 'PSL_LISTENER_ERROR', reason: (err as NodeJS.ErrnoException).code, error: err.message }),
      );
      this.server.on('refused', (e: { reason: string }) => this.refusals.note(e.reason.startsWith('tls') ? 'tls' : e.reason));
      const addr = await this.server.listen();
      this.boundPort = addr.port;
      this.o.logger.info('listening', { channel: this.name, port: addr.port, host: addr.host });
    } else {
      this.directory = new DirectorySource(src, this.intake, this.o.logger, this.name);
      this.directory.start();
    }
  }

  /**
   * One MLLP frame: intake, then, for a refusal, the connection's NAK budget (source.nakRate):
   * answered now, after a wait, or answered and the connection closed. Accepted messages never wait.
   */
  private async answer(frame: Buffer, conn: ConnectionInfo): Promise<Buffer | null | FrameReply> {
    const src = this.o.config.source;
    // A batch (FHS/BHS) is answered by one batch ACK; its messages go through the same intake.
    if (src.type === 'mllp' && src.acceptBatches && BatchIntake.isBatch(frame)) return this.batches.handle(frame);
    const outcome = await this.intake.handle(frame);
    if (outcome.state !== 'refused' || !this.nakLimiter) return outcome.response;
    const d = this.nakLimiter.take(conn);
    if (d.action === 'now') return outcome.response;
    if (d.action === 'delay') {
      await new Promise((r) => setTimeout(r, d.ms));
      return outcome.response;
    }
    this.shedSinceLog++;
    const now = Date.now();
    if (now - this.lastShedLog >= 10_000) {
      this.o.logger.warn('refused messages over the connection budget: connection closed', {
        channel: this.name, code: 'PSL_NAK_RATE', remote: conn.remoteAddress, conn: conn.id, count: this.shedSinceLog,
      });
      this.lastShedLog = now;
      this.shedSinceLog = 0;
    }
    return { response: outcome.response, close: true };
  }

  /**
   * Holds the channel's stages (inbound and each destination) in this process: the source keeps
   * accepting, storing and ACKing; messages wait in the store and the queues until resume().
   * Report-version lines (DMP, MSSanté, PFI) keep sending what they already hold.
   */
  async pause(drainDeadlineMs: number): Promise<void> {
    await Promise.all(this.stages().map((q) => q.pause(drainDeadlineMs)));
  }

  async resume(): Promise<void> {
    await Promise.all(this.stages().map((q) => q.resume()));
  }

  get paused(): boolean {
    return this.pipeline.inbound.isPaused;
  }

  private stages(): OrderedQueue[] {
    return [this.pipeline.inbound, ...this.pipeline.destinationQueues.values()];
  }

  /** Reloads TLS material for new handshakes; connections stay up. */
  reloadTls(): void {
    const tls = this.o.config.source.type === 'mllp' ? this.o.config.source.tls : undefined;
    if (!tls || !this.server) return;
    this.server.reloadTls({ key: readFileSync(resolve(tls.key)), cert: readFileSync(resolve(tls.cert)), ca: tls.ca ? readFileSync(resolve(tls.ca)) : undefined });
  }

  /**
   * Stops within `drainDeadlineMs` in all: each step gets what the previous ones left (in-flight
   * ACKs first, then the queues), never a full deadline of its own.
   */
  async stop(drainDeadlineMs: number): Promise<void> {
    const deadlineAt = Date.now() + drainDeadlineMs;
    const left = (): number => Math.max(0, deadlineAt - Date.now());
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    this.redisWatch?.disconnect();
    await this.directory?.stop();
    await this.server?.close({ drainDeadlineMs: left() });
    this.refusals.close();
    await waitAtMost(this.intake.refusals.settled(), left());
    // The last refusals (fewer than one pruning step) are brought within the quota too.
    if (this.o.listen) await waitAtMost(this.intake.refusals.prune(), left());
    // Enqueues not done by then are re-enqueued from the store by the next start's recovery.
    await waitAtMost(this.flushing, left());
    await Promise.all([this.pipeline.stop(left()), this.appAcks?.stop(left())]);
    await Promise.allSettled(this.destinations.map((d) => d.stop?.(left())));
    await Promise.allSettled(this.destinations.map((d) => waitAtMost(d.close(), left())));
  }

  private queueForEnqueue(id: string, orderingKey: string, stored?: Promise<void>): void {
    this.pendingEnqueue.push({ id, orderingKey, stored });
    if (!this.flushing) this.flushing = this.flush();
  }

  private async flush(): Promise<void> {
    // One flusher at a time keeps commit order; failures leave messages in the store for recovery.
    while (this.pendingEnqueue.length > 0) {
      await this.barrier;
      const batch = this.pendingEnqueue.splice(0, 1000);
      try {
        // Rows are indexed in commit order: the last one stored means all of them are.
        await batch[batch.length - 1]!.stored;
        await this.pipeline.enqueue(batch);
      } catch (e) {
        this.o.logger.warn('enqueue failed; recovery will re-enqueue from the store', { channel: this.name, count: batch.length, error: (e as Error).message });
      }
    }
    this.flushing = undefined;
  }

  /**
   * Redis came back after a drop: it may have lost jobs (no persistence, failover). Hold direct
   * enqueues, re-enqueue from the store in arrival order, then let the held ones through (those
   * the scan already added are no-ops), so older messages never end up behind newer ones.
   */
  private watchRedis(): void {
    const watch = new Redis({ ...this.o.connection, maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) });
    let dropped = false;
    watch.on('error', () => undefined);
    watch.on('close', () => {
      dropped = true;
    });
    watch.on('ready', () => {
      if (!dropped) return;
      dropped = false;
      this.o.logger.warn('redis reconnected: re-enqueueing from the store before new messages', { channel: this.name });
      this.barrier = (async () => {
        for (let attempt = 0; attempt < 30; attempt++) {
          try {
            await this.pipeline.recover();
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      })().finally(() => {
        this.barrier = undefined;
      });
    });
    this.redisWatch = watch;
  }

  private async runRecovery(opts: RecoverOptions): Promise<void> {
    try {
      const n = await this.pipeline.recover(opts);
      if (n > 0) this.o.logger.info('recovery scan re-enqueued lost jobs', { channel: this.name, count: n });
    } catch (e) {
      this.o.logger.warn('recovery scan failed', { channel: this.name, error: (e as Error).message });
    }
  }
}

export function makeDestination(
  d: ChannelConfig['destinations'][number],
  charset: ChannelConfig['charset']['default'],
  o: Pick<ChannelRuntimeOptions, 'ansKit' | 'renderPool' | 'validationPool' | 'logger'> & Partial<Pick<ChannelRuntimeOptions, 'store' | 'connection' | 'prefix' | 'consume'>>,
  channel = '',
): Destination {
  if (d.type === 'pfi-receipts') {
    if (!o.store) throw new Error(`destination ${d.name}: a pfi-receipts destination needs the channel's store`);
    return new PfiReceiptsDestination(d.name, o.store);
  }
  if (d.type === 'orders') {
    if (!o.store || !o.connection) throw new Error(`destination ${d.name}: an orders destination needs the channel's store and Redis`);
    return new OrdersDestination({
      channel, config: d, store: o.store, defaultCharset: charset, connection: o.connection, prefix: o.prefix ?? 'psl', consume: o.consume ?? true, logger: o.logger,
    });
  }
  if (d.type === 'reports') {
    if (!o.store) throw new Error(`destination ${d.name}: a reports destination needs the channel's store`);
    const deps = { store: o.store, kit: o.ansKit, renderPool: o.renderPool, logger: o.logger };
    const opts = reportsDestinationOptions(d, d.fullValidation || d.pfi ? { ...deps, fullValidator: o.validationPool } : deps);
    if (o.connection) opts.lines = { name: `${channel}.${d.name}`, connection: o.connection, prefix: o.prefix ?? 'psl', consume: o.consume ?? true, defaultCharset: charset };
    return new ReportsDestination(opts);
  }
  if (d.type === 'crbio') {
    return new CrBioDestination({
      name: d.name,
      directory: resolve(d.directory),
      version: d.version,
      profiles: [...d.profiles],
      lab: loadLabProfile(resolve(d.lab)),
      kit: o.ansKit,
      renderPool: o.renderPool,
      fullValidator: d.fullValidation ? o.validationPool : undefined,
      visibility: d.visibility,
      limits: d.limits,
      logger: o.logger,
    });
  }
  if (d.type === 'file') return new FileDestination({ name: d.name, directory: resolve(d.directory), fileName: d.fileName, charset: d.charset, defaultCharset: charset });
  return new MllpDestination({
    name: d.name,
    host: d.host,
    port: d.port,
    connectTimeoutMs: d.connectTimeoutMs,
    responseTimeoutMs: d.responseTimeoutMs,
    // The client waits between connection attempts too; left at its own cap (30 s) it would keep a
    // peer that came back idle long after the destination's retry backoff allows the next try.
    reconnect: { baseMs: Math.min(500, d.retry.backoffBaseMs), maxMs: Math.min(30_000, d.retry.backoffMaxMs) },
    charset: d.charset,
    defaultCharset: charset,
    tls: readClientTls(d.tls),
  });
}

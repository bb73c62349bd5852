/**
 * Per-key FIFO over BullMQ OSS (see docs/design.md, "Ordering").
 *
 * - N BullMQ queues `<name>.p<i>` (BullMQ 6 refuses ':' in queue names, so the separator is '.').
 *   A job goes to partition `fnv1a(orderingKey) % N`.
 * - Each partition is consumed by exactly one BullMQ Worker (concurrency 1) in the whole cluster:
 *   the process holding the partition lease (PartitionLeases).
 * - Retries happen inside the job: the processor is called again after a backoff sleep while the
 *   job stays active (its BullMQ lock is extended by the worker), so the partition's line waits.
 *   Attempts made are kept in the job's `progress` so they survive hand-overs and crashes.
 * - Exhausted or permanent failures call `onDead` and fail the BullMQ job (attempts: 1), which
 *   leaves it in the failed set (dead-letter) with reason `<code>: <message>`; the line moves on.
 * - A job interrupted during a backoff (stop, lost lease, rebalance) is moved back to the *head* of
 *   its wait list (`Job.moveToWait`, RPUSH) so it is processed next by whoever owns the partition.
 *   A job whose worker died is moved back to the head by BullMQ's stalled checker (also RPUSH);
 *   `maxStalledCount` is huge so stalling never fails a job. A worker starting on a partition
 *   first waits until the partition's active list is empty, so a previous owner's job is finished
 *   or back at the head before anything else runs.
 * - Workers are recreated after a Redis reconnect and by a watchdog that notices a worker that is
 *   not running, or idle while its partition has waiting jobs (bullmq#648/#2964/#3185).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Queue, Worker, WaitingError, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { PasserelleError, errorCodeOf, retryClassOf } from '../errors';
import { PartitionLeases, fnv1a, type StopReason } from './partition-leases';
import { JobMembers } from './job-members';
import type { AttemptTicket, BackoffOptions, DeadJob, OrderedJob, OrderedQueueOptions, QueueCounts } from './types';

/** Defaults of every optional `OrderedQueueOptions` field. */
export const ORDERED_QUEUE_DEFAULTS = Object.freeze({
  prefix: 'psl',
  partitions: 8,
  maxAttempts: 10,
  backoff: Object.freeze({ baseMs: 500, maxMs: 60_000 }) as Readonly<BackoffOptions>,
  retryAmbiguous: false,
  leaseMs: 10_000,
  keepCompletedSeconds: 3600,
  keepFailedSeconds: 7 * 24 * 3600,
  consume: true,
  drainDeadlineMs: 30_000,
} as const);

/** Largest JSON a job may have (jobs carry ids, never payloads). */
export const MAX_JOB_BYTES = 64 * 1024;
/** Completed jobs kept at most, per partition. */
const KEEP_COMPLETED_COUNT = 1000;
/** Length of each BullMQ event stream (bullmq#2890). */
const EVENTS_MAX_LEN = 1000;
const JOB_NAME = 'm';
/** Adds per socket write in addBulk, with a turn of the event loop between two slices. */
const ADD_SLICE = 32;

/** What is stored in BullMQ's job data. */
interface StoredData {
  /** ordering key */
  k: string;
  /** caller's job id (BullMQ ids are an encoding of it) */
  i: string;
  /** facts */
  d: Record<string, string>;
  /** items the job carries, in order, when it carries several (AddJob.members) */
  m?: string[];
}

export interface AddJob {
  orderingKey: string;
  /** Deterministic job id (as `OrderedJob.id`). */
  id: string;
  data?: Record<string, string>;
  /**
   * Item ids this job carries, in order, when it carries several (an inbound group: one job for
   * many messages of one partition). `missing` then answers per item. Each item should be
   * carried by one live job at a time.
   */
  members?: readonly string[];
}

export interface StopOptions {
  /** How long to wait for running jobs before closing workers by force (their jobs then stall back to wait). */
  drainDeadlineMs?: number;
}

type Resolved = Required<Omit<OrderedQueueOptions, 'onDead' | 'backoff' | 'onError' | 'memberId' | 'gate'>> &
  Pick<OrderedQueueOptions, 'onDead' | 'onError' | 'gate'> & { backoff: BackoffOptions; memberId: string };

/** BullMQ custom ids may not be integers nor contain ':'. This encoding is reversible and stable. */
export function encodeJobId(id: string): string {
  return 'j' + id.replace(/%/g, '%25').replace(/:/g, '%3A');
}

export function decodeJobId(bullId: string): string {
  return bullId.slice(1).replace(/%3A/g, ':').replace(/%25/g, '%');
}

/** Resolves true when aborted before `ms` elapsed. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Tears down a worker whose close()/disconnect() hung (BullMQ internals, best effort): its lock
 * extender and stalled checker would otherwise keep running, and its sockets open, for ever.
 */
async function dropConnections(worker: Worker<StoredData>): Promise<void> {
  const parts = worker as unknown as { lockManager?: { close?(): unknown }; stalledCheckStopper?: () => void };
  try {
    void Promise.resolve(parts.lockManager?.close?.()).catch(() => undefined);
    parts.stalledCheckStopper?.();
  } catch {
    /* internals changed: nothing more to do */
  }
  const internals = worker as unknown as Record<'connection' | 'blockingConnection', { client?: Promise<Redis> } | undefined>;
  for (const conn of [internals.blockingConnection, internals.connection]) {
    const timeout = new AbortController();
    try {
      const client = await Promise.race([conn?.client, sleep(200, timeout.signal).then(() => undefined)]);
      client?.disconnect();
    } catch {
      /* already gone */
    } finally {
      timeout.abort();
    }
  }
}

/** One running BullMQ worker of a partition (replaced on restart). */
interface WorkerCtx {
  worker: Worker<StoredData>;
  /** Aborted to interrupt backoff sleeps and the pre-start wait. */
  abort: AbortController;
  busy: boolean;
  idleSince: number;
  /** Watchdog saw waiting jobs with an idle worker once already. */
  suspect: boolean;
  /** `run()` was called (the pre-start wait is over). */
  running: boolean;
  /** `run()` returned (the worker's main loop ended). */
  ended: boolean;
}

interface PartitionRun {
  partition: number;
  ctx?: WorkerCtx;
  stopping: boolean;
  /** Serialises start / stop / restart. */
  chain: Promise<void>;
}

export class OrderedQueue extends EventEmitter {
  readonly options: Readonly<Resolved>;
  private readonly queues: Queue<StoredData>[] = [];
  private readonly redis: Redis;
  private readonly members: JobMembers;
  private readonly leases?: PartitionLeases;
  private readonly runs = new Map<number, PartitionRun>();
  private watchdog: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private sawClose = false;
  /** Operator's pause (console): leases kept, no worker runs until resume(). */
  private paused = false;
  private drainDeadlineMs: number = ORDERED_QUEUE_DEFAULTS.drainDeadlineMs;

  constructor(options: OrderedQueueOptions) {
    super();
    const d = ORDERED_QUEUE_DEFAULTS;
    const o: Resolved = {
      name: options.name,
      connection: options.connection,
      prefix: options.prefix ?? d.prefix,
      partitions: options.partitions ?? d.partitions,
      processor: options.processor,
      onDead: options.onDead,
      onError: options.onError,
      gate: options.gate,
      maxAttempts: options.maxAttempts ?? d.maxAttempts,
      backoff: { baseMs: options.backoff?.baseMs ?? d.backoff.baseMs, maxMs: options.backoff?.maxMs ?? d.backoff.maxMs },
      retryAmbiguous: options.retryAmbiguous ?? d.retryAmbiguous,
      leaseMs: options.leaseMs ?? d.leaseMs,
      keepCompletedSeconds: options.keepCompletedSeconds ?? d.keepCompletedSeconds,
      keepFailedSeconds: options.keepFailedSeconds ?? d.keepFailedSeconds,
      consume: options.consume ?? d.consume,
      memberId: options.memberId ?? `${process.pid}-${randomUUID()}`,
    };
    if (!o.name || o.name.includes(':')) {
      throw new PasserelleError('PSL_CONFIG_INVALID', `queue name ${JSON.stringify(o.name)} must be non-empty, without ':'`);
    }
    if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > 1024) {
      throw new PasserelleError('PSL_CONFIG_INVALID', 'partitions must be an integer in 1..1024');
    }
    if (!Number.isInteger(o.maxAttempts) || o.maxAttempts < 1) {
      throw new PasserelleError('PSL_CONFIG_INVALID', 'maxAttempts must be a positive integer');
    }
    if (!(o.leaseMs >= 300)) throw new PasserelleError('PSL_CONFIG_INVALID', 'leaseMs must be at least 300');
    this.options = Object.freeze(o);

    // One plain connection for producers (shared by the N Queues), leases and counts.
    this.redis = new Redis({ ...o.connection, maxRetriesPerRequest: null });
    this.redis.on('error', (err: unknown) => this.report(err, 'redis'));
    this.redis.on('close', () => {
      this.sawClose = true;
    });
    this.redis.on('ready', () => {
      if (this.sawClose) {
        this.sawClose = false;
        this.onReconnect();
      }
    });

    this.members = new JobMembers(this.redis, `${o.prefix}:${o.name}:members`);
    for (let i = 0; i < o.partitions; i++) {
      const q = new Queue<StoredData>(this.queueName(i), {
        connection: this.redis,
        prefix: o.prefix,
        streams: { events: { maxLen: EVENTS_MAX_LEN } },
      });
      q.on('error', (err: unknown) => this.report(err, `queue ${i}`));
      this.queues.push(q);
    }

    if (o.consume) {
      this.leases = new PartitionLeases({
        redis: this.redis,
        prefix: o.prefix,
        name: o.name,
        partitions: o.partitions,
        leaseMs: o.leaseMs,
        memberId: o.memberId,
        hooks: {
          start: (i) => this.startPartition(i),
          stop: (i, reason) => this.stopPartition(i, reason),
        },
        onError: (err, context) => this.report(err, context),
      });
    }
  }

  /** BullMQ queue name of partition `i`. */
  queueName(i: number): string {
    return `${this.options.name}.p${i}`;
  }

  partitionOf(orderingKey: string): number {
    return fnv1a(orderingKey) % this.options.partitions;
  }

  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopped) throw new Error('OrderedQueue cannot be restarted after stop()');
    this.started = true;
    await Promise.all(this.queues.map((q) => q.waitUntilReady()));
    if (this.leases) {
      await this.leases.start();
      const period = Math.max(200, Math.floor(this.options.leaseMs / 3));
      this.watchdog = setInterval(() => void this.checkWorkers(), period);
      this.watchdog.unref?.();
    }
  }

  /**
   * Stops consuming: backoff sleeps are interrupted (their jobs go back to the head of the line),
   * running processor calls may finish until `drainDeadlineMs`, then leases are released.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.drainDeadlineMs = options.drainDeadlineMs ?? ORDERED_QUEUE_DEFAULTS.drainDeadlineMs;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    if (this.leases) await this.leases.stop();
    await Promise.allSettled(this.queues.map((q) => q.close()));
    this.redis.disconnect();
  }

  /**
   * Stops consuming in this process while keeping its partitions' leases, so no other process
   * takes them over: the partitions this process owns hold their lines. The workers are closed
   * rather than paused (BullMQ Worker.pause) so that the watchdog and reconnects, which recreate
   * workers, have one state to respect. A backoff sleep or a gate wait gives its job back to the
   * head of the line; a running attempt may finish within `drainDeadlineMs`. Adding jobs goes on.
   */
  async pause(drainDeadlineMs: number = ORDERED_QUEUE_DEFAULTS.drainDeadlineMs): Promise<void> {
    if (this.paused || this.stopped) return;
    this.paused = true;
    await Promise.all([...this.runs.values()].map((run) => this.enqueue(run, () => this.stopWorker(run, drainDeadlineMs))));
  }

  /** Consumes again the partitions this process holds (and any it gets from now on). */
  async resume(): Promise<void> {
    if (!this.paused || this.stopped) return;
    this.paused = false;
    await Promise.all(
      [...this.runs.values()].map((run) =>
        this.enqueue(run, async () => {
          if (!run.stopping && !run.ctx && !this.paused) await this.startWorker(run);
        }),
      ),
    );
  }

  get isPaused(): boolean {
    return this.paused;
  }

  // ------------------------------------------------------------------ producing

  private toBulk(job: AddJob): { partition: number; data: StoredData; opts: JobsOptions } {
    const { orderingKey, id: jobId } = job;
    const data = job.data ?? {};
    if (typeof orderingKey !== 'string' || orderingKey === '' || typeof jobId !== 'string' || jobId === '') {
      throw new PasserelleError('PSL_QUEUE_JOB_INVALID', 'ordering key and job id must be non-empty strings');
    }
    for (const v of Object.values(data)) {
      if (typeof v !== 'string') throw new PasserelleError('PSL_QUEUE_JOB_INVALID', `job ${jobId}: data values must be strings`);
    }
    const stored: StoredData = { k: orderingKey, i: jobId, d: data };
    if (job.members) {
      if (job.members.length === 0 || job.members.some((m) => typeof m !== 'string' || m === '')) {
        throw new PasserelleError('PSL_QUEUE_JOB_INVALID', `job ${jobId}: members must be non-empty strings`);
      }
      stored.m = [...job.members];
    }
    const bytes = Buffer.byteLength(JSON.stringify(stored), 'utf8');
    if (bytes > MAX_JOB_BYTES) {
      throw new PasserelleError('PSL_QUEUE_JOB_TOO_LARGE', `job ${jobId} is ${bytes} bytes (max ${MAX_JOB_BYTES})`, {
        details: { bytes },
      });
    }
    return {
      partition: this.partitionOf(orderingKey),
      data: stored,
      opts: {
        jobId: encodeJobId(jobId),
        attempts: 1,
        removeOnComplete: { age: this.options.keepCompletedSeconds, count: KEEP_COMPLETED_COUNT },
        removeOnFail: { age: this.options.keepFailedSeconds },
        keepLogs: 0,
      },
    };
  }

  /**
   * Appends a job to its key's line. Adding an id that still exists is a no-op (safe re-enqueue).
   * Returns the partition.
   */
  async add(orderingKey: string, jobId: string, data: Record<string, string> = {}): Promise<number> {
    const b = this.toBulk({ orderingKey, id: jobId, data });
    await this.queues[b.partition].add(JOB_NAME, b.data, b.opts);
    return b.partition;
  }

  /**
   * Adds many jobs; jobs of one key keep their relative order (one connection, commands sent in
   * order). One `add` per job rather than a MULTI per partition: each ioredis pipeline copies every
   * BullMQ script onto a new object, which cost more than the adds themselves on the intake path
   * (profile, issue 7). Jobs go in slices of ADD_SLICE, each corked into one socket write, with a
   * turn of the event loop between slices: a few hundred adds at once (a journal index batch) held
   * the loop 4–6 ms, and every connection's ACK with it. Atomicity is not needed: a job that was
   * not added is re-added by recovery.
   */
  async addBulk(jobs: readonly AddJob[]): Promise<void> {
    const adds: Promise<unknown>[] = [];
    for (let at = 0; at < jobs.length; at += ADD_SLICE) {
      if (at > 0) await new Promise<void>((r) => setImmediate(r));
      const slice = jobs.slice(at, at + ADD_SLICE);
      const stream = (this.redis as unknown as { stream?: { cork?: () => void; uncork?: () => void; writable?: boolean } }).stream;
      const cork = slice.length > 1 && !!stream?.writable && typeof stream.cork === 'function';
      if (cork) {
        stream!.cork!();
        setImmediate(() => stream!.uncork!());
      }
      try {
        for (const j of slice) {
          const b = this.toBulk(j);
          const q = this.queues[b.partition];
          if (b.data.m) {
            const recorded = this.members.record(q.toKey(b.opts.jobId!), b.data.m.filter((m) => m !== j.id));
            if (recorded) adds.push(recorded);
          }
          adds.push(q.add(JOB_NAME, b.data, b.opts));
        }
      } catch (e) {
        void Promise.allSettled(adds); // the adds already sent are not left unhandled
        throw e;
      }
    }
    await Promise.all(adds);
  }

  // ------------------------------------------------------------------ inspection

  /**
   * The items among `jobs` that no job in Redis carries: neither a live group job listing them
   * (AddJob.members) nor a job of their own id in any state (lost with Redis, never added, or
   * removed after completing). One script call; used by recovery, which re-adds only these, so a
   * live job is never re-added.
   */
  async missing<T extends AddJob>(jobs: readonly T[]): Promise<T[]> {
    if (jobs.length === 0) return [];
    const gone = await this.members.uncarried(
      jobs.map((j) => ({ id: j.id, ownJobKey: this.queues[this.partitionOf(j.orderingKey)].toKey(encodeJobId(j.id)) })),
    );
    return jobs.filter((j) => gone.has(j.id));
  }

  /** Removes member entries left behind by jobs that finished without removing them (a crash); returns how many. */
  sweepMembers(): Promise<number> {
    return this.members.sweep();
  }

  async counts(): Promise<QueueCounts> {
    const all = await Promise.all(
      this.queues.map((q) => q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed')),
    );
    const sum = (k: string): number => all.reduce((n, c) => n + (c[k] ?? 0), 0);
    return {
      waiting: sum('waiting') + sum('prioritized'),
      active: sum('active'),
      delayed: sum('delayed'),
      failed: sum('failed'),
      completed: sum('completed'),
      ownedPartitions: this.leases?.owned() ?? [],
    };
  }

  /** Most recently dead-lettered jobs first. */
  async listDead(limit = 100): Promise<DeadJob[]> {
    const lists = await Promise.all(this.queues.map((q) => q.getFailed(0, Math.max(0, limit - 1))));
    const out: DeadJob[] = [];
    for (const list of lists) {
      for (const j of list) {
        if (!j) continue;
        const data = j.data as StoredData;
        out.push({
          id: data?.i ?? decodeJobId(String(j.id)),
          key: data?.k ?? '',
          reason: j.failedReason ?? '',
          failedAt: j.finishedOn ?? 0,
        });
      }
    }
    out.sort((a, b) => b.failedAt - a.failedAt);
    return out.slice(0, limit);
  }

  /**
   * Re-runs a dead-lettered job: it goes to the *tail* of its partition's line with its attempts
   * reset. Returns false when no dead job has that id.
   */
  async reprocess(jobId: string): Promise<boolean> {
    const bullId = encodeJobId(jobId);
    for (const q of this.queues) {
      const job = await q.getJob(bullId);
      if (!job) continue;
      if (!(await job.isFailed())) return false;
      await job.updateProgress(0);
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ consuming

  private report(err: unknown, context: string): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', err, context);
    }
    try {
      this.options.onError?.(err, context);
    } catch {
      /* ignore */
    }
  }

  private debug(msg: string): void {
    if (process.env.PSL_QUEUE_DEBUG) this.report(new Error(`[debug ${Date.now() % 100000}] ${msg}`), 'debug');
  }

  private enqueue(run: PartitionRun, op: () => Promise<void>): Promise<void> {
    const p = run.chain.then(op, op);
    run.chain = p.catch((err: unknown) => this.report(err, `partition ${run.partition}`));
    return p;
  }

  private startPartition(i: number): Promise<void> {
    let run = this.runs.get(i);
    if (!run) {
      run = { partition: i, stopping: false, chain: Promise.resolve() };
      this.runs.set(i, run);
    }
    run.stopping = false;
    const r = run;
    return this.enqueue(r, async () => {
      if (!r.stopping && !r.ctx && !this.paused) await this.startWorker(r);
    });
  }

  private stopPartition(i: number, reason: StopReason): Promise<void> {
    const run = this.runs.get(i);
    if (!run) return Promise.resolve();
    run.stopping = true;
    run.ctx?.abort.abort(reason);
    const deadline = reason === 'shutdown' ? this.drainDeadlineMs : ORDERED_QUEUE_DEFAULTS.drainDeadlineMs;
    return this.enqueue(run, async () => {
      await this.stopWorker(run, deadline);
      if (run.stopping && this.runs.get(i) === run) this.runs.delete(i);
    });
  }

  private restartPartition(run: PartitionRun, why: string): void {
    if (run.stopping || this.paused) return;
    run.ctx?.abort.abort('restart');
    void this.enqueue(run, async () => {
      if (run.stopping) return;
      this.report(new Error(`restarting worker of partition ${run.partition}: ${why}`), 'watchdog');
      await this.stopWorker(run, ORDERED_QUEUE_DEFAULTS.drainDeadlineMs);
      if (!run.stopping && !this.paused) await this.startWorker(run);
    });
  }

  private onReconnect(): void {
    if (!this.leases || this.stopped) return;
    void this.leases.poke();
    for (const run of this.runs.values()) this.restartPartition(run, 'redis reconnected');
  }

  /** Watchdog: a worker must be running, and must not idle while its partition has waiting jobs. */
  private async checkWorkers(): Promise<void> {
    if (this.stopped) return;
    const idleLimit = Math.max(1000, Math.floor(this.options.leaseMs / 2));
    for (const run of this.runs.values()) {
      const ctx = run.ctx;
      if (!ctx || run.stopping || !ctx.running) continue;
      try {
        if (!ctx.worker.isRunning() && !ctx.abort.signal.aborted) {
          this.restartPartition(run, 'worker not running');
          continue;
        }
        if (ctx.busy || Date.now() - ctx.idleSince < idleLimit) {
          ctx.suspect = false;
          continue;
        }
        const waiting = await this.queues[run.partition].getWaitingCount();
        if (waiting > 0) {
          if (ctx.suspect) this.restartPartition(run, 'idle with waiting jobs');
          else ctx.suspect = true;
        } else {
          ctx.suspect = false;
        }
      } catch (err) {
        this.report(err, `watchdog ${run.partition}`);
      }
    }
  }

  private async startWorker(run: PartitionRun): Promise<void> {
    const i = run.partition;
    const o = this.options;
    const abort = new AbortController();
    const ctxRef: { ctx?: WorkerCtx } = {};
    // autorun: false, so the stalled checks below run before anything is fetched.
    const worker = new Worker<StoredData>(this.queueName(i), (job: Job<StoredData>, token?: string) => this.process(run, ctxRef.ctx!, job, token), {
      // ioredis' RedisOptions and BullMQ's differ only in retryStrategy's return type.
      connection: { ...o.connection, maxRetriesPerRequest: null } as unknown as ConnectionOptions,
      prefix: o.prefix,
      autorun: false,
      concurrency: 1,
      lockDuration: o.leaseMs,
      stalledInterval: Math.max(500, Math.floor(o.leaseMs / 2)),
      maxStalledCount: 1_000_000,
      runRetryDelay: Math.min(1000, o.leaseMs),
      drainDelay: 5,
    });
    const ctx: WorkerCtx = { worker, abort, busy: false, idleSince: Date.now(), suspect: false, running: false, ended: false };
    ctxRef.ctx = ctx;
    worker.on('error', (err: unknown) => this.report(err, `worker ${i}`));
    run.ctx = ctx;
    try {
      this.debug(`p${i} starting`);
      await worker.waitUntilReady();
      this.debug(`p${i} ready`);
      // A previous owner's job may still be active: wait until it finished or went back to the
      // head of the line (the stalled checker moves it once its lock expired).
      await worker.startStalledCheckTimer();
      const q = this.queues[i];
      while (!abort.signal.aborted && (await q.getActiveCount()) > 0) {
        await sleep(100, abort.signal);
      }
      if (abort.signal.aborted || run.stopping) return;
      ctx.idleSince = Date.now();
      ctx.running = true;
      this.debug(`p${i} run`);
      worker
        .run()
        .catch((err: unknown) => this.report(err, `worker ${i} run`))
        .finally(() => {
          ctx.ended = true;
          this.debug(`p${i} run() returned`);
        });
    } catch (err) {
      this.report(err, `worker ${i} start`);
      // Hand it to the watchdog, which restarts a worker that is not running.
      ctx.running = true;
    }
  }

  private async stopWorker(run: PartitionRun, deadlineMs: number): Promise<void> {
    const ctx = run.ctx;
    if (!ctx) return;
    ctx.abort.abort('stop');
    this.debug(`p${run.partition} closing worker`);
    const cancel = new AbortController();
    const closing = ctx.worker.close().then(
      () => 'closed' as const,
      () => 'closed' as const,
    );
    // After a Redis restart, Worker.close() can hang in connection shutdown although no job
    // runs any more: once the main loop ended and nothing is processing, give it a short grace.
    const idle = (async () => {
      while (!cancel.signal.aborted && ((ctx.running && !ctx.ended) || ctx.busy)) await sleep(50, cancel.signal);
      await sleep(2000, cancel.signal);
      return 'idle' as const;
    })();
    const deadline = sleep(deadlineMs, cancel.signal).then(() => 'deadline' as const);
    const outcome = await Promise.race([closing, idle, deadline]);
    cancel.abort();
    if (outcome !== 'closed') {
      if (outcome === 'deadline') {
        // The running job keeps its lock until it expires, then stalls back to the head of its line.
        this.report(new Error(`partition ${run.partition}: drain deadline passed, dropping the worker`), 'stop');
      }
      // disconnect() may hang as well: do not wait for it long, then close its sockets by hand
      // (a dropped worker's connections would otherwise keep the process alive).
      const t = new AbortController();
      await Promise.race([ctx.worker.disconnect().catch(() => undefined), sleep(1000, t.signal)]);
      t.abort();
      await dropConnections(ctx.worker);
    }
    this.debug(`p${run.partition} closed worker (${outcome})`);
    if (run.ctx === ctx) run.ctx = undefined;
  }

  private backoffMs(attempt: number): number {
    const { baseMs, maxMs } = this.options.backoff;
    const exp = Math.min(maxMs, baseMs * 2 ** Math.min(30, attempt - 1));
    const jitter = 1 + (Math.random() * 0.2 - 0.1);
    return Math.max(0, Math.min(maxMs, Math.round(exp * jitter)));
  }

  private mayRun(run: PartitionRun, ctx: WorkerCtx): boolean {
    return !run.stopping && !ctx.abort.signal.aborted && !this.stopped && (this.leases?.isValid(run.partition) ?? false);
  }

  /**
   * Puts the job back at the head of its line and tells BullMQ to leave it alone. With `pauseMs`,
   * waits (without holding the job) before the worker may fetch again.
   */
  private async giveBack(job: Job<StoredData>, token: string | undefined, pause?: { ms: number; signal: AbortSignal }): Promise<never> {
    try {
      await job.moveToWait(token);
    } catch (err) {
      // Lock already gone: the stalled checker returns it to the head of the line.
      this.report(err, `give back job ${job.id}`);
    }
    if (pause) await sleep(pause.ms, pause.signal);
    throw new WaitingError();
  }

  /**
   * True when `jobId` is the only active job of the partition. Another active job is older than
   * ours: a previous owner still finishing it, or a fetch re-sent by a closed worker's connection
   * after a Redis reconnect. It must run first: it returns to the head of the line when done or
   * when its lock expires (stalled checker).
   */
  private async aloneInActive(partition: number, jobId: string): Promise<boolean> {
    const active = await this.redis.lrange(this.queues[partition].keys.active, 0, -1);
    return active.every((id) => id === jobId);
  }

  private async process(run: PartitionRun, ctx: WorkerCtx, job: Job<StoredData>, token: string | undefined): Promise<void> {
    ctx.busy = true;
    try {
      const o = this.options;
      const data = job.data;
      const made = typeof job.progress === 'number' ? job.progress : 0;
      let attempt = made + 1;
      if (!(await this.aloneInActive(run.partition, String(job.id)))) {
        this.debug(`p${run.partition} job ${job.id} waits for an older active job`);
        return await this.giveBack(job, token, { ms: 100, signal: ctx.abort.signal });
      }
      for (;;) {
        if (!this.mayRun(run, ctx)) return await this.giveBack(job, token);
        let ticket: AttemptTicket | undefined;
        if (o.gate) {
          // The head may wait here for as long as its target is down; no attempt is used.
          ticket = await o.gate.admit(ctx.abort.signal);
          if (!ticket) return await this.giveBack(job, token);
          if (!this.mayRun(run, ctx)) {
            ticket.cancelled();
            return await this.giveBack(job, token);
          }
        }
        const oj: OrderedJob = {
          id: data.i,
          orderingKey: data.k,
          partition: run.partition,
          data: { ...data.d },
          members: data.m ? [...data.m] : undefined,
          attempt,
        };
        let error: unknown;
        let ok = false;
        try {
          await o.processor(oj);
          ok = true;
        } catch (err) {
          error = err;
        }
        if (ok) {
          ticket?.succeeded();
          await this.releaseMembers(run.partition, job);
          return;
        }
        const cls = retryClassOf(error);
        const retryable = cls === 'transient' || (cls === 'ambiguous' && o.retryAmbiguous);
        // An outage of the whole target is not the job's fault: it waits at the gate instead.
        const outage = ticket?.failed(error, retryable) ?? false;
        if (retryable && outage) continue;
        if (!retryable || attempt >= o.maxAttempts) {
          if (!(await this.deadLetter(run, ctx, oj, error))) return await this.giveBack(job, token);
          await this.releaseMembers(run.partition, job);
          const msg = error instanceof Error ? error.message : String(error);
          const dead = new Error(`${errorCodeOf(error)}: ${msg}`);
          if (error instanceof Error && error.stack) dead.stack = error.stack;
          throw dead;
        }
        try {
          await job.updateProgress(attempt);
        } catch (err) {
          this.report(err, `record attempt of job ${job.id}`);
        }
        const interrupted = await sleep(this.backoffMs(attempt), ctx.abort.signal);
        if (interrupted) return await this.giveBack(job, token);
        attempt++;
      }
    } finally {
      ctx.busy = false;
      ctx.idleSince = Date.now();
    }
  }

  /** A group job is finishing: its items' entries go (a failure only leaves entries `sweepMembers` removes). */
  private async releaseMembers(partition: number, job: Job<StoredData>): Promise<void> {
    const m = job.data.m;
    if (!m) return;
    try {
      await this.members.release(this.queues[partition].toKey(String(job.id)), m.filter((id) => id !== job.data.i));
    } catch (err) {
      this.report(err, `release members of job ${job.id}`);
    }
  }

  /**
   * Calls onDead; a transient onDead failure is retried (the line waits), others are reported and
   * the job is dead-lettered anyway. Returns false when interrupted (the job must be given back).
   */
  private async deadLetter(run: PartitionRun, ctx: WorkerCtx, job: OrderedJob, error: unknown): Promise<boolean> {
    const onDead = this.options.onDead;
    if (!onDead) return true;
    for (let k = 1; ; k++) {
      try {
        await onDead(job, error);
        return true;
      } catch (err) {
        this.report(err, `onDead of job ${job.id}`);
        if (retryClassOf(err) !== 'transient' || k >= this.options.maxAttempts) return true;
        if (await sleep(this.backoffMs(k), ctx.abort.signal)) return false;
        if (!this.mayRun(run, ctx)) return false;
      }
    }
  }
}

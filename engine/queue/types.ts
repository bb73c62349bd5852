import type { RedisOptions } from 'ioredis';

/** A job as the processor sees it. Jobs carry ids and small routing facts, never payloads. */
export interface OrderedJob {
  /** Deterministic job id (e.g. the message id, or `<messageId>:<destination>`). */
  id: string;
  orderingKey: string;
  partition: number;
  /** Small string facts (≤ 1 KB in all); the queue refuses jobs over 64 KB. */
  data: Record<string, string>;
  /** The items a group job carries, in order (AddJob.members); undefined for a one-item job. */
  members?: readonly string[];
  /** 1 for the first try. */
  attempt: number;
}

export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  baseMs: number;
  /** Cap of the exponential delay. Default 60 000 ms. */
  maxMs: number;
}

/**
 * Lets a caller hold every head of a queue while the one target they all go to is down
 * (engine/delivery/destination-health.ts). OrderedQueue asks before each attempt of a job and
 * reports how the attempt went on the ticket it got.
 */
export interface AttemptGate {
  /**
   * Resolves with a ticket once the job may make an attempt, or undefined when `signal` aborted
   * first (stop, lost lease): the job then goes back to the head of its line. Time spent waiting
   * here uses none of the job's attempts.
   */
  admit(signal: AbortSignal): Promise<AttemptTicket | undefined>;
}

export interface AttemptTicket {
  succeeded(): void;
  /**
   * The attempt failed; `retryable` says whether OrderedQueue would try again. Returns true when
   * the failure is put down to an outage of the whole target: the job's attempt is not counted
   * and its own backoff is not slept (the gate paces the next try).
   */
  failed(error: unknown, retryable: boolean): boolean;
  /** The attempt was not made after all (interrupted before the processor ran). */
  cancelled(): void;
}

export interface OrderedQueueOptions {
  /** Queue name; BullMQ queues are `<name>.p<i>` (BullMQ refuses `:` in queue names). Must not contain `:`. */
  name: string;
  /** Redis connection (ioredis options). */
  connection: RedisOptions;
  /** BullMQ key prefix; tests use a fresh one per file. Default 'psl'. */
  prefix?: string;
  /** Number of partitions. Default 8. Changing it re-partitions keys: drain first. */
  partitions?: number;
  /**
   * Does the work. Throwing an error whose retry class (engine/errors `retryClassOf`) is
   * `transient` retries in place with backoff (the partition's line waits); `ambiguous` retries
   * only when `retryAmbiguous` is true; otherwise the job is dead-lettered at once.
   */
  processor: (job: OrderedJob) => Promise<void>;
  /** Asked before every attempt (see AttemptGate). None: every head attempts as soon as it is fetched. */
  gate?: AttemptGate;
  /** Called once when a job is dead-lettered (exhausted or permanent), before the line moves on. */
  onDead?: (job: OrderedJob, err: unknown) => Promise<void>;
  /** Attempts before dead-letter, first try included. Default 10. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  /** Retry `ambiguous` failures as transient. Default false. */
  retryAmbiguous?: boolean;
  /** Partition lease time-to-live; renewed at a third of it. Default 10 000 ms. */
  leaseMs?: number;
  /** Keep completed jobs this long (seconds) for inspection. Default 3600, count capped at 1000. */
  keepCompletedSeconds?: number;
  /** Keep dead-lettered jobs this long (seconds). Default 7 days. */
  keepFailedSeconds?: number;
  /** Whether this process consumes (runs workers). Producers-only processes set false. Default true. */
  consume?: boolean;
  /** Identity of this consumer in the lease cluster. Default `<pid>-<uuid>` (unique per instance). */
  memberId?: string;
  /** Told about errors the queue handles by itself (Redis down, worker restarts, lease errors). */
  onError?: (err: unknown, context: string) => void;
}

/** A dead-lettered job as `listDead` reports it. */
export interface DeadJob {
  id: string;
  /** Its ordering key. */
  key: string;
  /** `<code>: <message>` of the last failure. */
  reason: string;
  /** Epoch ms. */
  failedAt: number;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Partitions whose lease this process holds. */
  ownedPartitions: number[];
}

/**
 * An outbound MLLP line of the engine's own (application ACKs, sub-orders to a subcontractor,
 * status changes to a placer): an MLLP client to one peer and an ordered queue whose jobs it
 * sends, retried per the line's settings. One place, so every such line behaves alike.
 */
import type { RedisOptions } from 'ioredis';
import type { Charset } from '../hl7';
import { OrderedQueue } from '../queue';
import type { OrderedJob } from '../queue/types';
import type { Logger } from '../runtime/logger';
import { readClientTls, type ClientTlsFiles } from './client-tls';
import { MllpDestination } from './mllp-destination';

/** The connection and retry fields every outbound line takes in a channel file. */
export interface OutboundConfig {
  host: string;
  port: number;
  tls?: ClientTlsFiles;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  charset?: Charset;
  retry: { maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number; retryAmbiguous: boolean };
}

/** What any of the engine's own lines needs from the engine: Redis, whether this process consumes, the log. */
export interface LineDeps {
  defaultCharset: Charset;
  connection: RedisOptions;
  prefix: string;
  consume: boolean;
  logger: Logger;
}

export interface OutboundLineOptions {
  /** Queue name (`<channel>.<what>`) and the peer's name in errors. */
  name: string;
  peer: string;
  config: OutboundConfig;
  defaultCharset: Charset;
  connection: RedisOptions;
  prefix: string;
  partitions: number;
  consume: boolean;
  processor: (job: OrderedJob, out: MllpDestination) => Promise<void>;
  /** Log fields naming the line in its messages. */
  logFields: Record<string, string>;
  /** What the dead-letter log line says. */
  deadMessage: string;
  /** Also called when a job is given up (after the log line): record it where the line keeps its state. */
  onDead?: (job: OrderedJob, err: unknown) => Promise<void>;
  logger: Logger;
}

export interface OutboundLine {
  queue: OrderedQueue;
  out: MllpDestination;
}

/** The MLLP client of a line: its reconnect wait stays within the line's backoff (a peer that came back is used at once). */
export function lineClient(peer: string, c: OutboundConfig, defaultCharset: Charset): MllpDestination {
  return new MllpDestination({
    name: peer,
    host: c.host,
    port: c.port,
    connectTimeoutMs: c.connectTimeoutMs,
    responseTimeoutMs: c.responseTimeoutMs,
    reconnect: { baseMs: Math.min(500, c.retry.backoffBaseMs), maxMs: Math.min(30_000, c.retry.backoffMaxMs) },
    charset: c.charset,
    defaultCharset,
    tls: readClientTls(c.tls),
  });
}

export function outboundLine(o: OutboundLineOptions): OutboundLine {
  const c = o.config;
  const out = lineClient(o.peer, c, o.defaultCharset);
  const queue = new OrderedQueue({
    name: o.name,
    connection: o.connection,
    prefix: o.prefix,
    partitions: o.partitions,
    consume: o.consume,
    maxAttempts: c.retry.maxAttempts,
    backoff: { baseMs: c.retry.backoffBaseMs, maxMs: c.retry.backoffMaxMs },
    retryAmbiguous: c.retry.retryAmbiguous,
    processor: (job) => o.processor(job, out),
    onDead: async (job, err) => {
      o.logger.error(o.deadMessage, { ...o.logFields, job: job.id, code: (err as { code?: string })?.code ?? 'PSL_INTERNAL' });
      await o.onDead?.(job, err);
    },
    onError: (err, context) => o.logger.warn('queue trouble', { ...o.logFields, queue: context, error: (err as Error)?.message ?? String(err) }),
  });
  return { queue, out };
}

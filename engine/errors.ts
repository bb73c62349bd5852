/**
 * The engine's one catalogue of coded errors (fastify style).
 *
 * Every error the engine raises on purpose carries a machine `code` and a `retry` class.
 * Queues and destinations decide what to do from `retry`, never by parsing messages:
 *  - `transient`: try again later with backoff (peer down, timeout before send, store busy);
 *  - `ambiguous`: the effect may have happened (ACK timeout after a send); retried only when
 *    the destination says its peer is idempotent, otherwise dead-lettered for review;
 *  - `permanent`: retrying cannot help (AR/CR from a peer, invalid content, bad config).
 *
 * The HL7 library (engine/hl7) has its own errors and does not import this file.
 */
export type RetryClass = 'transient' | 'ambiguous' | 'permanent';

interface ErrorSpec {
  readonly retry: RetryClass;
  readonly summary: string;
}

export const ERROR_CATALOGUE = {
  // configuration
  PSL_CONFIG_INVALID: { retry: 'permanent', summary: 'a channel file or setting is invalid' },
  PSL_CONFIG_SECRET_MISSING: { retry: 'permanent', summary: 'an environment variable named by a channel is not set' },
  // intake
  PSL_STORE_UNAVAILABLE: { retry: 'transient', summary: 'the message store could not commit' },
  PSL_FRAME_TOO_LARGE: { retry: 'permanent', summary: 'an MLLP frame exceeded the maximum size' },
  // processing
  PSL_TRANSFORM_FAILED: { retry: 'permanent', summary: 'a transform handler threw or returned invalid output' },
  PSL_FILTER_FAILED: { retry: 'permanent', summary: 'a filter threw' },
  PSL_REPROCESS_REFUSED: { retry: 'permanent', summary: 'only dead-lettered messages can be reprocessed' },
  PSL_MESSAGE_MISSING: { retry: 'permanent', summary: 'a job refers to a message the store does not hold' },
  // destinations
  PSL_DEST_CONNECT: { retry: 'transient', summary: 'the destination could not be reached' },
  PSL_DEST_ACK_TIMEOUT: { retry: 'ambiguous', summary: 'the message was sent but no ACK came back in time' },
  PSL_DEST_NAK_RETRY: { retry: 'transient', summary: 'the destination answered AR/CR (rejected for now)' },
  PSL_DEST_NAK_ERROR: { retry: 'permanent', summary: 'the destination answered AE/CE (content error)' },
  PSL_DEST_BAD_ACK: { retry: 'ambiguous', summary: 'the destination answered something that is not a matching ACK' },
  PSL_DEST_IO: { retry: 'transient', summary: 'a file destination could not write' },
  // queue
  PSL_QUEUE_JOB_INVALID: { retry: 'permanent', summary: 'a queue job has an empty ordering key or job id, or data that is not string facts' },
  PSL_QUEUE_JOB_TOO_LARGE: { retry: 'permanent', summary: 'a queue job is larger than 64 KB (jobs carry ids, never payloads)' },
  PSL_TEST_TRANSIENT: { retry: 'transient', summary: 'a failure injected by a test or a handler to ask for a retry' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class PasserelleError extends Error {
  readonly code: ErrorCode;
  readonly retry: RetryClass;
  /** Extra machine-readable facts (never patient data). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? ERROR_CATALOGUE[code].summary, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PasserelleError';
    this.code = code;
    this.retry = ERROR_CATALOGUE[code].retry;
    this.details = options?.details;
  }
}

/** The retry class of anything thrown: coded errors say it; unknown errors are permanent. */
export function retryClassOf(err: unknown): RetryClass {
  if (err instanceof PasserelleError) return err.retry;
  if (err && typeof err === 'object' && 'retry' in err) {
    const r = (err as { retry: unknown }).retry;
    if (r === 'transient' || r === 'ambiguous' || r === 'permanent') return r;
  }
  return 'permanent';
}

export function errorCodeOf(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return 'PSL_INTERNAL';
}

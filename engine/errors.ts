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
  PSL_REFERENCE_DATA_MISSING: { retry: 'permanent', summary: 'the ANS kit or the HL7 sample corpus could not be found nor fetched' },
  // intake
  PSL_STORE_UNAVAILABLE: { retry: 'transient', summary: 'the message store could not commit' },
  PSL_FRAME_TOO_LARGE: { retry: 'permanent', summary: 'an MLLP frame exceeded the maximum size' },
  PSL_BATCH_OVER_MLLP: { retry: 'permanent', summary: 'an HL7 batch (FHS/BHS) arrived in one MLLP frame where the channel does not take batches' },
  PSL_CONNECTION_REFUSED: { retry: 'transient', summary: 'connections were turned away (over maxConnections, failed TLS handshake, listener closing); logged once per interval with a count' },
  PSL_LISTENER_ERROR: { retry: 'transient', summary: 'the listening socket reported an error (e.g. EMFILE on accept); the listener keeps running' },
  PSL_CHARSET_INVALID: { retry: 'permanent', summary: 'a message declared UTF-8 carried bytes that are not UTF-8 (replaced by U+FFFD, or refused per channel policy)' },
  // store, outside intake: a lost connection, a database restarting, a store closing during shutdown
  PSL_STORE_TRANSIENT: { retry: 'transient', summary: 'a store operation failed for a reason that passes (connection lost, database restarting or busy, store closing)' },
  PSL_LIMIT_SEGMENTS: { retry: 'permanent', summary: "a message has more segments than the channel's limits.maxSegments (NAK AR, ERR 198)" },
  PSL_LIMIT_SEGMENT_BYTES: { retry: 'permanent', summary: "a segment is longer than the channel's limits.maxSegmentBytes (NAK AR, ERR 104)" },
  PSL_REFUSALS_DROPPED: { retry: 'permanent', summary: "the channel's refusal quota was reached: its oldest refused messages were deleted (counted, logged at warn)" },
  PSL_NAK_RATE: { retry: 'permanent', summary: 'a connection sent refused messages faster than source.nakRate allows; it was closed' },
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
  // lab reports (engine/lab/from-hl7.ts): the message cannot become a report; the details name the segment/field
  PSL_REPORT_UNSUPPORTED_TYPE: { retry: 'permanent', summary: 'only ORU^R01 and OUL^R22 messages become lab reports' },
  PSL_REPORT_NO_PATIENT: { retry: 'permanent', summary: 'the result message has no usable PID (no identifier and no name)' },
  PSL_REPORT_MULTIPLE_PATIENTS: { retry: 'permanent', summary: 'the result message carries more than one patient' },
  PSL_REPORT_NO_RESULTS: { retry: 'permanent', summary: 'the result message has no OBR with results' },
  PSL_REPORT_BAD_VALUE: { retry: 'permanent', summary: 'an OBX value cannot be read for its value type' },
  PSL_REPORT_TOO_LARGE: { retry: 'permanent', summary: "a report holds more results, comments or bytes than the CR-BIO destination's limits; not rendered" },
  PSL_REPORT_INVALID: { retry: 'permanent', summary: 'the result message could not be turned into a lab report' },
  PSL_ORDER_REFUSED: { retry: 'permanent', summary: 'an order of the message cannot be accepted (ORL / ORR with UA or UC and ERR); the message is refused whole' },
  PSL_REPORT_IDENTITY_MISMATCH: { retry: 'permanent', summary: 'the message names another patient than the report it updates; kept for an operator, never merged' },
  PSL_REPORT_NO_FILLER_ORDER: { retry: 'permanent', summary: 'the result message has no filler order number (OBR-3 / ORC-3): it cannot join a report' },
  PSL_REPORT_PARKED: { retry: 'permanent', summary: 'a result could not be ordered safely against the stored one (late lower status, older time, final changed without correction); parked for an operator' },
  PSL_REPORT_VERSION_BUSY: { retry: 'transient', summary: 'another worker is writing this version of the report; retried' },
  PSL_REPORT_CONTENDED: { retry: 'transient', summary: 'other writers kept changing the report while this message was applied to it; retried' },
  // delivery of report versions (engine/delivery)
  PSL_DELIVERY_DISABLED: { retry: 'permanent', summary: 'a delivery of report versions has no address configured: nothing is sent there' },
  PSL_RECEIPT_UNKNOWN: { retry: 'permanent', summary: 'a business acknowledgement (ZAM) that answers no report version we sent' },
  PSL_MSS_REFUSED: { retry: 'permanent', summary: 'the MSSanté SMTP server refused the mail or the recipient (5xx); its words are kept on the delivery' },
  PSL_MSS_UNAVAILABLE: { retry: 'transient', summary: 'the MSSanté SMTP server could not be reached, failed TLS, or deferred the mail (4xx)' },
  PSL_MSS_UNCERTAIN: { retry: 'ambiguous', summary: 'the connection to the SMTP server was lost while the mail was sent: resent with the same Message-ID when retryAmbiguous' },
  PSL_DMP_REFUSED: { retry: 'permanent', summary: 'the DMP refused the submission (a registry error such as DMPClosed or XDSUnknownPatientId, a Sender fault, HTTP 4xx); its words are kept on the delivery' },
  PSL_DMP_UNAVAILABLE: { retry: 'transient', summary: 'the DMP could not be reached, refused the TLS session, answered 5xx / 408 / 429, a Receiver fault, or said it is busy' },
  PSL_DMP_UNCERTAIN: { retry: 'ambiguous', summary: 'the request went to the DMP and no answer came: resent when retryAmbiguous (a document already filed is recognised by its uniqueId)' },
  PSL_DELIVERY_WORKER: { retry: 'transient', summary: 'a delivery worker thread (building DMP requests) failed or exited; what it held is retried' },
  PSL_VERSION_HELD: { retry: 'permanent', summary: 'a report version failed the full ANS set: held with its reason, never sent to the DMP, MSSanté or a PFI' },
  // orders and sub-orders (engine/orders)
  PSL_ORDER_CONTENDED: { retry: 'transient', summary: 'other writers kept changing the order while this message was applied to it; retried' },
  PSL_SUBORDER_REFUSED: { retry: 'permanent', summary: 'the subcontractor answered the sub-order with UA / UC (its ERR says why); kept on the order for an operator' },
  // documents (PDF)
  PSL_INS_NOT_QUALIFIED: { retry: 'permanent', summary: 'an INS Datamatrix was asked for an identity that is not qualified' },
  PSL_INS_DATAMATRIX_INVALID: { retry: 'permanent', summary: 'a qualified identity lacks a trait the INS Datamatrix needs (sex F/M, full birth date, names)' },
  PSL_PDF_FONT_MISSING: { retry: 'permanent', summary: 'the TrueType fonts the PDF/A renderer embeds were not found' },
  PSL_PDF_RENDER_FAILED: { retry: 'permanent', summary: 'the PDF renderer failed on a report' },
  // validation (engine/validation)
  PSL_VALIDATION_KIT_MISSING: { retry: 'permanent', summary: 'the ANS kit directory or one of its required files is missing' },
  PSL_VALIDATION_RULESET_UNKNOWN: { retry: 'permanent', summary: 'an unknown Schematron rule set name was requested' },
  PSL_VALIDATION_SCHEMATRON_INVALID: { retry: 'permanent', summary: 'a Schematron file could not be loaded or expanded' },
  PSL_VALIDATION_XPATH: { retry: 'permanent', summary: 'a Schematron XPath expression could not be compiled' },
  PSL_VALIDATION_XML_INVALID: { retry: 'permanent', summary: 'the document to validate is not well-formed XML' },
  PSL_VALIDATION_XSD_LOAD: { retry: 'permanent', summary: 'the CDA XML schema could not be compiled' },
  PSL_VALIDATION_WORKER: { retry: 'transient', summary: 'a validation worker thread failed or exited' },
  // documents (engine/documents/document-set.ts, delivery)
  PSL_DOCUMENT_INVALID: { retry: 'permanent', summary: 'a CR-BIO document failed the official ANS rules (XSD or Schematron errors); it is quarantined, never sent' },
  PSL_DOCUMENT_INCOMPLETE: { retry: 'permanent', summary: 'the report lacks a fact every CR-BIO must carry (e.g. the patient birth date)' },
  PSL_DOCUMENT_RENDER_FAILED: { retry: 'permanent', summary: 'rendering a document set failed for a reason without a code of its own' },
  PSL_RENDER_WORKER: { retry: 'transient', summary: 'a document render worker thread failed or exited' },
  PSL_RENDER_OUT_OF_MEMORY: { retry: 'permanent', summary: 'a render or validation worker thread hit its memory limit on this message; the thread is replaced' },
  PSL_DOCUMENT_KIT_UNAVAILABLE: { retry: 'transient', summary: 'no ANS kit directory is configured or readable, so documents cannot be validated yet' },
  PSL_INTERNAL: { retry: 'permanent', summary: 'an unexpected error without a code of its own (a bug: report it with the log line)' },
  PSL_TEST_TRANSIENT: { retry: 'transient', summary: 'a failure injected by a test or a handler to ask for a retry' },
  // operations console (engine/ops) and channel control
  PSL_CHANNEL_UNKNOWN: { retry: 'permanent', summary: 'no channel of that name is loaded in this engine' },
  PSL_CHANNEL_NOT_RUNNING: { retry: 'permanent', summary: 'the channel is not running in this process (stopped by an operator, disabled in its file, or failed to start)' },
  PSL_CHANNEL_DISABLED: { retry: 'permanent', summary: 'the channel file says enabled: false; change the file to run it' },
  PSL_CONSOLE_LISTEN: { retry: 'permanent', summary: 'the console could not listen on PASSERELLE_HTTP_ADDR (address in use, no permission, unreadable TLS files)' },
  PSL_USER_UNKNOWN: { retry: 'permanent', summary: 'no console user or API token of that name or id' },
  PSL_USER_CONFLICT: { retry: 'permanent', summary: 'the console user exists already, or the change would leave no enabled admin' },
  PSL_PASSWORD_REJECTED: { retry: 'permanent', summary: 'a new console password was refused (shorter than 12 characters, unchanged, or the current one was wrong)' },
  PSL_AUDIT_UNAVAILABLE: { retry: 'transient', summary: 'the audit log could not be written: the request that needed it was refused' },
  PSL_CONSOLE_BAD_REQUEST: { retry: 'permanent', summary: 'a console request has a missing or invalid parameter (HTTP 400)' },
  PSL_CONSOLE_FORBIDDEN: { retry: 'permanent', summary: "the user's role does not allow this part of a view (a viewer asking for a patient's identity or an embedded document; HTTP 403)" },
  PSL_CONSOLE_NOT_FOUND: { retry: 'permanent', summary: 'the message, report, version or document asked of the console does not exist (HTTP 404)' },
  PSL_CONSOLE_CONFLICT: { retry: 'permanent', summary: 'a console action does not apply to the current state of what it names (HTTP 409)' },
  // operator actions (engine/operator-action.ts; the *-actions.ts beside what each one changes)
  PSL_ACTION_INVALID: { retry: 'permanent', summary: 'an operator action was asked without what it needs: who asks, a reason where one is required, a known decision' },
  PSL_DELIVERY_NOT_FOUND: { retry: 'permanent', summary: 'no report version delivery has that id (<filler order>/v<version>/<target>, of that lab)' },
  PSL_DELIVERY_AMBIGUOUS: { retry: 'permanent', summary: 'several labs have a version delivery with that id: name the lab' },
  PSL_DELIVERY_RECEIPT: { retry: 'permanent', summary: 'the row is a receipt (what a PFI or a mailbox said back): there is nothing of ours to resend or cancel' },
  PSL_RESEND_HELD: { retry: 'permanent', summary: 'a held version delivery is not retried (it failed the full ANS set, or has no address or no qualified INS): a new version is the way out' },
  PSL_RESEND_NEWER_SENT: { retry: 'permanent', summary: 'a newer version of the report went to that target already: this older one sent now would replace it over there' },
  PSL_RESEND_NOT_DEAD: { retry: 'permanent', summary: 'only a dead (given up) delivery is queued again: a queued one is on its way, a sent one went' },
  PSL_CANCEL_SENT: { retry: 'permanent', summary: 'a version delivery already sent is not cancelled: a deletion of the report (every result withdrawn) takes it back' },
  PSL_DISCARD_REFUSED: { retry: 'permanent', summary: 'only a dead-lettered message is discarded; any other is still on its way or already final' },
  PSL_REPORT_NOT_FOUND: { retry: 'permanent', summary: 'no report with that filler order number (of that lab) in the store' },
  PSL_REPORT_AMBIGUOUS: { retry: 'permanent', summary: 'several labs have a report with that filler order number: name the lab' },
  PSL_PARKED_NOT_FOUND: { retry: 'permanent', summary: 'the report has no such parked result (released or dropped already)' },
  PSL_SUBORDER_NOT_PARKED: { retry: 'permanent', summary: "the report's order has no sub-order of that number whose results are parked (released or dropped already, or none)" },
  PSL_PUBLISH_NO_DESTINATION: { retry: 'permanent', summary: 'no reports destination (in the channel named) to render the version with' },
  PSL_PUBLISH_DESTINATION_AMBIGUOUS: { retry: 'permanent', summary: 'several channels have a reports destination: name the channel' },
  // RPPS / MSSanté directory (engine/directory)
  PSL_DIRECTORY_FORMAT: { retry: 'permanent', summary: 'a directory extraction (PS_LibreAcces_Personne_activite, Extraction_Correspondance_MSSante) lacks a required column or cannot be read; the previous directory stays' },
  PSL_DIRECTORY_LOAD_FAILED: { retry: 'transient', summary: 'a directory load (download, unzip or store) failed; the previous directory stays and the next period tries again' },
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

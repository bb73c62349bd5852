/**
 * Errors raised by the HL7 library. Each carries a library code (what went wrong for the
 * program) and an HL70357 code (what to put in ERR-3 of the acknowledgement), plus where.
 */
export type Hl7ErrorCode =
  | 'HL7_EMPTY'
  | 'HL7_NO_MSH'
  | 'HL7_BAD_DELIMITERS'
  | 'HL7_BAD_SEGMENT'
  | 'HL7_BAD_CHARSET'
  | 'HL7_MISSING_FIELD'
  | 'HL7_BAD_PATH'
  | 'HL7_BAD_BATCH';

/** ERL: segment ID ^ sequence ^ field ^ repetition ^ component ^ subcomponent. */
export interface ErrLocation {
  segment: string;
  sequence?: number;
  field?: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

/** HL70357 texts, used for ERR-3.2 when we build acknowledgements. */
export const HL70357: Readonly<Record<number, string>> = {
  0: 'Message accepted',
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  104: 'Value too long',
  198: 'Non-conformant cardinality',
  199: 'Other HL7 error',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  202: 'Unsupported processing id',
  203: 'Unsupported version id',
  204: 'Unknown key identifier',
  205: 'Duplicate key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
};

/** Default HL70357 code per library code (the thrower may override). */
const DEFAULT_HL7_CODE: Record<Hl7ErrorCode, number> = {
  HL7_EMPTY: 100,
  HL7_NO_MSH: 100,
  HL7_BAD_DELIMITERS: 102,
  HL7_BAD_SEGMENT: 100,
  HL7_BAD_CHARSET: 103,
  HL7_MISSING_FIELD: 101,
  HL7_BAD_PATH: 207,
  HL7_BAD_BATCH: 100,
};

export class Hl7Error extends Error {
  readonly code: Hl7ErrorCode;
  readonly hl7Code: number;
  readonly location?: ErrLocation;

  constructor(code: Hl7ErrorCode, message: string, opts: { hl7Code?: number; location?: ErrLocation } = {}) {
    super(message);
    this.name = 'Hl7Error';
    this.code = code;
    this.hl7Code = opts.hl7Code ?? DEFAULT_HL7_CODE[code];
    if (opts.location) this.location = opts.location;
  }
}

export function isHl7Error(e: unknown): e is Hl7Error {
  return e instanceof Hl7Error;
}

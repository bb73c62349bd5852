/**
 * The typed lab report: what one ORU^R01 / OUL^R22 says, independent of HL7 v2 and of CDA.
 * engine/lab/from-hl7.ts builds it; engine/cda and engine/pdf render it. Nothing here knows
 * about either side, so both renderings read the same facts (DOC.03: N3 narrative and PDF
 * carry the same information).
 *
 * Times are kept as HL7/CDA timestamps (`YYYYMMDD[HHMM[SS]][+ZZZZ]`), the form both sides write;
 * parsing them to Date would lose the precision the sender chose.
 */

/** A code in some system. `system` is an OID when known (LOINC 2.16.840.1.113883.6.1). */
export interface Coded {
  code: string;
  display?: string;
  /** OID of the code system when it could be resolved, else undefined. */
  system?: string;
  /** System name as sent (HL7 coding system: `LN`, `L`, `99LAB`, `SNM`…). */
  systemName?: string;
}

/** A result code: LOINC when the sender gave one, the local code always when sent. */
export interface ResultCode {
  loinc?: Coded;
  local?: Coded;
  /** Text as sent (OBX-3.2, or the first display available). */
  text: string;
  /**
   * `loinc` came from the lab's transcoding (mappings/loinc.yaml), not from the message. The
   * observation's identity (engine/reports/accumulate.ts) ignores such a code, so a transcoding
   * changed while a report is open does not turn the next correction into a new observation.
   */
  transcoded?: true;
}

/** RNIV identity status as carried by PID-32 (table 0445, French values). */
export type IdentityReliability = string; // 'VALI', 'PROV', 'DOUT', 'FICT', … or '' when absent

export interface Ins {
  /** 15 characters: 13-char NIR (2A/2B possible) + 2-digit key. */
  matricule: string;
  /** 1.2.250.1.213.1.4.8 (NIR), .9 (NIA), .10 (test NIR), .11 (demo). */
  oid: string;
  nature: 'NIR' | 'NIA';
}

export interface LocalIdentifier {
  id: string;
  /** Assigning authority OID (CX-4.2) when sent. */
  authorityOid?: string;
  authorityName?: string;
  /** CX-5: PI (IPP), AN (account / dossier), VN (visit)… */
  type?: string;
}

export interface Patient {
  /** Birth name (PID-5 repetition with type L, XPN-1). */
  birthFamily: string;
  /** First birth given name (XPN-2 of the L repetition). */
  firstBirthGiven: string;
  /** All birth given names, space-separated (XPN-3 of the L repetition, else firstBirthGiven). */
  birthGivens: string;
  /** Name used in daily life (PID-5 type D), when different. */
  usedFamily?: string;
  usedGiven?: string;
  /** YYYYMMDD (or shorter when the sender sent less). */
  birthDate?: string;
  /** F, M, U (PID-8 mapped: O/A/N → U). */
  sex: 'F' | 'M' | 'U';
  /** INSEE COG code of the birthplace (PID-11 repetition of type BDL, XAD-9). */
  birthplaceCode?: string;
  address?: Address;
  telecom?: string[];
  identifiers: LocalIdentifier[];
  /** INS as received — present whether or not the identity is qualified. */
  insReceived?: Ins;
  reliability: IdentityReliability;
  /**
   * The INS that may be written into documents: set only when the identity is qualified
   * (PID-32 VALI, known INS OID, valid NIR key). See engine/lab/ins.ts.
   */
  ins?: Ins;
  /** Why `ins` is absent although an INS was received (for the document metadata). */
  insRefusedReason?: string;
}

export interface Address {
  street?: string[];
  city?: string;
  postalCode?: string;
  country?: string;
}

/** A health professional (prescriber, validating biologist, lab director). */
export interface Professional {
  /** RPPS (OID 1.2.250.1.71.4.2.1) or ADELI or local id. */
  id?: string;
  idAuthorityOid?: string;
  family?: string;
  given?: string;
  prefix?: string;
  /** MSSanté address when known (from the message or the channel's directory). */
  mssante?: string;
  /** What the RPPS directory doubts of this professional (RPPS unknown, inactive): routing flags it (engine/directory/resolver.ts). */
  directoryNote?: string;
  telecom?: string[];
  address?: Address;
}

export interface Organization {
  name: string;
  /** FINESS or SIRET etc.; `idRoot` is the OID of the identifier system. */
  id?: string;
  idRoot?: string;
  address?: Address;
  telecom?: string[];
}

export interface Specimen {
  /** SPM-2 (filler part when present). */
  id?: string;
  /** HL7 table 0487 code (SPM-4). */
  type?: Coded;
  site?: Coded;
  collectedAt?: string;
  receivedAt?: string;
  /** SPM-20 = N with SPM-21 reason. */
  rejectReason?: Coded;
  /**
   * Observations about the specimen itself (OBX right after SPM: volume, aspect…). Not results
   * of a request: they count neither for completeness nor in Request.results.
   */
  observations?: Result[];
}

/** A result value by HL7 type. */
export type ResultValue =
  | { type: 'NM'; value: string }
  /** SN: comparator (`<`, `>`, `<=`, `>=`, `=`, `<>`), num1, separator (`-`, `:`, `/`, `+`), num2. */
  | { type: 'SN'; comparator?: string; num1?: string; separator?: string; num2?: string; text: string }
  | { type: 'CWE'; coded: Coded }
  /** ST, TX, FT: lines after HL7 unescaping; FT formatting turned into line breaks. */
  | { type: 'ST' | 'TX' | 'FT'; text: string }
  /** ED: decoded payload (PDF, image…). */
  | { type: 'ED'; mediaType: string; data: Buffer }
  | { type: 'DT' | 'TS'; value: string }
  | { type: 'none' };

export interface ReferenceRange {
  /** Verbatim OBX-7. */
  text: string;
  low?: string;
  high?: string;
}

export type ResultStatus = 'final' | 'preliminary' | 'corrected' | 'cancelled' | 'pending';

export interface Comment {
  text: string;
  /** NTE-4 type when sent. */
  type?: string;
}

export interface Result {
  /** Stable id within the report (`r1`, `r2`…) used for narrative references. */
  id: string;
  code: ResultCode;
  value: ResultValue;
  /** UCUM unit when the sent unit is UCUM or maps to it; `unitText` is what was sent. */
  unit?: string;
  unitText?: string;
  range?: ReferenceRange;
  /** HL7 0078 flags as sent (L, H, LL, HH, N, A, AA, S, R, I, <, >…). */
  flags: string[];
  status: ResultStatus;
  observedAt?: string;
  /** OBX-4 sub-id: groups isolates and antibiogram lines. */
  subId?: string;
  comments: Comment[];
  /** OBX-23/24/25 when the result was produced by another lab (subcontracting). */
  performer?: { organization: Organization; director?: Professional; performedAt?: string };
  /** OBX-15 (producer's ID) when OBX-23 is empty: the performing lab of a subcontractor's result that names no OBX-23. */
  producer?: Organization;
  /** OBX-16 / OBR-32 validator and OBX-19 / OBR-22 validation time. */
  validator?: Professional;
  validatedAt?: string;
  /** Accredited test (Cofrac `*` legend): set from channel configuration, not from HL7. */
  accredited?: boolean;
  /**
   * Validated by the LIS rules without a biologist (DOC.09): OBX-16 (else OBR-32) names
   * `AUTO` as the validator instead of a person. See engine/lab/from-hl7.ts.
   */
  autoValidated?: boolean;
  /**
   * OBX-19, else OBR-22, whatever the status: the time that orders two versions of one
   * observation sent in different messages (engine/reports). Unlike `validatedAt`, also set
   * for preliminary results.
   */
  statusAt?: string;
}

/**
 * A result the sender takes back (OBX-11 `D`: delete; `W`: posted in error, e.g. wrong
 * patient). Never rendered; a report that accumulates messages removes the observation.
 */
export interface Withdrawal {
  code: ResultCode;
  /** OBX-4. */
  subId?: string;
  reason: 'deleted' | 'wrong-patient';
  /** OBX-19, else OBR-22. */
  at?: string;
}

/** One OBR: a requested test or battery, with its results. */
export interface Request {
  id: string;
  /** OBR-4. */
  code: ResultCode;
  /** Chapter code (LOINC specialty, e.g. 18719-5) chosen by mappings/lab-chapters.yaml. */
  chapter: Coded;
  placerOrder?: string;
  fillerOrder?: string;
  /** OBR-3.2 (else ORC-3.2): the namespace of the filler order number, i.e. the filling lab's application. */
  fillerAuthority?: string;
  /** OBR-2.2 (else ORC-2.2): the namespace of the placer order number (ILW: the requesting lab). */
  placerAuthority?: string;
  specimens: Specimen[];
  results: Result[];
  comments: Comment[];
  status: ResultStatus;
  /** OBR-7. */
  collectedAt?: string;
  /** OBR-22. */
  reportedAt?: string;
  validator?: Professional;
  /** OBR level performer for subcontracted batteries (from the results when all agree). */
  performer?: Result['performer'];
  /** Microbiology: isolates keyed by OBX-4 sub-id, each with its antibiogram results. */
  isolates?: Isolate[];
  /** Results withdrawn by this message (OBX-11 D/W), in message order. */
  withdrawn?: Withdrawal[];
}

export interface Isolate {
  subId: string;
  organism: Coded;
  /** Antibiogram lines: results whose subId starts with this isolate's subId. */
  susceptibilities: Result[];
}

export interface Report {
  /** MSH-10 of the source message. */
  sourceControlId: string;
  messageType: 'ORU^R01' | 'OUL^R22';
  patient: Patient;
  /** Lab file / dossier number (PID-18 or ORC-2 group), used in the PDF file name. */
  dossier: string;
  /** Placer group / order number the whole report answers (ORC-4 or first ORC-2). */
  orderId: string;
  /** MSH-4 (sending facility): the last stand-in for a subcontractor's performing lab. */
  sendingFacility?: Organization;
  prescriber?: Professional;
  /** ORC-21 ordering facility or prescriber's organization. */
  prescriberOrganization?: Organization;
  requests: Request[];
  /** Document-level comments (NTE after PID / ORC). */
  comments: Comment[];
  /** `complete` when every result is final/corrected/cancelled; else `partial`. */
  completeness: 'partial' | 'complete';
  /** Earliest specimen reception / order time, latest validation time. */
  receivedAt?: string;
  validatedAt?: string;
  /** Biologist who validated the report (last validator seen). */
  validator?: Professional;
  /** Some results auto-validated without biologist review (DOC.09). */
  autoValidated: boolean;
  /** Other recipients named in the message (copies to). */
  copiesTo: Professional[];
  /** What the lab system said of sharing this report (absent: the channel's defaults). */
  sharing?: SharingChoices;
}

/**
 * Sharing choices for one report, as the lab system says them in MetaDMPMSS-style OBX
 * (DESTDMP / DESTMSSANTEPS / DESTMSSANTEPAT = N): false = not sent there (DMP blocked for this
 * file, DMP.02; the patient's refusal, MSS.16 / MSS.19).
 */
export interface SharingChoices {
  dmp?: boolean;
  mssProfessionals?: boolean;
  mssPatient?: boolean;
}

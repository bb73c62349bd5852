import { z } from 'zod';
import { mssanteAddress } from './correspondents';

/**
 * Channel file schema (channels/*.yaml). Defaults live here, once; a loaded channel is frozen.
 * Field-by-field documentation: docs/channels.md.
 */

const charsetName = z.enum(['utf-8', 'iso-8859-1', 'iso-8859-15', 'ascii', 'windows-1252']);

const tlsSchema = z.strictObject({
  /** PEM files, relative to the channel file's directory or absolute. */
  key: z.string(),
  cert: z.string(),
  /** CA bundle used to check client certificates (mutual TLS). */
  ca: z.string().optional(),
  /** Ask for and check client certificates; unknown ones are refused. */
  requestClientCert: z.boolean().default(false),
});

const mllpSource = z.strictObject({
  type: z.literal('mllp'),
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535),
  tls: tlsSchema.optional(),
  maxFrameBytes: z.number().int().positive().default(16 * 1024 * 1024),
  idleTimeoutSeconds: z.number().int().min(0).default(300),
  maxConnections: z.number().int().positive().default(100),
  /** HL7 batches (FHS/BHS) in one frame: each message taken on its own, one batch ACK back. false: refused (PSL_BATCH_OVER_MLLP). */
  acceptBatches: z.boolean().default(true),
  /**
   * Per connection, refusals (AR/AE) answered at once: a token bucket of `burst` refilled at
   * `perSecond`. Beyond it the NAK waits for a token; a sender that would wait longer than
   * `maxDelayMs` is disconnected (logged). Valid messages never wait.
   */
  nakRate: z
    .strictObject({
      perSecond: z.number().positive().default(20),
      burst: z.number().int().positive().default(100),
      maxDelayMs: z.number().int().min(0).default(2000),
    })
    .prefault({}),
});

const directorySource = z.strictObject({
  type: z.literal('directory'),
  /** Directory watched for files; each file holds one message or a batch. */
  path: z.string(),
  /** File name suffix taken. */
  suffix: z.string().default('.hl7'),
  pollSeconds: z.number().positive().default(2),
  /** Where taken files are moved (default: <path>/processed); refused ones go to <path>/refused. */
  processedPath: z.string().optional(),
});

const retrySchema = z.strictObject({
  maxAttempts: z.number().int().positive().default(10),
  backoffBaseMs: z.number().int().positive().default(1000),
  backoffMaxMs: z.number().int().positive().default(300_000),
  /** Retry failures whose outcome is unknown (ACK timeout after a send). Default false: dead-letter for review. */
  retryAmbiguous: z.boolean().default(false),
});

const fileDestination = z.strictObject({
  type: z.literal('file'),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
  directory: z.string(),
  /** File name template; `${MSH-10}` style placeholders take (unescaped, sanitised) message fields, `${id}` the store id. */
  fileName: z.string().default('${MSH-10}.hl7'),
  charset: charsetName.optional(),
  retry: retrySchema.prefault({}),
});

const mllpDestination = z.strictObject({
  type: z.literal('mllp'),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  tls: z
    .strictObject({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional(), servername: z.string().optional() })
    .optional(),
  connectTimeoutMs: z.number().int().positive().default(5000),
  responseTimeoutMs: z.number().int().positive().default(30000),
  charset: charsetName.optional(),
  retry: retrySchema.prefault({}),
});

/**
 * Connection fields of the engine's own outbound lines (PFI, sub-orders, placer status): as an
 * MLLP destination's, but an answer lost to a timeout is sent again with the same MSH-10 (the
 * peer dedupes), so retryAmbiguous defaults to true.
 */
const lineConnection = {
  tls: mllpDestination.shape.tls,
  connectTimeoutMs: mllpDestination.shape.connectTimeoutMs,
  responseTimeoutMs: mllpDestination.shape.responseTimeoutMs,
  charset: mllpDestination.shape.charset,
  retry: retrySchema.extend({ retryAmbiguous: z.boolean().default(true) }).prefault({}),
};

const crbioDestination = z.strictObject({
  type: z.literal('crbio'),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
  /** Document sets are written to <directory>/<MSH-10>/; refused ones to <directory>/quarantine/. */
  directory: z.string(),
  /** CI-SIS CR-BIO version (2023.01 was withdrawn by ANS). */
  version: z.enum(['2024.01', '2021.01']).default('2024.01'),
  /** pro, patient or both (DOC.02). */
  profiles: z.array(z.enum(['pro', 'patient'])).min(1).default(['pro']),
  /** Lab profile file (channels/labs/*.yaml), relative to the working directory. */
  lab: z.string(),
  /** Also run the five ANS profile sets after the inline check; the report is stored beside the set. */
  fullValidation: z.boolean().default(true),
  /** What a report may hold before it is rendered; beyond, the message is dead-lettered (PSL_REPORT_TOO_LARGE), not rendered. */
  limits: z
    .strictObject({
      /** OBX segments (results). */
      maxResults: z.number().int().positive().default(2000),
      /** NTE segments (comments). */
      maxComments: z.number().int().positive().default(2000),
      /** Bytes of the message. */
      maxBytes: z.number().int().positive().default(4 * 1024 * 1024),
    })
    .prefault({}),
  /** DMP masking and visibility choices kept with the documents (DOC.15/16). */
  visibility: z
    .strictObject({
      maskedFromProfessionals: z.boolean().default(false),
      invisibleToPatient: z.boolean().default(false),
      invisibleToLegalRepresentatives: z.boolean().default(false),
    })
    .optional(),
  retry: retrySchema.prefault({}),
});

/**
 * Each version (and withdrawal) mailed by MSSanté (issue 9, item 4; ../shared/docs/dmp-mss-ins.md
 * §2): one mail per recipient and version, IHE_XDM.ZIP and the PDF attached, from the lab's
 * application mailbox through its operator's SMTP submission server.
 */
const mssDelivery = z
  .strictObject({
    /**
     * `smtp://host:port` (STARTTLS per `starttls`) or `smtps://host:port` (TLS from the first
     * byte). Empty (an unset `${env:PASSERELLE_MSS_SMTP_URL:-}`) disables the delivery, said once at start.
     */
    url: z.string().regex(/^$|^smtps?:\/\/[^:/]+:\d+\/?$/, 'smtp://host:port or smtps://host:port, or empty to disable'),
    /** The lab's application mailbox (BAL applicative): From, and where DSN come back. */
    from: mssanteAddress,
    /** The lab's organisational mailbox (Reply-To, MSS.26). Default: `from`. */
    replyTo: mssanteAddress.optional(),
    /** On smtp://: required (default; MSSanté is TLS only), opportunistic, or off (a local test server). */
    starttls: z.enum(['required', 'opportunistic', 'off']).default('required'),
    /** The organisation's certificate (mutual TLS) and the operator's CA, as PEM files; empty paths are ignored. */
    tls: mllpDestination.shape.tls,
    /** SASL credentials when the operator asks for them on top of the certificate; an empty user means none. */
    auth: z.strictObject({ user: z.string(), pass: z.string().default('') }).optional(),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** Longest wait for a server reply (socket idle). */
    responseTimeoutMs: z.number().int().positive().default(60_000),
    /** Mail the prescriber and the copies (MSS.15), the patient (qualified INS only, MSS.12). */
    professionals: z.boolean().default(true),
    patient: z.boolean().default(true),
    /** Ask for delivery status notifications (RCPT NOTIFY, MSS.22) and for read receipts (Disposition-Notification-To). */
    dsn: z.boolean().default(true),
    readReceipt: z.boolean().default(false),
    /** X-MSS-MES: FIN on patient mails: the patient cannot answer. */
    patientNoReply: z.boolean().default(true),
    /** Subject text after `XDM/1.0/DDM+`; the patient's name and birth date follow, as in the ANS examples. */
    subject: z.string().default("CR d'examens biologiques"),
    body: z
      .strictObject({
        professionals: z.string().default("Veuillez trouver ci-joint le compte rendu d'examens de biologie médicale."),
        patient: z.string().default("Votre laboratoire vous transmet le compte rendu de vos examens de biologie médicale."),
      })
      .prefault({}),
    /** Put first in the body of a new version of a report the recipient already had (MSS.24). */
    replacementNotice: z.string().default('Ce compte rendu annule et remplace le précédent.'),
    /** The body of the notice sent to every earlier recipient when a report is withdrawn (MSS.25). */
    deletionNotice: z.string().default("Le compte rendu d'examens de biologie médicale transmis précédemment a été retiré par le laboratoire : merci de ne plus en tenir compte."),
    /**
     * Where the DSN and read receipts come back (the application mailbox, over IMAP): recorded as
     * `mss>dsn:<address>` / `mss>read:<address>`. An empty url (an unset variable) leaves them unread.
     */
    receipts: z
      .strictObject({
        /** `imap://host:port` (STARTTLS required) or `imaps://host:port`; the mss `tls` files are used. */
        url: z.string().regex(/^$|^imaps?:\/\/[^:/]+:\d+\/?$/, 'imap://host:port or imaps://host:port, or empty'),
        user: z.string().default(''),
        pass: z.string().default(''),
        mailbox: z.string().default('INBOX'),
        pollSeconds: z.number().int().positive().default(60),
      })
      .optional(),
    /** Optional X-MSS-* headers the operator asks for, e.g. { X-MSS-NIL: … }. */
    headers: z.record(z.string().regex(/^X-MSS-[A-Z-]+$/i, 'an X-MSS-… header'), z.string()).default({}),
    /** A mail lost with the connection is sent again with the same Message-ID (receivers drop the second), so retryAmbiguous defaults to true. */
    retry: retrySchema.extend({ retryAmbiguous: z.boolean().default(true) }).prefault({}),
  })
  .transform((m) => ({ ...m, enabled: m.url !== '', replyTo: m.replyTo ?? m.from }));

/**
 * Each version filed in the patient's DMP (issue 9, item 2; ../shared/docs/dmp-mss-ins.md §1):
 * ITI-41 (N3, N1 and the XAdES signature of the submission set, RPLC to the version it
 * replaces), ITI-57 for a withdrawal; VIHF signed with the organisation seal, mutual TLS with the
 * organisation's authentication certificate. Only for a qualified INS.
 */
const dmpDelivery = z
  .strictObject({
    /** `https://…/si-dmp-server/v2/services` (`/repository`, `/registry` appended). Empty (an unset `${env:PASSERELLE_DMP_URL:-}`) disables the delivery, said once at start. */
    url: z.string().regex(/^$|^https:\/\/\S+$/, 'https://host/…/services, or empty to disable'),
    /** The organisation's authentication certificate (ORG_AUTH_CLI) and the DMP's CA (IGC-Santé), as PEM files; empty paths are ignored. */
    tls: mllpDestination.shape.tls,
    /** The organisation seal (ORG_SIGN: RSA key and certificate, PEM) that signs the VIHF and the XAdES. Required when url is set. */
    seal: z.strictObject({ cert: z.string().default(''), key: z.string().default('') }).prefault({}),
    /** VIHF Subject/NameID: the person responsible for the automated processing. Default `<structure>/<lab director id>`. */
    responsible: z.string().optional(),
    /** VIHF Identifiant_Structure. Default `1` + the lab's FINESS. */
    structureId: z.string().optional(),
    /** VIHF Secteur_Activite (JDV_J61 `<code>^<OID>`). Default the lab profile's facility code. */
    activitySector: z.string().optional(),
    /** The software, as the VIHF names it (LPS_Nom, LPS_Version, LPS_ID, LPS_ID_HOMOLOGATION_DMP). */
    software: z
      .strictObject({ name: z.string().default('Passerelle'), version: z.string().default('0.1.0'), id: z.string().optional(), homologation: z.string().optional() })
      .prefault({}),
    /** XDS practiceSettingCode (JDV_J04): a city lab or a hospital's. */
    practiceSetting: z.enum(['AMBULATOIRE', 'ETABLISSEMENT']).default('AMBULATOIRE'),
    /** XDS sourceId (OID of the sending system). Default the lab profile's document id root. */
    sourceId: z.string().regex(/^[0-2](\.\d+)+$/, 'an OID').optional(),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    responseTimeoutMs: z.number().int().positive().default(60_000),
    /** A request whose answer was lost is sent again: documents already filed are recognised by their uniqueIds, so retryAmbiguous defaults to true. */
    retry: retrySchema.extend({ retryAmbiguous: z.boolean().default(true) }).prefault({}),
  })
  .superRefine((d, ctx) => {
    if (d.url === '') return;
    if (!d.seal.cert) ctx.addIssue({ code: 'custom', path: ['seal', 'cert'], message: 'the DMP needs the organisation seal certificate (ORG_SIGN) to sign the VIHF; the sample reads PASSERELLE_DMP_SEAL_CERT' });
    if (!d.seal.key) ctx.addIssue({ code: 'custom', path: ['seal', 'key'], message: 'the DMP needs the organisation seal key (ORG_SIGN); the sample reads PASSERELLE_DMP_SEAL_KEY' });
  })
  .transform((d) => ({ ...d, enabled: d.url !== '' }));

/**
 * Reports across messages (issue 8): each result message updates the reports it names (filling
 * lab + filler order number) and publishes their next versions under
 * <directory>/<filler order number>/v<n>/ (a deletion as v<n>.deleted.json).
 */
const reportsDestination = z.strictObject({
  type: z.literal('reports'),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
  directory: z.string(),
  version: z.enum(['2024.01', '2021.01']).default('2024.01'),
  profiles: z.array(z.enum(['pro', 'patient'])).min(1).default(['pro']),
  /** Lab profile file (channels/labs/*.yaml), relative to the working directory. */
  lab: z.string(),
  /** every-change: a version at each validated change; when-complete: once every test is final or cancelled; on-request: only when asked. */
  publish: z.enum(['every-change', 'when-complete', 'on-request']).default('every-change'),
  /** The filling lab when OBR-3 names none (default: the lab profile's FINESS, else its name). */
  defaultLab: z.string().optional(),
  /**
   * Filler order namespaces (OBR-3.2) this lab assigns; results filled by others are a
   * subcontractor's, kept but never published on their own (DOC.14). Absent: all are ours.
   */
  ownFillers: z.array(z.string().min(1)).optional(),
  /** Also run the five ANS profile sets after the inline check; the report is stored beside the set. */
  fullValidation: z.boolean().default(true),
  limits: crbioDestination.shape.limits,
  visibility: crbioDestination.shape.visibility,
  /** The lab's correspondents file (RPPS → name, MSSanté address; engine/config/correspondents.ts): fills the addresses messages leave out. */
  correspondents: z.string().optional(),
  /** The lab's exam catalogue and LOINC transcoding (docs/catalogue.md); default mappings/catalogue.yaml and mappings/loinc.yaml. */
  catalogue: z.string().optional(),
  loinc: z.string().optional(),
  /** Each version (and deletion) to the hospital's integration platform as ORU^R01 (ANS CDA-in-HL7v2 volet), once it passed the full ANS set. */
  pfi: z
    .strictObject({
      /** `mllp://host:port` (or host and port); an empty url (an unset `${env:PASSERELLE_PFI_MLLP:-}`) disables the delivery, said once at start. */
      url: z.string().regex(/^$|^mllps?:\/\/[^:/]+:\d+\/?$/, 'mllp://host:port, or empty to disable').optional(),
      host: z.string().optional(),
      port: z.number().int().min(1).max(65535).optional(),
      /** MSH-3 / MSH-4 (default: the lab's filler namespace / the lab profile's name) and MSH-5 / MSH-6. */
      application: z.string().optional(),
      facility: z.string().optional(),
      receivingApplication: z.string().default(''),
      receivingFacility: z.string().default(''),
      ...lineConnection,
      /** What the PFI is asked to do with it (MetaDMPMSS): DMP, MSSanté to professionals, to the patient (qualified INS only). */
      dmp: z.boolean().default(true),
      mssProfessionals: z.boolean().default(true),
      mssPatient: z.boolean().default(true),
      ackReception: z.boolean().default(true),
      ackRead: z.boolean().default(false),
      /** The lab's organisational mailbox (PRT REPLY, MSS.26). */
      replyTo: z.string().optional(),
      mailBody: z.strictObject({ professionals: z.string().optional(), patient: z.string().optional() }).optional(),
    })
    .refine((p) => p.url !== undefined || (p.host !== undefined && p.port !== undefined), { message: 'pfi needs url, or host and port' })
    .transform(({ url, ...p }) => {
      if (url === undefined) return { ...p, host: p.host!, port: p.port!, enabled: true };
      const m = /^mllps?:\/\/([^:/]+):(\d+)/.exec(url);
      if (!m) return { ...p, host: '', port: 0, enabled: false };
      return { ...p, host: m[1]!, port: Number(m[2]), tls: p.tls ?? (url.startsWith('mllps:') ? {} : undefined), enabled: true };
    })
    .optional(),
  /** Each version (and withdrawal) mailed by MSSanté to the prescriber, the copies and the patient (qualified INS), once it passed the full ANS set. */
  mss: mssDelivery.optional(),
  /** Each version (and withdrawal) filed in the patient's DMP (qualified INS only), once it passed the full ANS set. */
  dmp: dmpDelivery.optional(),
  /** Worker threads that build the DMP requests (digests and signatures, ~14 ms of CPU each); 0 = on the lines' thread. */
  deliveryThreads: z.number().int().min(0).max(8).default(1),
  retry: retrySchema.prefault({}),
});

/** A subcontracting lab (IHE ILW): the tests it does for us, and how to reach it. */
const subcontractor = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
  /** Its FINESS (9 digits), kept on the sub-order. */
  finess: z.string().regex(/^[0-9A-B]{9}$/, 'a FINESS: 9 characters').optional(),
  /** OBR-4 codes (OBR-4.1) of the tests sent to it. */
  tests: z.array(z.string().min(1)).min(1),
  /** MSH-5 / MSH-6 of the sub-orders sent to it. */
  application: z.string().default(''),
  facility: z.string().default(''),
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  ...lineConnection,
});

/** Where status changes go back to the placer (OML^O21 ORC-1 SC), and which ones. */
const placerStatus = z.strictObject({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  /** MSH-5 / MSH-6 of the status messages. */
  application: z.string().default(''),
  facility: z.string().default(''),
  /** ORC-5 values sent: IP specimen received / in progress, A some results, CM completed. */
  statuses: z.array(z.enum(['IP', 'A', 'CM'])).min(1).default(['IP', 'A', 'CM']),
  ...lineConnection,
});

/**
 * Orders in (IHE LTW LAB-1, issue 8): each OML^O21 / ORM^O01 order is kept in the store (tests,
 * specimens, prescriber, status; NW, XO, CA, SC followed), and the tests a subcontractor does
 * leave as sub-orders (IHE ILW LAB-35), one line per subcontractor.
 */
const ordersDestination = z
  .strictObject({
    type: z.literal('orders'),
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
    /** Our namespace of sub-order numbers (ORC-2.2) and MSH-3 of sub-orders: the lab system's application, as in ownFillers. */
    authority: z.string().min(1),
    /** MSH-4 of sub-orders. */
    facility: z.string().default(''),
    /** Sub-order numbers are <prefix><sequence>. */
    subOrderPrefix: z.string().regex(/^[A-Za-z0-9-]{1,10}$/).default('SUB-'),
    subcontractors: z.array(subcontractor).default([]),
    /** Tell the placer of the lab's progress (specimen received, some results, completed). Absent: not told. */
    placerStatus: placerStatus.optional(),
    retry: retrySchema.prefault({}),
  })
  .superRefine((d, ctx) => {
    const seen = new Map<string, string>();
    d.subcontractors.forEach((s, i) =>
      s.tests.forEach((t, j) => {
        const other = seen.get(t);
        if (other && other !== s.name) ctx.addIssue({ code: 'custom', path: ['subcontractors', i, 'tests', j], message: `test ${t} is already sent to ${other}` });
        seen.set(t, s.name);
      }),
    );
  });

/** The PFI's business acknowledgements (ZAM^Z01 / Z02 / Z03) recorded against the report versions they answer. */
const pfiReceiptsDestination = z.strictObject({
  type: z.literal('pfi-receipts'),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
  retry: retrySchema.prefault({}),
});

const destinationSchema = z.discriminatedUnion('type', [fileDestination, mllpDestination, crbioDestination, reportsDestination, ordersDestination, pfiReceiptsDestination]);

const transformSchema = z.union([
  z.strictObject({ mapping: z.string() }),
  z.strictObject({ handler: z.string() }),
]);

const filterSchema = z.strictObject({
  /** Keep only these message types (e.g. ORU^R01); others end in state `filtered`. */
  messageTypes: z.array(z.string()).optional(),
  /** A JS module exporting `filter(message, context): boolean`. */
  handler: z.string().optional(),
});

export const channelSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
  description: z.string().default(''),
  enabled: z.boolean().default(true),
  source: z.discriminatedUnion('type', [mllpSource, directorySource]),
  charset: z
    .strictObject({
      /** Used when MSH-18 is empty. */
      default: charsetName.default('utf-8'),
      /** Forces a charset whatever MSH-18 says (senders that lie, e.g. Windows-1252). */
      override: charsetName.optional(),
      /** Unknown MSH-18 or invalid bytes are refused (AE/ERR 102/103) instead of decoded with a warning. */
      strict: z.boolean().default(false),
    })
    .prefault({}),
  acceptance: z.strictObject({
    messageTypes: z.array(z.string()).min(1),
    versions: z.array(z.string()).default([]),
    processingIds: z.array(z.string()).default(['P', 'D', 'T']),
    /** ANS partners expect AE for an unsupported version; HL7 says AR. */
    versionRejectCode: z.enum(['AR', 'AE']).default('AR'),
  }),
  ack: z
    .strictObject({
      /** What the sender gets when the store cannot commit: AE with ERR 207, or no ACK at all (sender times out and resends). */
      onStoreFailure: z.enum(['AE', 'none']).default('AE'),
      /**
       * Enhanced mode (MSH-15 valued): answer only as MSH-15 asks (NE never, ER on errors, SU on
       * success). Off by default, as in Mirth: an MLLP sender waits for an answer, so we always
       * send one (CA/CE/CR in enhanced mode).
       */
      honourMsh15: z.boolean().default(false),
      /** ERR layout of our ACKs: auto (by the message's MSH-12: below 2.5 → ERR-1), or forced v2.3 / v2.5 for a partner whose MSH-12 says otherwise. */
      errLayout: z.enum(['auto', 'v2.3', 'v2.5']).default('auto'),
      /**
       * Orders (OML^O21, ORM^O01) are answered with ORL^O22 / ORR^O02 carrying each order's
       * status (OK, UA, CR, UC: IHE LTW LAB-1) instead of a bare ACK; a message with an order
       * that cannot be accepted is refused whole (MSA AE). False: a plain ACK, as for any message.
       */
      orderResponses: z.boolean().default(true),
      /**
       * Enhanced-mode application ACKs (MSH-16 AL/ER/SU): once a message is processed (every
       * destination done, filtered, or dead-lettered), an AA/AE/AR goes back to the sender as a
       * new message over this outbound MLLP connection (docs/channels.md). Absent: none is sent.
       */
      application: mllpDestination.omit({ type: true, name: true }).optional(),
    })
    .prefault({}),
  /** Checked on the raw bytes before decoding and parsing: beyond them, AR with ERR (no parse, nothing rendered). */
  limits: z
    .strictObject({
      /** Segments per message (ERR 198). */
      maxSegments: z.number().int().positive().default(10_000),
      /** Bytes of one segment, hence of any field or repetition in it (ERR 104). */
      maxSegmentBytes: z.number().int().positive().default(8 * 1024 * 1024),
      /** Messages in one MLLP batch (source.acceptBatches); a bigger batch is refused whole (its ACK would be as big). */
      maxBatchMessages: z.number().int().positive().default(1000),
    })
    .prefault({}),
  /** Refused messages kept for operators (state `refused`), bounded per message and per channel. */
  refusals: z
    .strictObject({
      /** Bytes of each refused frame stored; the reason then gives its size and SHA-256. */
      keepBytes: z.number().int().min(0).default(1024),
      /** Refused messages kept per channel; the oldest go first (counted as dropped). */
      maxCount: z.number().int().min(0).default(10_000),
      /** Stored bytes (excerpt + NAK) of refused messages per channel. */
      maxBytes: z.number().int().min(0).default(32 * 1024 * 1024),
    })
    .prefault({}),
  dedupe: z.strictObject({ windowMinutes: z.number().min(0).default(1440) }).prefault({}),
  /**
   * What is kept of the channel's messages and documents, and for how long (docs/channels.md
   * `retention`; engine/channels/retention.ts). A message waiting, retrying, dead-lettered or
   * refused is never trimmed nor deleted by age (refusals have their own quota).
   */
  retention: z
    .strictObject({
      /**
       * everything: a message keeps its raw bytes and contents until it is deleted. metadata: once
       * done, filtered or discarded, the raw message is cut to `excerptBytes` and its contents
       * removed. content-after-delivery: once every delivery succeeded (done), raw message and
       * contents removed. State, ACK, deliveries and search keys stay in every mode.
       */
      storage: z.enum(['everything', 'metadata', 'content-after-delivery']).default('everything'),
      /** Days a finished message keeps its content before it is trimmed (metadata, content-after-delivery). */
      contentDays: z.number().min(0).default(0),
      /** Bytes of the raw message kept in metadata mode. */
      excerptBytes: z.number().int().min(0).default(1024),
      /** Done, filtered and discarded messages received and last changed this many days ago are deleted; absent: kept. */
      messagesDays: z.number().positive().optional(),
      /**
       * Report documents of the channel's reports destinations (SGL.DOC.20): archived once the
       * patient has had no activity for `archiveAfterYears`, purged (files and store rows) after
       * `purgeAfterYears`. Absent: never archived nor purged (`passerelle retention` reports
       * what would be).
       */
      documents: z
        .strictObject({
          archiveAfterYears: z.number().positive().default(5),
          purgeAfterYears: z.number().positive().default(20),
          /** Where archived report folders go; default `<directory>/archive` of each reports destination. */
          archiveDirectory: z.string().optional(),
        })
        .refine((d) => d.purgeAfterYears > d.archiveAfterYears, { message: 'purgeAfterYears must be more than archiveAfterYears', path: ['purgeAfterYears'] })
        .optional(),
    })
    .prefault({}),
  ordering: z
    .strictObject({
      /** placer-order: ORC-2 / OBR-2 then patient; patient: PID-3 first repetition; none: one line per partition by arrival. */
      key: z.enum(['placer-order', 'patient', 'none']).default('placer-order'),
      partitions: z.number().int().min(1).max(256).default(8),
    })
    .prefault({}),
  filter: filterSchema.optional(),
  transform: transformSchema.optional(),
  destinations: z.array(destinationSchema).default([]),
});

export type ChannelConfig = z.infer<typeof channelSchema>;
export type DestinationConfig = z.infer<typeof destinationSchema>;
export type FileDestinationConfig = z.infer<typeof fileDestination>;
export type MllpDestinationConfig = z.infer<typeof mllpDestination>;
export type CrBioDestinationConfig = z.infer<typeof crbioDestination>;
export type ReportsDestinationConfig = z.infer<typeof reportsDestination>;
export type PfiConfig = NonNullable<ReportsDestinationConfig['pfi']>;
export type MssConfig = NonNullable<ReportsDestinationConfig['mss']>;
export type DmpConfig = NonNullable<ReportsDestinationConfig['dmp']>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type OrdersDestinationConfig = z.infer<typeof ordersDestination>;
export type SubcontractorConfig = z.infer<typeof subcontractor>;
export type PlacerStatusConfig = z.infer<typeof placerStatus>;

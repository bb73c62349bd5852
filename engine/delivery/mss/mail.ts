/**
 * The MSSanté mail of one report version to one recipient, and the withdrawal notice
 * (../shared/docs/dmp-mss-ins.md §2.2–2.4; Référentiel #2 headers). Pure: nodemailer message
 * options from facts, so what goes on the wire is tested without a server.
 *
 *  - Subject `XDM/1.0/DDM+<text> <NOM> <prénom> <dd/mm/yyyy>` (receiving PFIs route on it),
 *    IHE_XDM.ZIP and the PDF attached, X-MSS-CODECDA 11502-2, X-MSS-INS.
 *  - Message-ID derived from (report, version, recipient): a resend after a lost answer carries
 *    the same one, for the receiver to drop; In-Reply-To / References chain the versions the
 *    recipient got before, and a new version says it cancels and replaces the last (MSS.24).
 *  - Reply-To the lab's organisational mailbox (MSS.26); DSN asked per recipient (MSS.22).
 */
import { createHash } from 'node:crypto';
import type Mail from 'nodemailer/lib/mailer';
import type { MssConfig } from '../../config/channel-schema';
import type { MailRecipient } from '../routing';

/** LOINC of a CR de biologie: the X-MSS-CODECDA of every mail carrying one. */
const CR_BIO_CODE = '11502-2';

export interface MailPatient {
  birthFamily: string;
  firstBirthGiven: string;
  /** YYYYMMDD (or shorter). */
  birthDate?: string;
}

export interface VersionMailInput {
  config: Pick<MssConfig, 'from' | 'replyTo' | 'dsn' | 'readReceipt' | 'patientNoReply' | 'subject' | 'body' | 'replacementNotice' | 'deletionNotice' | 'headers'>;
  recipient: MailRecipient;
  /** Message-ID of this mail and those of the earlier mails to this recipient, oldest first. */
  messageId: string;
  earlier: string[];
  patient: MailPatient;
  /** True when the documents carry a qualified INS. */
  insQualified: boolean;
}

export interface VersionMail extends VersionMailInput {
  /** The recipient had an earlier version of this report: the body says this one replaces it. */
  replaces: boolean;
  xdm: Uint8Array;
  pdf?: { fileName: string; data: Buffer };
}

/**
 * `<crbio.<filler order, hex>.v<version>.<hash of lab, filler, recipient>@domain-of-from>`: the
 * same on every attempt, and readable back (messageIdParts) when a DSN or a read receipt names
 * it. The filler order number is a lab number, not patient data.
 */
export function messageIdOf(from: string, lab: string, fillerOrder: string, version: number, address: string): string {
  const h = createHash('sha256').update(`${lab}\u0000${fillerOrder}\u0000${address.toLowerCase()}`).digest('hex').slice(0, 16);
  return `<crbio.${Buffer.from(fillerOrder, 'utf8').toString('hex')}.v${version}.${h}@${from.split('@')[1]}>`;
}

/** The filler order and version a Message-ID of ours (or its envelope id) names; undefined for anyone else's. */
export function messageIdParts(id: string): { fillerOrder: string; version: number; hash: string } | undefined {
  const m = /(?:^|<|crbio\.)([0-9a-f]+)\.v(\d+)\.([0-9a-f]{16})(?:@|>|$)/i.exec(id.trim());
  if (!m || m[1]!.length % 2 !== 0) return undefined;
  return { fillerOrder: Buffer.from(m[1]!, 'hex').toString('utf8'), version: Number(m[2]), hash: m[3]!.toLowerCase() };
}

function subjectPatient(p: MailPatient): string {
  const d = p.birthDate && p.birthDate.length >= 8 ? ` ${p.birthDate.slice(6, 8)}/${p.birthDate.slice(4, 6)}/${p.birthDate.slice(0, 4)}` : '';
  return `${p.birthFamily.toUpperCase()} ${p.firstBirthGiven}${d}`.trim();
}

function envelopeOf(o: VersionMailInput): Pick<Mail.Options, 'from' | 'to' | 'replyTo' | 'messageId' | 'inReplyTo' | 'references' | 'dsn' | 'headers' | 'envelope'> {
  const c = o.config;
  const headers: Record<string, string> = { ...c.headers };
  if (c.readReceipt) headers['Disposition-Notification-To'] = c.from;
  return {
    from: c.from,
    to: o.recipient.address,
    replyTo: c.replyTo,
    messageId: o.messageId,
    ...(o.earlier.length > 0 ? { inReplyTo: o.earlier.at(-1)!, references: o.earlier } : {}),
    // ENVID: the Message-ID's left part without `crbio.` (xtext-safe), so a DSN names the mail it is about.
    ...(c.dsn ? { dsn: { id: o.messageId.slice('<crbio.'.length, o.messageId.indexOf('@')), return: 'headers' as const, notify: ['success', 'failure', 'delay'] as ('success' | 'failure' | 'delay')[], recipient: c.from } } : {}),
    envelope: { from: c.from, to: o.recipient.address },
    headers,
  };
}

export function versionMail(o: VersionMail): Mail.Options {
  const c = o.config;
  const patient = o.recipient.audience === 'patient';
  const headers: Record<string, string> = { 'X-MSS-CODECDA': CR_BIO_CODE, 'X-MSS-INS': o.insQualified ? 'O' : 'N' };
  if (patient && c.patientNoReply) headers['X-MSS-MES'] = 'FIN';
  const env = envelopeOf(o);
  const body = patient ? c.body.patient : c.body.professionals;
  const attachments: Mail.Attachment[] = [{ filename: 'IHE_XDM.ZIP', content: Buffer.from(o.xdm), contentType: 'application/zip' }];
  if (o.pdf) attachments.push({ filename: o.pdf.fileName, content: o.pdf.data, contentType: 'application/pdf' });
  return {
    ...env,
    headers: { ...(env.headers as Record<string, string>), ...headers },
    subject: `XDM/1.0/DDM+${c.subject} ${subjectPatient(o.patient)}`,
    text: o.replaces ? `${c.replacementNotice}\n\n${body}\n` : `${body}\n`,
    attachments,
  };
}

/** The notice to a recipient of an earlier version that the report is withdrawn (MSS.25): text only, no document. */
export function withdrawalMail(o: VersionMailInput): Mail.Options {
  const env = envelopeOf(o);
  return {
    ...env,
    subject: `Retrait : ${o.config.subject} ${subjectPatient(o.patient)}`,
    text: `${o.config.deletionNotice}\n`,
  };
}

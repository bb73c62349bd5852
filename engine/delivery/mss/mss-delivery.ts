/**
 * Report versions by MSSanté (issue 9, item 4; docs/design.md "Delivery of report versions"):
 * one target per recipient, `mss:<address>`, chosen by engine/delivery/routing.ts from the
 * report the documents print; one mail per (version, recipient) through the operator's SMTP
 * submission server (nodemailer, STARTTLS or TLS, the organisation's certificate).
 *
 * A version goes only once it passed the full ANS set (else `held` with the reason). A
 * withdrawal sends a notice to every recipient an earlier version was mailed to. SMTP answers
 * steer the retry: 5xx is permanent (dead with the server's words), 4xx and connection trouble
 * are transient (the breaker holds the line), a connection lost after the data was sent is
 * ambiguous and retried by default: the resend carries the same Message-ID.
 */
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { LabProfile } from '../../lab';
import type { MssConfig } from '../../config/channel-schema';
import type { ValidationPool } from '../../validation';
import { fullCheck } from '../../documents/release-check';
import { PasserelleError } from '../../errors';
import { readClientTls } from '../client-tls';
import { PATIENT_MAIL_DOMAIN, routeVersion, type MailRecipient } from '../routing';
import { cachedXdmOfVersion, readWrittenVersion, type WrittenVersion } from '../version-folder';
import { xdsFactsOfCda } from '../xds/metadata';
import { VersionLine, type DeliveryContext, type DeliveryOutcome, type PlannedDelivery, type PublishedVersionEvent, type VersionLineOptions } from '../version-line';
import { messageIdOf, versionMail, withdrawalMail, type VersionMailInput } from './mail';
import { MssReceipts } from './receipts';

export const MSS_KIND = 'mss';

export interface MssDeliveryOptions extends Omit<VersionLineOptions, 'retry'> {
  config: MssConfig;
  lab: LabProfile;
  folderOf: (fillerOrder: string) => string;
  /** Runs the full ANS set. */
  validator: Pick<ValidationPool, 'validate'>;
  /** The version is invisible to the patient (the channel's visibility): no patient mail. */
  invisibleToPatient?: boolean;
}

export class MssDelivery extends VersionLine {
  private readonly transport: Transporter;
  /** Reads the DSN and read receipts back, when the channel says where. */
  private readonly receipts?: MssReceipts;

  constructor(private readonly o: MssDeliveryOptions) {
    super(MSS_KIND, { ...o, retry: o.config.retry, partitions: o.partitions ?? 4 });
    const c = o.config;
    const m = /^(smtps?):\/\/([^:/]+):(\d+)/.exec(c.url)!;
    const tls = readClientTls(c.tls);
    this.transport = nodemailer.createTransport({
      host: m[2],
      port: Number(m[3]),
      secure: m[1] === 'smtps',
      requireTLS: m[1] === 'smtp' && c.starttls === 'required',
      ignoreTLS: m[1] === 'smtp' && c.starttls === 'off',
      name: c.from.split('@')[1],
      tls: { minVersion: 'TLSv1.2', ...(tls?.ca ? { ca: tls.ca } : {}), ...(tls?.cert ? { cert: tls.cert } : {}), ...(tls?.key ? { key: tls.key } : {}), ...(tls?.servername ? { servername: tls.servername } : {}) },
      ...(c.auth?.user ? { auth: { user: c.auth.user, pass: c.auth.pass } } : {}),
      connectionTimeout: c.connectTimeoutMs,
      greetingTimeout: c.connectTimeoutMs,
      socketTimeout: c.responseTimeoutMs,
      // A few kept connections, one per partition of the line, reused across mails.
      pool: true,
      maxConnections: o.partitions ?? 4,
    });
    const r = c.receipts;
    if (r?.url) this.receipts = new MssReceipts({ name: o.name, config: r, ...(tls ? { tls } : {}), from: c.from, store: o.store, logger: o.logger });
  }

  override async start(): Promise<void> {
    await super.start();
    // Only the processes that consume read the mailbox.
    if (this.o.consume) this.receipts?.start();
  }

  override async stop(drainDeadlineMs: number): Promise<void> {
    await this.receipts?.stop();
    await super.stop(drainDeadlineMs);
    this.transport.close();
  }

  protected async plan(v: PublishedVersionEvent): Promise<PlannedDelivery[]> {
    if (v.status === 'deleted') return (await this.earlierTargets(v)).map((target) => ({ target, state: 'queued' as const, detail: null }));
    if (!v.report) return [];
    const c = this.o.config;
    const routing = routeVersion(v.report, { dmp: false, mssProfessionals: c.professionals, mssPatient: c.patient, invisibleToPatient: this.o.invisibleToPatient });
    if (routing.notMailed.length > 0) {
      this.o.logger.warn('report version not mailed to some recipients', { destination: this.o.name, target: MSS_KIND, version: v.version, recipients: routing.notMailed.map((n) => n.who.split(' ')[0]).join(',') });
    }
    return [
      ...routing.mail.map((r) => ({ target: targetOf(r), state: 'queued' as const, detail: null })),
      ...routing.notMailed.map((n) => ({ target: `${MSS_KIND}:(${n.who})`, state: 'held' as const, detail: `not mailed: ${n.why}` })),
      // Mailed all the same (the message gave the address): a row the operator sees, apart from the mail's.
      ...routing.flagged.map((n) => ({ target: `${MSS_KIND}:(${n.who})`, state: 'held' as const, detail: `mailed, but ${n.why}` })),
    ];
  }

  protected async deliver(ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const { lab, fillerOrder, version, target, current, versions, earlier } = ctx;
    const address = target.slice(MSS_KIND.length + 1);
    const recipient: MailRecipient = address.endsWith(`@${PATIENT_MAIL_DOMAIN}`) ? { address, audience: 'patient', role: 'patient' } : { address, audience: 'professional', role: 'copy' };
    const c = this.o.config;
    const folder = this.o.folderOf(fillerOrder);
    const statusOf = (n: number): string | undefined => versions.find((x) => x.version === n)?.status;
    // What this recipient has: the versions mailed to it, the withdrawals aside.
    const mailed = earlier.filter((r) => r.state === 'sent' && statusOf(r.version) !== 'deleted' && r.detail?.startsWith('Message-ID'));
    const earlierIds = mailed.map((r) => messageIdOf(c.from, lab, fillerOrder, r.version, address));
    const messageId = messageIdOf(c.from, lab, fillerOrder, version, address);

    let mail: Mail.Options;
    if (current.status === 'deleted') {
      const last = mailed.at(-1);
      if (!last) return { state: 'sent', detail: 'nothing mailed before to withdraw' };
      const shown = this.read(join(folder, `v${last.version}`), recipient);
      mail = withdrawalMail(this.mailInput(shown, recipient, messageId, earlierIds));
    } else {
      const dir = join(folder, `v${version}`);
      const shown = this.read(dir, recipient);
      const verdict = await fullCheck(dir, shown.profile, this.o.validator);
      if (!verdict.valid) {
        this.o.logger.warn('report version held: it fails the full ANS set', { destination: this.o.name, target: MSS_KIND, code: 'PSL_VERSION_HELD', version });
        return { state: 'held', detail: verdict.reason ?? 'fails the full ANS set' };
      }
      // Deflated once per version (kept beside it), on this thread: measured faster than queueing it behind the DMP's builds.
      mail = versionMail({ ...this.mailInput(shown, recipient, messageId, earlierIds), replaces: mailed.length > 0, xdm: cachedXdmOfVersion(shown, this.o.lab), ...(shown.pdf ? { pdf: shown.pdf } : {}) });
    }
    const info = await this.send(mail);
    this.o.logger.info('report version mailed', { destination: this.o.name, target: MSS_KIND, version, audience: recipient.audience, withdrawal: current.status === 'deleted' });
    return { state: 'sent', detail: `Message-ID ${messageId}, ${info}` };
  }

  /** The patient's own version when the channel writes one, else the professionals'. */
  private read(dir: string, recipient: MailRecipient): WrittenVersion {
    const v = (recipient.audience === 'patient' ? readWrittenVersion(dir, 'patient') : undefined) ?? readWrittenVersion(dir, 'pro');
    if (!v) throw new PasserelleError('PSL_MESSAGE_MISSING', `${dir}: the version's documents are missing`);
    return v;
  }

  private mailInput(v: WrittenVersion, recipient: MailRecipient, messageId: string, earlier: string[]): VersionMailInput {
    const facts = xdsFactsOfCda(v.n3);
    return {
      config: this.o.config,
      recipient,
      messageId,
      earlier,
      patient: { birthFamily: facts.patient.birthFamily, firstBirthGiven: facts.patient.firstBirthGiven, ...(facts.patient.birthDate ? { birthDate: facts.patient.birthDate } : {}) },
      insQualified: !!facts.patient.ins,
    };
  }

  private async send(mail: Mail.Options): Promise<string> {
    let info: { accepted?: unknown[]; rejected?: unknown[]; response?: string };
    try {
      info = await this.transport.sendMail(mail);
    } catch (e) {
      throw smtpError(e);
    }
    if ((info.rejected?.length ?? 0) > 0) throw new PasserelleError('PSL_MSS_REFUSED', `the SMTP server refused the recipient: ${info.response ?? ''}`);
    return (info.response ?? '').slice(0, 200);
  }
}

function targetOf(r: MailRecipient): string {
  return `${MSS_KIND}:${r.address}`;
}

/** nodemailer's failure as one of ours: the SMTP reply code decides, then whether the data may have gone. */
export function smtpError(e: unknown): PasserelleError {
  const err = e as { code?: string; responseCode?: number; command?: string; response?: string; message?: string };
  const said = err.response ?? err.message ?? String(e);
  if (err.responseCode !== undefined && err.responseCode >= 500) return new PasserelleError('PSL_MSS_REFUSED', `SMTP ${err.command ?? ''} refused: ${said}`.slice(0, 500));
  if (err.responseCode !== undefined && err.responseCode >= 400) return new PasserelleError('PSL_MSS_UNAVAILABLE', `SMTP ${err.command ?? ''} deferred: ${said}`.slice(0, 500));
  // The data was on its way (or sent) when the connection failed: the server may have taken it.
  if (err.command?.startsWith('DATA')) {
    return new PasserelleError('PSL_MSS_UNCERTAIN', `SMTP connection lost while the mail was sent: ${said}`.slice(0, 500));
  }
  return new PasserelleError('PSL_MSS_UNAVAILABLE', `SMTP server unreachable: ${err.code ?? ''} ${said}`.slice(0, 500));
}

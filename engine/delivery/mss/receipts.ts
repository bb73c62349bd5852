/**
 * MSSanté receipts (issue 9, item 6; ../shared/docs/dmp-mss-ins.md §2.5): the delivery status
 * notifications (DSN, RFC 3464) and read receipts (MDN, RFC 8098) that come back to the lab's
 * application mailbox, read over IMAP and recorded against the mail they answer:
 * `mss>dsn:<address>` (acknowledged when delivered, failed with the status and the server's
 * words) and `mss>read:<address>`. The mail is found by its envelope id or Message-ID, which
 * carry the filler order and the version (mail.ts messageIdOf). A report of someone else's mail
 * is logged once (PSL_RECEIPT_UNKNOWN) and left alone. Each message read is flagged \Seen, so a
 * restart does not record it twice.
 */
import { ImapFlow, type MessageStructureObject } from 'imapflow';
import type { MessageStore } from '../../store';
import type { Logger } from '../../runtime/logger';
import { messageIdOf, messageIdParts } from './mail';

export interface MssReceiptsConfig {
  /** `imap://host:port` (STARTTLS when offered, required unless `starttls: off`) or `imaps://host:port`. */
  url: string;
  user: string;
  pass: string;
  mailbox: string;
  pollSeconds: number;
}

export interface DeliveryStatus {
  envelopeId?: string;
  recipients: { address: string; action: string; status: string; diagnostic?: string }[];
}

/** Fields of a `message/delivery-status` part: the per-message block, then one block per recipient. */
export function parseDeliveryStatus(text: string): DeliveryStatus {
  const blocks = text.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ').split(/\n\s*\n/).map(fieldsOf);
  const first = blocks[0] ?? {};
  return {
    ...(first['original-envelope-id'] ? { envelopeId: first['original-envelope-id'] } : {}),
    recipients: blocks
      .filter((b) => b['final-recipient'] && b['action'])
      .map((b) => ({ address: addressOf(b['final-recipient']!), action: b['action']!.toLowerCase(), status: b['status'] ?? '', ...(b['diagnostic-code'] ? { diagnostic: b['diagnostic-code'] } : {}) })),
  };
}

/** Fields of a `message/disposition-notification` part. */
export function parseDisposition(text: string): { originalMessageId?: string; recipient?: string; disposition: string } {
  const f = fieldsOf(text.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' '));
  return {
    ...(f['original-message-id'] ? { originalMessageId: f['original-message-id'] } : {}),
    ...(f['final-recipient'] ? { recipient: addressOf(f['final-recipient']) } : {}),
    disposition: f['disposition'] ?? '',
  };
}

function fieldsOf(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] ??= line.slice(i + 1).trim();
  }
  return out;
}

/** `rfc822; someone@x` → `someone@x`. */
function addressOf(v: string): string {
  return v.replace(/^[^;]*;\s*/, '').trim();
}

/** The part of a report of this type (delivery-status / disposition-notification), if the message is one. */
function reportPart(node: MessageStructureObject | undefined, type: string): string | undefined {
  if (!node) return undefined;
  if (node.type === type) return node.part ?? '1';
  for (const c of node.childNodes ?? []) {
    const p = reportPart(c, type);
    if (p) return p;
  }
  return undefined;
}

export interface MssReceiptsOptions {
  name: string;
  config: MssReceiptsConfig;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string };
  /** The From of our mails (the Message-IDs' domain). */
  from: string;
  store: Pick<MessageStore, 'findVersionDeliveries' | 'putVersionDelivery'>;
  logger: Logger;
}

export class MssReceipts {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private failing = false;

  constructor(private readonly o: MssReceiptsOptions) {}

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.poll()
        .then(() => {
          if (this.failing) this.o.logger.info('MSSanté receipts: mailbox read again', { destination: this.o.name });
          this.failing = false;
        })
        .catch((e: unknown) => {
          // Once when it starts failing, not at every poll.
          if (!this.failing) this.o.logger.warn('MSSanté receipts: mailbox not read', { destination: this.o.name, error: (e as Error).message });
          this.failing = true;
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.o.config.pollSeconds * 1000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Reads the unseen messages once; returns how many receipts were recorded. */
  async poll(): Promise<number> {
    const m = /^(imaps?):\/\/([^:/]+):(\d+)/.exec(this.o.config.url);
    if (!m) throw new Error(`receipts.url ${this.o.config.url}: imap://host:port or imaps://host:port`);
    const client = new ImapFlow({
      host: m[2]!,
      port: Number(m[3]),
      secure: m[1] === 'imaps',
      doSTARTTLS: m[1] === 'imap' ? true : undefined,
      auth: { user: this.o.config.user, pass: this.o.config.pass },
      tls: { minVersion: 'TLSv1.2', ...(this.o.tls ?? {}) },
      logger: false,
    });
    client.on('error', () => undefined);
    await client.connect();
    let recorded = 0;
    try {
      const lock = await client.getMailboxLock(this.o.config.mailbox);
      try {
        const uids = (await client.search({ seen: false }, { uid: true })) || [];
        for (const uid of uids) {
          const msg = await client.fetchOne(String(uid), { bodyStructure: true }, { uid: true });
          const structure = msg ? msg.bodyStructure : undefined;
          const dsnPart = reportPart(structure, 'message/delivery-status');
          const mdnPart = dsnPart ? undefined : reportPart(structure, 'message/disposition-notification');
          if (dsnPart) recorded += await this.recordDsn(parseDeliveryStatus(await this.partText(client, uid, dsnPart)));
          else if (mdnPart) recorded += await this.recordMdn(parseDisposition(await this.partText(client, uid, mdnPart)));
          await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => undefined);
    }
    return recorded;
  }

  private async partText(client: ImapFlow, uid: number, part: string): Promise<string> {
    const { content } = await client.download(String(uid), part, { uid: true });
    const chunks: Buffer[] = [];
    if (content) for await (const c of content) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** The row of the mail a receipt answers: found by filler order, version and recipient (the hash names the lab). */
  private async mailRow(id: string, address: string): Promise<{ lab: string; fillerOrder: string; version: number } | undefined> {
    const parts = messageIdParts(id);
    if (!parts) return undefined;
    const rows = await this.o.store.findVersionDeliveries({ fillerOrder: parts.fillerOrder, limit: 10_000 });
    const row = rows.find(
      (r) => r.version === parts.version && r.target.toLowerCase() === `mss:${address.toLowerCase()}` && messageIdParts(messageIdOf(this.o.from, r.lab, r.fillerOrder, r.version, address))?.hash === parts.hash,
    );
    return row ? { lab: row.lab, fillerOrder: row.fillerOrder, version: row.version } : undefined;
  }

  private async recordDsn(dsn: DeliveryStatus): Promise<number> {
    let n = 0;
    for (const r of dsn.recipients) {
      const row = dsn.envelopeId ? await this.mailRow(dsn.envelopeId, r.address) : undefined;
      if (!row) {
        this.o.logger.warn('MSSanté delivery report for a mail we did not send', { destination: this.o.name, code: 'PSL_RECEIPT_UNKNOWN' });
        continue;
      }
      const delivered = r.action === 'delivered' || r.action === 'relayed' || r.action === 'expanded';
      if (r.action === 'delayed') continue; // not final: the final report follows
      await this.o.store.putVersionDelivery({
        ...row,
        target: `mss>dsn:${r.address.toLowerCase()}`,
        state: delivered ? 'acknowledged' : 'failed',
        detail: `${r.action} ${r.status}${r.diagnostic ? ` ${r.diagnostic}` : ''}`.slice(0, 1000),
      });
      n++;
    }
    return n;
  }

  private async recordMdn(mdn: ReturnType<typeof parseDisposition>): Promise<number> {
    const row = mdn.originalMessageId && mdn.recipient ? await this.mailRow(mdn.originalMessageId, mdn.recipient) : undefined;
    if (!row) {
      this.o.logger.warn('MSSanté read receipt for a mail we did not send', { destination: this.o.name, code: 'PSL_RECEIPT_UNKNOWN' });
      return 0;
    }
    const failed = /\/error|failed/i.test(mdn.disposition);
    await this.o.store.putVersionDelivery({ ...row, target: `mss>read:${mdn.recipient!.toLowerCase()}`, state: failed ? 'failed' : 'acknowledged', detail: mdn.disposition.slice(0, 1000) });
    return 1;
  }
}

/**
 * A real SMTP submission server for tests (smtp-server from npm): STARTTLS with the test PKI's
 * server certificate, a client certificate required, DSN advertised. It keeps every mail it
 * took, parsed (mailparser), with its envelope and the client certificate's CN; it can be told
 * to refuse (4xx / 5xx) or be stopped and started again on the same port.
 */
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { TLSSocket } from 'node:tls';
import type { TestPki } from './pki';

export interface ReceivedMail {
  mailFrom: string;
  rcptTo: { address: string; notify?: string[] }[];
  envid?: string;
  ret?: string;
  clientCn?: string;
  raw: Buffer;
  parsed: ParsedMail;
}

export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  /** Mails taken, parsed or not. */
  count = 0;
  /** Answer to give to RCPT TO instead of accepting (e.g. 451 or 550), while set. */
  refuseWith?: number;
  private server?: SMTPServer;
  private readonly cns = new Map<string, string>();

  /** @param light count the mails without parsing or keeping them (benchmarks: the server must not be the bottleneck). */
  constructor(
    readonly port: number,
    private readonly pki: TestPki,
    private readonly light = false,
  ) {}

  async listen(): Promise<void> {
    const options: SMTPServerOptions = {
      key: this.pki.serverKey,
      cert: this.pki.serverCert,
      ca: this.pki.caCert,
      requestCert: true,
      rejectUnauthorized: true,
      authOptional: true,
      disabledCommands: ['AUTH'],
      hideDSN: false,
      logger: false,
      // Stopping the server drops the clients' kept connections soon, as a server going down would.
      closeTimeout: 500,
      onSecure: (socket, session, cb) => {
        const cn = (socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
        if (cn) this.cns.set(session.id, Array.isArray(cn) ? cn[0]! : cn);
        cb();
      },
      onRcptTo: (address, _session, cb) => {
        if (this.refuseWith) {
          const e = Object.assign(new Error(`test server refuses (${this.refuseWith})`), { responseCode: this.refuseWith });
          return cb(e);
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.count++;
          if (this.light) return cb();
          const raw = Buffer.concat(chunks);
          simpleParser(raw)
            .then((parsed) => {
              this.received.push(this.record(session, raw, parsed));
              cb();
            })
            .catch((e: Error) => cb(e));
        });
      },
    };
    this.server = new SMTPServer(options);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server.on('error', () => undefined);
  }

  private record(session: SMTPServerSession, raw: Buffer, parsed: ParsedMail): ReceivedMail {
    const env = session.envelope;
    const mailFrom = env.mailFrom ? env.mailFrom.address : '';
    return {
      mailFrom,
      rcptTo: env.rcptTo.map((r) => ({ address: r.address, ...(r.dsn?.notify ? { notify: r.dsn.notify } : {}) })),
      ...(env.dsn?.envid ? { envid: env.dsn.envid } : {}),
      ...(env.dsn?.ret ? { ret: env.dsn.ret } : {}),
      ...(this.cns.get(session.id) ? { clientCn: this.cns.get(session.id)! } : {}),
      raw,
      parsed,
    };
  }

  /** Mails to one address, in arrival order. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.rcptTo.some((r) => r.address === address));
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/**
 * A real IMAP server for tests: Debian's Dovecot (scripts/test-prereqs.sh installs
 * dovecot-imapd), run in the foreground on a free port with its own configuration, one mailbox
 * (the lab's application mailbox), STARTTLS required with the test PKI's server certificate.
 * `deliver()` puts a message in the mailbox as a mail server would (IMAP APPEND).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ImapFlow } from 'imapflow';
import type { TestPki } from './pki';

export const DOVECOT = '/usr/sbin/dovecot';

export class TestImapServer {
  private child?: ChildProcess;
  private readonly dir: string;

  constructor(
    readonly port: number,
    private readonly pki: TestPki,
    readonly user = 'resultats@labo-demo.mssante.fr',
    readonly pass = 'secret-de-test',
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'psl-imap-'));
  }

  get url(): string {
    return `imap://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const d = this.dir;
    chmodSync(d, 0o755);
    for (const sub of ['run', 'state', 'home']) mkdirSync(join(d, sub), { recursive: true });
    const uid = Number(execFileSync('id', ['-u', 'dovecot']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'dovecot']).toString().trim());
    chownSync(join(d, 'home'), uid, gid);
    writeFileSync(join(d, 'server.crt'), this.pki.serverCert);
    writeFileSync(join(d, 'server.key'), this.pki.serverKey, { mode: 0o600 });
    writeFileSync(join(d, 'users'), `${this.user}:{PLAIN}${this.pass}::::::\n`);
    writeFileSync(
      join(d, 'dovecot.conf'),
      [
        'protocols = imap',
        'listen = 127.0.0.1',
        `base_dir = ${d}/run`,
        `state_dir = ${d}/state`,
        `instance_name = psl-imap-${this.port}`,
        `log_path = ${d}/dovecot.log`,
        'ssl = required',
        `ssl_cert = <${d}/server.crt`,
        `ssl_key = <${d}/server.key`,
        'ssl_min_protocol = TLSv1.2',
        'auth_mechanisms = plain',
        `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u ${d}/users\n}`,
        `userdb {\n  driver = static\n  args = uid=${uid} gid=${gid} home=${d}/home/%u\n}`,
        'mail_location = maildir:~/Maildir',
        // The mailbox belongs to the dovecot system user (tests run as root; Dovecot refuses root and system uids by default).
        `first_valid_uid = ${uid}`,
        `first_valid_gid = ${gid}`,
        `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${this.port}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
        'service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}',
        `default_internal_user = dovecot`,
        `default_login_user = dovenull`,
        '',
      ].join('\n'),
    );
    this.child = spawn(DOVECOT, ['-F', '-c', join(d, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    this.child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    this.child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    // Ready when a client logs in.
    const end = Date.now() + 15_000;
    for (;;) {
      try {
        const c = this.client();
        await c.connect();
        await c.logout();
        return;
      } catch (e) {
        if (Date.now() > end || this.child.exitCode !== null) throw new Error(`dovecot did not start (${userInfo().username}): ${out} ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  client(): ImapFlow {
    const c = new ImapFlow({ host: '127.0.0.1', port: this.port, secure: false, doSTARTTLS: true, tls: { ca: this.pki.caCert, servername: 'localhost' }, auth: { user: this.user, pass: this.pass }, logger: false });
    c.on('error', () => undefined);
    return c;
  }

  /** Puts a message in the INBOX, unseen, as a mail server delivering it would. */
  async deliver(raw: string | Buffer): Promise<void> {
    const c = this.client();
    await c.connect();
    try {
      await c.append('INBOX', raw, []);
    } finally {
      await c.logout();
    }
  }

  /** Messages of the INBOX with the \Seen flag. */
  async seen(): Promise<number> {
    const c = this.client();
    await c.connect();
    try {
      const lock = await c.getMailboxLock('INBOX');
      try {
        return ((await c.search({ seen: true })) || []).length;
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

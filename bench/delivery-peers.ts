/**
 * The delivery benchmark's peers, in a process of their own so that their work is not counted
 * against the engine's: a real SMTP server (smtp-server, STARTTLS, client certificate required),
 * the DMP double over HTTPS with mutual TLS, and a PFI MLLP receiver. Light modes: they answer
 * without parsing or checking (the tests keep every check). Driven over IPC by bench/delivery.ts:
 * `counts`, `down`, `up`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestSmtpServer } from '../test/support/smtp';
import { DmpDouble } from '../test/support/dmp-double';
import type { TestPki } from '../test/support/pki';
import { DownstreamReceiver } from './downstream-receiver';

export interface PeerPorts {
  smtp: number;
  dmp: number;
  pfi: number;
}

export type PeerCommand = { cmd: 'counts' } | { cmd: 'down' } | { cmd: 'up' };
export interface PeerCounts {
  smtp: number;
  dmp: number;
  pfi: number;
  pfiDuplicates: number;
}

async function main(): Promise<void> {
  const dir = process.env.BENCH_PKI_DIR!;
  const ports = JSON.parse(process.env.BENCH_PEER_PORTS!) as PeerPorts;
  const r = (f: string): Buffer => readFileSync(join(dir, f));
  const pki = { dir, caCert: r('ca.crt'), serverKey: r('server.key'), serverCert: r('server.crt') } as TestPki;
  let smtp = new TestSmtpServer(ports.smtp, pki, true);
  let dmp = new DmpDouble(ports.dmp, pki, true);
  const pfi = new DownstreamReceiver(ports.pfi);
  let smtpBefore = 0;
  let dmpBefore = 0;
  const up = async (): Promise<void> => {
    await Promise.all([smtp.listen(), dmp.listen(), pfi.up()]);
  };
  await up();
  process.on('message', (m: PeerCommand) => {
    void (async () => {
      if (m.cmd === 'counts') {
        process.send!({ smtp: smtpBefore + smtp.count, dmp: dmpBefore + dmp.accepted, pfi: pfi.distinct, pfiDuplicates: pfi.duplicateCount } satisfies PeerCounts);
      } else if (m.cmd === 'down') {
        await Promise.all([smtp.close(), dmp.close(), pfi.down()]);
        smtpBefore += smtp.count;
        dmpBefore += dmp.accepted;
        smtp = new TestSmtpServer(ports.smtp, pki, true);
        dmp = new DmpDouble(ports.dmp, pki, true);
        process.send!({ done: 'down' });
      } else if (m.cmd === 'up') {
        await up();
        process.send!({ done: 'up' });
      }
    })();
  });
  process.send!({ ready: true });
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack) + '\n');
  process.exit(1);
});

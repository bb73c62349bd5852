/** Throw-away PKI made with the openssl CLI: a CA, server and client certificates. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  /** A second server certificate (CN=reloaded.test) from the same CA, for reloadTls. */
  server2Key: Buffer;
  server2Cert: Buffer;
  /** Client certificate signed by the CA (CN=lab-analyzer). */
  clientKey: Buffer;
  clientCert: Buffer;
  /** RSA 2048 signing certificate from the CA (CN=DMP SIGN): the organisation seal (ORG_SIGN) of VIHF and XAdES. */
  signKey: Buffer;
  signCert: Buffer;
  /** Self-signed client certificate unknown to the CA (CN=intruder). */
  rogueKey: Buffer;
  rogueCert: Buffer;
  cleanup(): void;
}

/** Generates a CA, two server certificates and two client certificates (EC P-256, 2 days). */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'mllp-pki-'));
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  ossl('req', '-x509', ...newKey, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=Passerelle Test CA');
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  const signed = (name: string, cn: string, ext: string, key = newKey): void => {
    ossl('req', ...key, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}/O=Passerelle Tests`);
    ossl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(ext));
  };
  signed('server', 'localhost', 'server.ext');
  signed('server2', 'reloaded.test', 'server.ext');
  signed('client', 'lab-analyzer', 'client.ext');
  writeFileSync(p('sign.ext'), 'keyUsage=digitalSignature,nonRepudiation\n');
  signed('sign', 'DMP SIGN', 'sign.ext', ['-newkey', 'rsa:2048', '-nodes']);
  ossl('req', '-x509', ...newKey, '-keyout', p('rogue.key'), '-out', p('rogue.crt'), '-days', '2', '-subj', '/CN=intruder');

  const r = (f: string): Buffer => readFileSync(p(f));
  return {
    dir,
    caCert: r('ca.crt'),
    serverKey: r('server.key'),
    serverCert: r('server.crt'),
    server2Key: r('server2.key'),
    server2Cert: r('server2.crt'),
    clientKey: r('client.key'),
    clientCert: r('client.crt'),
    signKey: r('sign.key'),
    signCert: r('sign.crt'),
    rogueKey: r('rogue.key'),
    rogueCert: r('rogue.crt'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The organisation seal (ORG_SIGN certificate, ../shared/docs/dmp-mss-ins.md §1.2): the key and
 * certificate that sign the VIHF and the XAdES of each submission set. Read once from PEM files;
 * an RSA key is required (the DMP's XML signatures are RSA).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PasserelleError } from '../../errors';

export interface Seal {
  keyPem: string;
  certPem: string;
  cert: X509Certificate;
  /** Subject DN as the VIHF Issuer writes it: `C=FR, ST=…, O=…, CN=…`. */
  subjectDn: string;
}

export function loadSeal(files: { cert: string; key: string }, where: string): Seal {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(resolve(files.cert), 'utf8');
    keyPem = readFileSync(resolve(files.key), 'utf8');
  } catch (e) {
    throw new PasserelleError('PSL_CONFIG_INVALID', `${where}: the signing certificate or key cannot be read (${(e as Error).message})`);
  }
  const cert = new X509Certificate(certPem);
  if (createPrivateKey(keyPem).asymmetricKeyType !== 'rsa') throw new PasserelleError('PSL_CONFIG_INVALID', `${where}: the signing key must be RSA (the DMP's XML signatures are RSA)`);
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new PasserelleError('PSL_CONFIG_INVALID', `${where}: the signing key does not match its certificate`);
  return { certPem, keyPem, cert, subjectDn: cert.subject.split('\n').join(', ') };
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The `tls` block of an outbound MLLP connection as channel files write it (paths to PEM files). */
export interface ClientTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

/** Reads the PEM files an outbound MLLP connection (destination, application ACKs) names. */
export function readClientTls(tls: ClientTlsFiles | undefined): { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string } | undefined {
  if (!tls) return undefined;
  const read = (p: string | undefined): Buffer | undefined => (p ? readFileSync(resolve(p)) : undefined);
  return { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key), servername: tls.servername };
}

/**
 * An https source of the directory (the annuaire.sante.fr extraction URLs) saved to a temporary
 * file before it is loaded: the load then reads a local file, and a download cut halfway never
 * reaches the store. One deadline for the whole transfer; redirects followed (a few).
 * The server's chain is IGC-Santé: give its root as `ca` (added to Node's roots).
 */
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import { pipeline } from 'node:stream/promises';
import { PasserelleError } from '../errors';
import type { DirectoryKind } from '../store';

export interface DownloadOptions {
  /** Extra trusted roots (PEM). */
  ca?: string;
  /** Deadline for the whole download. Default 10 min. */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 5;
const BASE_NAME: Record<DirectoryKind, string> = { persons: 'PS_LibreAcces_Personne_activite', mssante: 'Extraction_Correspondance_MSSante' };

/** Downloads `url` into `dir`; returns the file (`.zip` when it is one, else `.txt`), named after the kind. */
export async function downloadExtraction(url: string, kind: DirectoryKind, dir: string, o: DownloadOptions = {}): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
  const part = path.join(dir, `${BASE_NAME[kind]}_${stamp}.part`);
  const signal = AbortSignal.timeout(o.timeoutMs ?? 600_000);
  const ca = o.ca ? [...tls.rootCertificates, o.ca] : undefined;
  try {
    let target = url;
    for (let hop = 0; ; hop++) {
      const res = await get(target, signal, ca);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && hop < MAX_REDIRECTS) {
        res.resume();
        target = new URL(res.headers.location, target).toString();
        if (!target.startsWith('https://')) throw new Error(`redirected to a non-https address`);
        continue;
      }
      if (status !== 200) {
        res.resume();
        throw new Error(`HTTP ${status}`);
      }
      await pipeline(res, fs.createWriteStream(part), { signal });
      break;
    }
    const head = Buffer.alloc(2);
    const fd = fs.openSync(part, 'r');
    try {
      fs.readSync(fd, head, 0, 2, 0);
    } finally {
      fs.closeSync(fd);
    }
    const file = part.replace(/\.part$/, head.toString('latin1') === 'PK' ? '.zip' : '.txt');
    fs.renameSync(part, file);
    return file;
  } catch (e) {
    fs.rmSync(part, { force: true });
    const why = signal.aborted ? `no complete answer within ${o.timeoutMs ?? 600_000} ms` : (e as Error).message;
    throw new PasserelleError('PSL_DIRECTORY_LOAD_FAILED', `download of the ${kind} extraction from ${new URL(url).host}: ${why}`, { cause: e, details: { kind } });
  }
}

function get(url: string, signal: AbortSignal, ca: string[] | undefined): Promise<import('node:http').IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { signal, ...(ca ? { ca } : {}), headers: { 'user-agent': 'passerelle' } }, resolve);
    req.on('error', reject);
  });
}

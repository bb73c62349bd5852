/**
 * Worker-thread side of BuildPool: a version folder (and the one the DMP holds) in, the ITI-41
 * request out, its body transferred, not copied; the seal is read once per thread.
 */
import { parentPort } from 'node:worker_threads';
import { errorCodeOf } from '../errors';
import type { LabProfile } from '../lab';
import { readWrittenVersion, type WrittenVersion } from './version-folder';
import { filingRequest, type FilingInput } from './dmp/filing';
import { loadSeal, type Seal } from './dmp/signer';

export interface BuildTask {
  kind: 'dmp-filing';
  seal: { cert: string; key: string };
  lab: LabProfile;
  config: FilingInput['config'];
  shownDir: string;
  holdsDir?: string;
  endpoint: string;
}

const port = parentPort;
const seals = new Map<string, Seal>();

function version(dir: string, profile = 'pro'): WrittenVersion {
  const v = readWrittenVersion(dir, profile);
  if (!v) throw new Error(`${dir}: the version's documents are missing`);
  return v;
}

function run(t: BuildTask): { result: unknown; transfer: ArrayBuffer[] } {
  const key = `${t.seal.cert}\u0000${t.seal.key}`;
  let seal = seals.get(key);
  if (!seal) seals.set(key, (seal = loadSeal(t.seal, 'dmp.seal')));
  const f = filingRequest({ seal, lab: t.lab, config: t.config, shown: version(t.shownDir), holds: t.holdsDir ? version(t.holdsDir) : undefined, endpoint: t.endpoint });
  const body = f.request.body.buffer.slice(f.request.body.byteOffset, f.request.body.byteOffset + f.request.body.length) as ArrayBuffer;
  return { result: { ...f, request: { ...f.request, body } }, transfer: [body] };
}

if (port) {
  port.postMessage({ ready: true });
  port.on('message', (m: { id: number; task: BuildTask }) => {
    try {
      const { result, transfer } = run(m.task);
      port.postMessage({ id: m.id, result }, transfer);
    } catch (err) {
      port.postMessage({ id: m.id, error: { code: errorCodeOf(err), message: (err as Error).message } });
    }
  });
}

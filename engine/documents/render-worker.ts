/**
 * Worker-thread side of RenderPool: HL7 text in, rendered set + Schematron reports out. The XSD
 * is left to the main thread (libxmljs is not worker-safe); see render-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Message } from '../hl7';
import { errorCodeOf } from '../errors';
import { fromWireJson, reportFromMessage } from '../lab';
import type { Report } from '../lab';
import type { LabProfile, RenderOptions } from '../lab/profile';
import { AnsKit, ansUcumAccepts } from '../validation';
import { buildDocumentSet } from './document-set';

export interface RenderRequest {
  id: number;
  /** The result message, serialised (a Message does not cross threads)… */
  hl7?: string;
  /** …or a report already built (a version of a report across messages), engine/lab/wire-json.ts. */
  report?: string;
  lab: LabProfile;
  options: RenderOptions;
}

const data = workerData as { kitDir: string; cacheDir?: string };
const kit = AnsKit.open(data.kitDir, { cacheDir: data.cacheDir });
const port = parentPort;

if (port) {
  kit
    .prepare([`volet-2024.01`, `volet-2021.01`])
    .then(() => port.postMessage({ ready: true }))
    .catch((err: unknown) => port.postMessage({ ready: false, error: { code: errorCodeOf(err), message: (err as Error).message } }));
  port.on('message', (m: RenderRequest) => {
    void (async () => {
      try {
        const report = m.report !== undefined ? fromWireJson<Report>(m.report) : reportFromMessage(Message.parse(m.hl7 ?? ''));
        const built = await buildDocumentSet(report, m.lab, m.options, ansUcumAccepts(data.kitDir));
        const t = performance.now();
        const n3 = kit.validateSync(built.n3, {}, { runXsd: false });
        const n1 = kit.validateSync(built.n1, {}, { runXsd: false });
        port.postMessage({ id: m.id, built, n3, n1, ms: performance.now() - t });
      } catch (err) {
        port.postMessage({ id: m.id, error: { code: errorCodeOf(err), message: (err as Error).message } });
      }
    })();
  });
}

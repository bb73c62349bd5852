/** Worker-thread side of ValidationPool: one AnsKit per thread, validates on request. */
import { parentPort, workerData } from 'node:worker_threads';
import { errorCodeOf } from '../errors';
import { AnsKit } from './kit';
import type { ValidateOptions } from './types';

interface Request {
  id: number;
  xml: string;
  options: ValidateOptions;
}

const data = workerData as { kitDir: string; cacheDir?: string; prepare: string[] };
// XSD (libxmljs, not thread-safe) is run by the main thread: the worker only does Schematron.
const kit = AnsKit.open(data.kitDir, { cacheDir: data.cacheDir });
const port = parentPort;
if (port) {
  kit
    .prepare(data.prepare.filter((n) => n !== 'xsd'))
    .then(() => port.postMessage({ ready: true }))
    .catch((err: unknown) => port.postMessage({ ready: false, error: { code: errorCodeOf(err), message: (err as Error).message } }));
  port.on('message', (m: Request) => {
    try {
      let validated = m.xml;
      const report = kit.validateSync(m.xml, m.options, { runXsd: false, onXml: (x) => (validated = x) });
      port.postMessage({ id: m.id, report, xml: validated === m.xml ? undefined : validated });
    } catch (err) {
      port.postMessage({ id: m.id, error: { code: errorCodeOf(err), message: (err as Error).message } });
    }
  });
}

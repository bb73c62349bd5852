/**
 * The CR-BIO narrative rendered with our presentation stylesheet (engine/cda/stylesheet) by
 * saxon-js, in a thread: compiling and applying it takes ≈ 0.5 s of CPU, which must not hold the
 * engine's event loop (MLLP ACKs, other console requests). Browsers no longer apply XSLT.
 */
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { stylesheetPath } from '../../cda/stylesheet';

interface SaxonLike {
  XPath: { evaluate(expr: string, context: unknown, options: { params: Record<string, unknown> }): unknown };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SaxonJS = require('saxon-js') as SaxonLike;
const xsl = readFileSync(stylesheetPath(), 'utf8');

parentPort!.on('message', (m: { id: number; n3: string }) => {
  try {
    const out = SaxonJS.XPath.evaluate(
      `transform(map{'stylesheet-text': $xsl, 'source-node': parse-xml($src), 'delivery-format': 'serialized', 'cache': true()})?output`,
      [],
      { params: { xsl, src: m.n3 } },
    );
    parentPort!.postMessage({ id: m.id, html: String(out) });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message ?? String(e) });
  }
});

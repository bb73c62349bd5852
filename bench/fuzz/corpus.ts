/** The fuzzer's seed corpus: every message file of the third-party HL7 samples. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRootOf, resolveHl7Samples } from '../../engine/config/reference-data';

/**
 * Where the HL7 sample corpus is: the one resolution the tests use too (PASSERELLE_HL7_SAMPLES,
 * ../shared beside the clone, var/hl7-samples, else vendored + fetched pinned).
 */
export function hl7CorpusDir(): string {
  return resolveHl7Samples({ root: repoRootOf(__dirname) });
}

/** Every *.hl7 file under the corpus, sorted by path so a seed replays the same run. */
export function loadCorpus(dir = hl7CorpusDir()): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else if (e.name.endsWith('.hl7')) out.push({ name: rel + e.name, bytes: readFileSync(join(d, e.name)) });
    }
  };
  walk(dir, '');
  if (out.length === 0) throw new Error(`no HL7 samples under ${dir}`);
  return out;
}

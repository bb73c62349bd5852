/** The fuzzer's seed corpus: every message file of the third-party HL7 samples. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where the HL7 sample corpus is. One function on purpose: the corpus lookup (../shared beside
 * the clone, or a fetched/vendored copy) is swapped here only.
 */
export function hl7CorpusDir(): string {
  // dist/bench/fuzz → repository root is three levels up from bench/fuzz, four from dist/bench/fuzz.
  const fromSource = resolve(__dirname, '../../..', 'shared/hl7/samples');
  const fromDist = resolve(__dirname, '../../../..', 'shared/hl7/samples');
  return exists(fromSource) ? fromSource : fromDist;
}

function exists(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
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

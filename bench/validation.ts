/**
 * Validation benchmark: per rule set median ms over the 19 ANS CR-BIO examples, inline
 * (XSD + volet) and full (XSD + profiles + volet). Kit: engine/config/reference-data.ts ($PASSERELLE_ANS_KIT, ../shared/ans, var/ans-kit or fetched).
 * Each example runs once cold (lazy XPath compilation) then RUNS times warm; we keep the warm
 * median per example, then take the median/max over examples.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnsKit, compileKit, type ValidationReport } from '../engine/validation';
import { repoRootOf, resolveAnsKit } from '../engine/config/reference-data';

const RUNS = Number(process.env.BENCH_VALIDATION_RUNS ?? 5);

function kitDir(): string {
  return resolveAnsKit({ root: repoRootOf(__dirname) });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runValidationBench(): Promise<void> {
  const dir = kitDir();
  const t0 = performance.now();
  const stats = await compileKit(dir);
  process.stdout.write(`validation: compileKit ${stats.ms.toFixed(0)} ms, rss ${stats.rssMb} MB (cache ${stats.cacheDir})\n`);
  for (const r of stats.ruleSets) {
    process.stdout.write(
      `  ${r.ruleSet.padEnd(22)} patterns ${r.patterns} rules ${r.rules} asserts ${r.asserts} load ${r.ms.toFixed(0)} ms${r.fromCache ? ' (cache)' : ''} xpath ${r.xpathMs.toFixed(0)} ms\n`,
    );
  }
  const kit = AnsKit.open(dir);
  const exDir = path.join(dir, 'ExemplesCDA');
  const files = fs.readdirSync(exDir).filter((f) => f.startsWith('BIO-CR-BIO_') && f.endsWith('.xml')).sort();
  for (const full of [false, true]) {
    const perSet = new Map<string, number[]>();
    const totals: number[] = [];
    for (const f of files) {
      const xml = fs.readFileSync(path.join(exDir, f), 'utf8');
      await kit.validate(xml, { full });
      const runs: ValidationReport[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await kit.validate(xml, { full }));
      totals.push(median(runs.map((r) => r.ms)));
      for (const set of runs[0].ruleSets) {
        const ms = median(runs.map((r) => r.timings.find((t) => t.ruleSet === set)?.ms ?? 0));
        const key = set.startsWith('volet-') ? 'volet' : set;
        perSet.set(key, [...(perSet.get(key) ?? []), ms]);
      }
    }
    process.stdout.write(`validation ${full ? 'full' : 'inline'}: median ${median(totals).toFixed(1)} ms, max ${Math.max(...totals).toFixed(1)} ms per document (${files.length} examples, ${RUNS} warm runs)\n`);
    for (const [set, xs] of perSet) {
      process.stdout.write(`  ${set.padEnd(22)} median ${median(xs).toFixed(1)} ms  max ${Math.max(...xs).toFixed(1)} ms\n`);
    }
  }
  process.stdout.write(`validation bench total ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${Math.round(process.memoryUsage().rss / 1048576)} MB\n`);
}

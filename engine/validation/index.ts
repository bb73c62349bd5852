/**
 * engine/validation: CDA XSD + ISO Schematron validation of CR-BIO documents against an ANS kit.
 * Our own Schematron runner on saxon-js (direct evaluation with index dispatch, no XSLT
 * generation) — design in shared/docs/schematron-speed.md. Imports nothing from the engine but
 * engine/errors.ts.
 */
import { AnsKit } from './kit';
import { RULE_SET_NAMES } from './rule-sets';
import type { CompileStats, KitOptions, RuleSetCompileStats } from './types';

export { AnsKit } from './kit';
export { formatReport } from './report';
export { ansUcumAccepts } from './ucum';
export { RULE_SET_NAMES, XSD_RULE_SET } from './rule-sets';
export type { RuleSetName } from './rule-sets';
export type {
  CompileStats,
  Finding,
  KitOptions,
  RuleSetCompileStats,
  RuleSetTiming,
  Severity,
  ValidateOptions,
  ValidationReport,
} from './types';

/**
 * `passerelle schematron compile <kit>`: prepares every rule set (cache keyed by a hash of all
 * source files), compiles all their XPath, and returns per-set stats.
 */
export async function compileKit(kitDir: string, options?: KitOptions): Promise<CompileStats> {
  const t0 = performance.now();
  const kit = AnsKit.open(kitDir, options);
  const ruleSets: RuleSetCompileStats[] = [];
  for (const name of RULE_SET_NAMES) ruleSets.push(kit.compileStats(name));
  kit.schema();
  return {
    kitDir: kit.dir,
    cacheDir: kit.cacheDir,
    sourceHash: kit.sourceHash,
    ruleSets,
    ms: performance.now() - t0,
    rssMb: Math.round(process.memoryUsage().rss / 1048576),
  };
}

export { ValidationPool, withXsd, workerEntry, type PoolOptions } from './pool';

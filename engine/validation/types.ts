/** Public result types of engine/validation (re-exported by index.ts; the integrator depends on them). */
import type { RuleSetStats } from './model';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  ruleSet: string;
  severity: Severity;
  kind: 'assert' | 'report' | 'xsd' | 'engine';
  patternId?: string;
  context?: string;
  test?: string;
  /** XPath of the node (path()) for Schematron findings, `line N[:col]` for XSD findings */
  location: string;
  text: string;
}

export interface RuleSetTiming {
  ruleSet: string;
  ms: number;
  errors: number;
  warnings: number;
}

export interface ValidationReport {
  level: 'N1' | 'N3';
  voletVersion?: '2024.01' | '2021.01';
  ruleSets: string[];
  findings: Finding[];
  errors: number;
  warnings: number;
  /** errors === 0 */
  valid: boolean;
  ms: number;
  timings: RuleSetTiming[];
}

export interface KitOptions {
  /** cache dir for prepared rule sets (outside the repo); default: $PASSERELLE_CACHE_DIR or ~/.cache/passerelle/schematron */
  cacheDir?: string;
}

export interface ValidateOptions {
  /** XSD + every applicable profile set + volet (default: inline = XSD + volet) */
  full?: boolean;
  /** explicit rule sets (overrides the level/volet selection; 'xsd' may be listed too) */
  ruleSets?: string[];
}

export interface RuleSetCompileStats extends RuleSetStats {
  ruleSet: string;
  valueSets: number;
  /** time to load from cache or to parse + expand + save (+ preload value sets) */
  ms: number;
  /** compiled XPath expressions (globals + one fused expression per rule) and the time it took */
  expressions: number;
  xpathMs: number;
  fromCache: boolean;
  warnings: string[];
}

export interface CompileStats {
  kitDir: string;
  cacheDir: string;
  /** hash of every source file of the kit's schematrons/ and jeuxDeValeurs/ */
  sourceHash: string;
  ruleSets: RuleSetCompileStats[];
  ms: number;
  /** process RSS after compiling, in MB */
  rssMb: number;
}

/** Map a Schematron role to a severity: absent/error/fatal → error, warning → warning, info → info. */
export function severityOfRole(role: string | undefined): Severity {
  const r = (role ?? '').trim().toLowerCase();
  if (r === 'warning' || r === 'warn') return 'warning';
  if (r === 'info' || r === 'information' || r === 'informational') return 'info';
  return 'error';
}

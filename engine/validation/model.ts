/**
 * The expanded, JSON-serialisable form of one Schematron rule set: what the loader produces,
 * what the cache stores, and what the runner compiles. No SaxonJS objects in here.
 */

export type MessagePart =
  | { kind: 'text'; text: string }
  | { kind: 'value-of'; select: string }
  | { kind: 'name'; path: string };

export interface CheckModel {
  kind: 'assert' | 'report';
  test: string;
  role?: string;
  id?: string;
  message: MessagePart[];
}

export interface LetModel {
  name: string;
  value: string;
}

export interface RuleModel {
  context: string;
  id?: string;
  lets: LetModel[];
  checks: CheckModel[];
  /** .sch file (relative to the kit) the rule came from, for diagnostics. */
  source: string;
}

export interface PatternModel {
  id: string;
  rules: RuleModel[];
}

/** A document read by doc()/document(), preloaded once; `file` is relative to the kit, null if absent. */
export interface DocParam {
  param: string;
  file: string | null;
  /** Set when an upstream defect made us read another file than the one named (e.g. JDV_SpecimenType). */
  substitutedFrom?: string;
}

export interface RuleSetStats {
  patterns: number;
  rules: number;
  asserts: number;
  reports: number;
  lets: number;
  files: number;
}

export interface RuleSetModel {
  name: string;
  /** main .sch, relative to the kit */
  mainFile: string;
  phase: string;
  namespaces: Record<string, string>;
  /** schema- and pattern-level lets, in document order; evaluated once per document from the root */
  globals: LetModel[];
  patterns: PatternModel[];
  docs: DocParam[];
  /** document-invariant expressions over `docs`, evaluated once per process (see hoist.ts) */
  hoisted: { param: string; expr: string }[];
  /** loader notes (missing includes, missing value sets, fallbacks applied) */
  warnings: string[];
  stats: RuleSetStats;
}

/** Bumped whenever the model or its rewrites change, so old caches are ignored. */
export const MODEL_FORMAT = 4;

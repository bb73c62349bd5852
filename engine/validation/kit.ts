/**
 * AnsKit: one opened ANS test kit directory (never bundled with the product). Holds the prepared
 * rule sets, the preloaded value-set documents (shared between rule sets) and the compiled CDA
 * schema, and chooses which rule sets apply to each document.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PasserelleError } from '../errors';
import { defaultCacheDir, kitSourceHash, RuleSetCache } from './cache';
import { DocIndex } from './doc-index';
import { prepareDocument, type PreparedDocument } from './document';
import type { RuleSetModel } from './model';
import { assertRuleSetName, loadRuleSetModel, type RuleSetName, XSD_FILE, XSD_RULE_SET } from './rule-sets';
import { PreparedRuleSet, type RunMode, type RunResult } from './runner';
import { parseXml, type SxNode } from './saxon';
import type { Finding, KitOptions, RuleSetCompileStats, RuleSetTiming, ValidateOptions, ValidationReport } from './types';
import { CdaSchema } from './xsd';

/** Profile sets in ANS's order (compilverif.bat), the volet comes last. */
const N3_FULL_PROFILES: RuleSetName[] = ['IHE', 'StrucMin', 'ModelesDeContenusCDA', 'Modeles_ANS', 'terminologie'];
/** What the N1 example's <?oxygen SCHSchema?> PIs list. */
const N1_FULL_PROFILES: RuleSetName[] = ['StrucMin', 'terminologie'];

export class AnsKit {
  readonly dir: string;
  readonly cacheRoot: string;
  private hash?: string;
  private cache?: RuleSetCache;
  private readonly prepared = new Map<RuleSetName, PreparedRuleSet>();
  private readonly loadStats = new Map<RuleSetName, { ms: number; fromCache: boolean }>();
  private readonly valueSetDocs = new Map<string, SxNode>();
  private xsd?: CdaSchema;

  private constructor(kitDir: string, options: KitOptions) {
    this.dir = path.resolve(kitDir);
    this.cacheRoot = options.cacheDir ?? defaultCacheDir();
  }

  static open(kitDir: string, options: KitOptions = {}): AnsKit {
    const dir = path.resolve(kitDir);
    if (!fs.existsSync(path.join(dir, 'schematrons'))) {
      throw new PasserelleError('PSL_VALIDATION_KIT_MISSING', `not an ANS kit (no schematrons/ directory): ${dir}`, { details: { kitDir: dir } });
    }
    return new AnsKit(dir, options);
  }

  /** Hash of the kit sources (computed once per AnsKit). */
  get sourceHash(): string {
    if (!this.hash) this.hash = kitSourceHash(this.dir);
    return this.hash;
  }

  get cacheDir(): string {
    return this.ruleSetCache().dir;
  }

  private ruleSetCache(): RuleSetCache {
    if (!this.cache) this.cache = new RuleSetCache(this.cacheRoot, this.sourceHash);
    return this.cache;
  }

  /** Prepare (load from cache, or parse + expand + save) the named rule sets. 'xsd' compiles the schema. */
  async prepare(ruleSets: string[]): Promise<void> {
    for (const n of ruleSets) {
      if (n === XSD_RULE_SET) this.schema();
      else this.ruleSet(assertRuleSetName(n));
    }
  }

  /** The compiled CDA schema (parsed once per kit). */
  schema(): CdaSchema {
    if (!this.xsd) this.xsd = new CdaSchema(path.join(this.dir, XSD_FILE));
    return this.xsd;
  }

  /** A prepared rule set (synchronous; loads it on first use). */
  ruleSet(name: RuleSetName): PreparedRuleSet {
    let p = this.prepared.get(name);
    if (p) return p;
    const t0 = performance.now();
    const cache = this.ruleSetCache();
    let model: RuleSetModel | null = cache.read(name);
    const fromCache = model !== null;
    if (!model) {
      model = loadRuleSetModel(this.dir, name);
      cache.write(model);
    }
    const docs = new Map<string, SxNode>();
    for (const d of model.docs) if (d.file) docs.set(d.param, this.valueSet(d.file));
    p = new PreparedRuleSet(model, docs);
    this.prepared.set(name, p);
    this.loadStats.set(name, { ms: performance.now() - t0, fromCache });
    return p;
  }

  /** How the rule set was last prepared (tests and compile stats). */
  preparedFrom(name: RuleSetName): { ms: number; fromCache: boolean } | undefined {
    return this.loadStats.get(name);
  }

  private valueSet(rel: string): SxNode {
    let d = this.valueSetDocs.get(rel);
    if (!d) {
      d = parseXml(fs.readFileSync(path.join(this.dir, rel), 'utf8'));
      this.valueSetDocs.set(rel, d);
    }
    return d;
  }

  /** Rule sets that apply to a document (inline: XSD + volet; full: XSD + profiles + volet). */
  selectRuleSets(doc: Pick<PreparedDocument, 'level' | 'voletVersion'>, full: boolean): string[] {
    const volet: RuleSetName[] = doc.level === 'N3' && doc.voletVersion ? [`volet-${doc.voletVersion}`] : [];
    if (!full) return [XSD_RULE_SET, ...volet];
    return [XSD_RULE_SET, ...(doc.level === 'N1' ? N1_FULL_PROFILES : N3_FULL_PROFILES), ...volet];
  }

  async validate(xml: string | Buffer, options: ValidateOptions = {}): Promise<ValidationReport> {
    return this.validateSync(xml, options);
  }

  /** Synchronous core of validate() (SaxonJS evaluation is CPU-bound anyway). */
  validateSync(xml: string | Buffer, options: ValidateOptions = {}, internal: { runXsd?: boolean; onXml?: (xml: string) => void } = {}): ValidationReport {
    const t0 = performance.now();
    const pdoc = prepareDocument(xml);
    internal.onXml?.(pdoc.xml);
    const ruleSets = options.ruleSets ?? this.selectRuleSets(pdoc, options.full === true);
    const findings: Finding[] = [...pdoc.notes];
    const timings: RuleSetTiming[] = [];
    let index: DocIndex | undefined;
    for (const name of ruleSets) {
      const t = performance.now();
      let found: Finding[];
      if (name === XSD_RULE_SET) {
        if (internal.runXsd === false) continue;
        found = this.schema().validate(pdoc.xml);
      }
      else {
        const rs = this.ruleSet(assertRuleSetName(name));
        index ??= new DocIndex(pdoc.doc);
        found = rs.run(pdoc.doc, index, 'indexed').findings;
      }
      findings.push(...found);
      timings.push({
        ruleSet: name,
        ms: performance.now() - t,
        errors: found.filter((f) => f.severity === 'error').length,
        warnings: found.filter((f) => f.severity === 'warning').length,
      });
    }
    const errors = findings.filter((f) => f.severity === 'error').length;
    const warnings = findings.filter((f) => f.severity === 'warning').length;
    return {
      level: pdoc.level,
      voletVersion: pdoc.voletVersion,
      ruleSets,
      findings,
      errors,
      warnings,
      valid: errors === 0,
      ms: performance.now() - t0,
      timings,
    };
  }

  /** Run one rule set in a given mode and return raw results (rule hits included): the tests' oracle hook. */
  runRuleSet(name: RuleSetName, xml: string | Buffer, mode: RunMode): RunResult {
    const pdoc = prepareDocument(xml);
    return this.ruleSet(name).run(pdoc.doc, new DocIndex(pdoc.doc), mode);
  }

  /** Prepare one rule set, compile all its expressions, and describe it. */
  compileStats(name: RuleSetName): RuleSetCompileStats {
    const rs = this.ruleSet(name);
    const loaded = this.loadStats.get(name) ?? { ms: 0, fromCache: false };
    const t = performance.now();
    const expressions = rs.compileAll();
    const m = rs.model;
    return {
      ruleSet: name,
      ...m.stats,
      valueSets: m.docs.filter((d) => d.file).length,
      ms: loaded.ms,
      fromCache: loaded.fromCache,
      expressions,
      xpathMs: performance.now() - t,
      warnings: m.warnings,
    };
  }
}

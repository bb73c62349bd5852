/**
 * Runs one prepared rule set on one document.
 *
 * Indexed mode: candidates come from DocIndex; per rule ONE compiled expression does the match
 * test, the rule lets and every assert/report, and returns `(0, failed check numbers…)` or `()`
 * when the node does not match. Messages are only built for failures.
 * Reference mode (tests' oracle): every context selected from the root, no index, no match test.
 * Both keep ISO first-matching-rule-per-pattern semantics with a per-pattern set of seen nodes.
 */
import { planContext, type ContextPlan } from './context-plan';
import type { DocIndex } from './doc-index';
import type { CheckModel, RuleModel, RuleSetModel } from './model';
import { compileXPath, CompiledXPath, evaluateCompiled, evaluateCompiledXdm, NODE, SxNode, XdmValue } from './saxon';
import { severityOfRole, type Finding } from './types';
import { referencedVars, xpathString } from './xpath-text';

export type RunMode = 'indexed' | 'reference';

interface Compiled {
  pkg: CompiledXPath;
  params: string[];
}

interface RuleState {
  rule: RuleModel;
  patternId: string;
  plan?: ContextPlan;
  fused?: Compiled;
  body?: Compiled;
  select?: Compiled;
  messages: (Compiled | undefined)[];
}

export interface RunResult {
  findings: Finding[];
  /** per rule (flattened in pattern order): number of nodes the rule fired on */
  hits: number[];
}

export class PreparedRuleSet {
  private readonly rules: RuleState[] = [];
  private readonly globals: { name: string; value: string; compiled?: Compiled }[];
  private readonly knownParams: Set<string>;
  private pathExpr?: Compiled;
  private invariant?: Record<string, XdmValue>;

  constructor(
    readonly model: RuleSetModel,
    /** doc param name → preloaded value-set document */
    private readonly docs: ReadonlyMap<string, SxNode>,
  ) {
    for (const p of model.patterns) for (const r of p.rules) this.rules.push({ rule: r, patternId: p.id, messages: [] });
    this.globals = model.globals.map((g) => ({ ...g }));
    this.knownParams = new Set([...docs.keys(), ...model.hoisted.map((h) => h.param), ...model.globals.map((g) => g.name)]);
  }

  /** Value-set documents plus hoisted value-set expressions: computed once, reused for every document. */
  private invariantParams(): Record<string, XdmValue> {
    if (this.invariant) return this.invariant;
    const params: Record<string, XdmValue> = {};
    for (const [k, v] of this.docs) params[k] = [v];
    const docNames = new Set(this.docs.keys());
    for (const h of this.model.hoisted) {
      const c = this.compile(h.expr, docNames);
      try {
        params[h.param] = evaluateCompiledXdm(c.pkg, null, pick(params, c.params));
      } catch {
        params[h.param] = [];
      }
    }
    this.invariant = params;
    return params;
  }

  get ruleCount(): number {
    return this.rules.length;
  }

  /** Compile everything now instead of lazily (bench/compile stats). Returns the expression count. */
  compileAll(): number {
    let n = 0;
    for (const g of this.globals) {
      this.globalCompiled(g);
      n++;
    }
    for (const s of this.rules) {
      const plan = this.planOf(s);
      if (plan.branches) this.fusedOf(s);
      else this.selectOf(s), this.bodyOf(s);
      n++;
    }
    return n;
  }

  run(doc: SxNode, index: DocIndex, mode: RunMode = 'indexed'): RunResult {
    const findings: Finding[] = [];
    const params = this.evaluateGlobals(doc, findings);
    const hits = new Array<number>(this.rules.length).fill(0);
    let seen = new Set<unknown>();
    let currentPattern: string | null = null;
    this.rules.forEach((s, ri) => {
      if (s.patternId !== currentPattern) {
        currentPattern = s.patternId;
        seen = new Set();
      }
      const plan = this.planOf(s);
      const useRoot = mode === 'reference' || plan.branches === null;
      let candidates: readonly SxNode[];
      if (useRoot) {
        try {
          candidates = this.eval(this.selectOf(s), doc, params) as SxNode[];
        } catch (err) {
          findings.push(this.engineFinding(s, '/', `context selection failed: ${(err as Error).message}`));
          return;
        }
      } else {
        candidates = this.branchCandidates(plan, index);
      }
      if (candidates.length === 0) return;
      const compiled = useRoot ? this.bodyOf(s) : this.fusedOf(s);
      for (const node of candidates) {
        const key = nodeKey(node);
        if (seen.has(key)) continue;
        let r: unknown[];
        try {
          r = this.eval(compiled, node, params);
        } catch (err) {
          seen.add(key);
          hits[ri]++;
          findings.push(this.engineFinding(s, this.location(node, params), `evaluation failed: ${(err as Error).message}`));
          continue;
        }
        if (r.length === 0) continue;
        seen.add(key);
        hits[ri]++;
        for (let i = 1; i < r.length; i++) {
          const check = s.rule.checks[Number(r[i]) - 1];
          if (check) findings.push(this.finding(s, check, Number(r[i]) - 1, node, params));
        }
      }
    });
    return { findings, hits };
  }

  private branchCandidates(plan: ContextPlan, index: DocIndex): readonly SxNode[] {
    const bs = plan.branches ?? [];
    if (bs.length === 1) return index.candidates(bs[0].candidates);
    const set = new Set<SxNode>();
    for (const b of bs) for (const n of index.candidates(b.candidates)) set.add(n);
    return [...set];
  }

  private evaluateGlobals(doc: SxNode, findings: Finding[]): Record<string, XdmValue> {
    const params: Record<string, XdmValue> = { ...this.invariantParams() };
    for (const g of this.globals) {
      try {
        const c = this.globalCompiled(g);
        params[g.name] = evaluateCompiledXdm(c.pkg, doc, pick(params, c.params));
      } catch (err) {
        params[g.name] = [];
        findings.push({ ruleSet: this.model.name, severity: 'error', kind: 'engine', location: '/', text: `global let $${g.name} failed: ${(err as Error).message}` });
      }
    }
    return params;
  }

  private globalCompiled(g: { name: string; value: string; compiled?: Compiled }): Compiled {
    if (!g.compiled) {
      const before = new Set([
        ...this.docs.keys(),
        ...this.model.hoisted.map((h) => h.param),
        ...this.globals.slice(0, this.globals.indexOf(g)).map((x) => x.name),
      ]);
      g.compiled = this.compile(g.value, before);
    }
    return g.compiled;
  }

  private compile(expr: string, allowed: Set<string> = this.knownParams): Compiled {
    const params = [...referencedVars(expr)].filter((v) => allowed.has(v));
    return { pkg: compileXPath(expr, { namespaces: this.model.namespaces, params }), params };
  }

  private eval(c: Compiled, context: unknown, params: Record<string, XdmValue>): unknown[] {
    return evaluateCompiled(c.pkg, context, pick(params, c.params));
  }

  private planOf(s: RuleState): ContextPlan {
    if (!s.plan) s.plan = planContext(s.rule.context, this.model.namespaces);
    return s.plan;
  }

  private bodyText(s: RuleState): string {
    const checks = s.rule.checks
      .map((c, i) => (c.kind === 'assert' ? `(if (${c.test}) then () else ${i + 1})` : `(if (${c.test}) then ${i + 1} else ())`))
      .join(',\n');
    const seq = checks ? `(0,\n${checks})` : '0';
    return wrapLets(s.rule, seq);
  }

  private bodyOf(s: RuleState): Compiled {
    if (!s.body) s.body = this.compile(this.bodyText(s));
    return s.body;
  }

  private fusedOf(s: RuleState): Compiled {
    if (!s.fused) {
      const match = (this.planOf(s).branches ?? []).map((b) => `(${b.match})`).join(' or ');
      s.fused = this.compile(`if (${match}) then (${this.bodyText(s)}) else ()`);
    }
    return s.fused;
  }

  private selectOf(s: RuleState): Compiled {
    if (!s.select) s.select = this.compile(this.planOf(s).rootSelect);
    return s.select;
  }

  private finding(s: RuleState, check: CheckModel, ci: number, node: SxNode, params: Record<string, XdmValue>): Finding {
    let text: string;
    try {
      let m = s.messages[ci];
      if (!m) {
        const parts = check.message.map((p) =>
          p.kind === 'text'
            ? xpathString(p.text)
            : p.kind === 'value-of'
              ? `string-join(for $__v in (${p.select}) return string($__v), ' ')`
              : `name(${p.path})`,
        );
        m = this.compile(wrapLets(s.rule, `string-join((${parts.length ? parts.join(', ') : "''"}), '')`));
        s.messages[ci] = m;
      }
      text = String(this.eval(m, node, params)[0] ?? '');
    } catch (err) {
      text = `${check.message.map((p) => (p.kind === 'text' ? p.text : '…')).join('')} [message evaluation failed: ${(err as Error).message}]`;
    }
    return {
      ruleSet: this.model.name,
      severity: severityOfRole(check.role),
      kind: check.kind,
      patternId: s.patternId,
      context: s.rule.context,
      test: check.test,
      location: this.location(node, params),
      text: text.replace(/\s+/g, ' ').trim(),
    };
  }

  private location(node: SxNode, params: Record<string, XdmValue>): string {
    if (node.nodeType === NODE.DOCUMENT) return '/';
    try {
      if (!this.pathExpr) this.pathExpr = this.compile('path(.)', new Set());
      return String(this.eval(this.pathExpr, node, params)[0] ?? '');
    } catch {
      return '?';
    }
  }

  private engineFinding(s: RuleState, location: string, text: string): Finding {
    return { ruleSet: this.model.name, severity: 'error', kind: 'engine', patternId: s.patternId, context: s.rule.context, location, text };
  }
}

function wrapLets(rule: RuleModel, ret: string): string {
  if (rule.lets.length === 0) return ret;
  return `let ${rule.lets.map((l) => `$${l.name} := (${l.value})`).join(',\n')}\nreturn ${ret}`;
}

function pick(all: Record<string, XdmValue>, names: readonly string[]): Record<string, XdmValue> {
  const out: Record<string, XdmValue> = {};
  for (const n of names) out[n] = all[n] ?? [];
  return out;
}

/** Attribute nodes come back as fresh wrapper objects from SaxonJS: key them by parent + name. */
const ids = new WeakMap<object, number>();
let nextId = 1;
function nodeKey(n: SxNode): unknown {
  if (n.nodeType !== NODE.ATTRIBUTE) return n;
  const a = n as unknown as { parent?: object; name?: string };
  const p = a.parent ?? {};
  let id = ids.get(p);
  if (id === undefined) ids.set(p, (id = nextId++));
  return `${id}@${a.name ?? ''}`;
}

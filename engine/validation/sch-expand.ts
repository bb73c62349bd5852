/**
 * ISO Schematron expansion: phases, abstract patterns (`is-a` + `param`), abstract rules
 * (`extends`), lets, assert/report messages. Produces the RuleSetModel minus the value-set
 * rewrite (see doc-refs.ts).
 *
 * Semantics kept from the ISO skeleton that the ANS rule sets rely on:
 * - schema- AND pattern-level lets are global variables (the volet declares its JDV paths in a
 *   pattern named "variables" and uses them from other patterns);
 * - abstract rules are looked up by id across the whole schema;
 * - lets inside a rule are evaluated before its asserts (ART-DECOR sometimes writes them after).
 */
import * as path from 'node:path';
import { PasserelleError } from '../errors';
import type { CheckModel, LetModel, MessagePart, PatternModel, RuleModel, RuleSetModel } from './model';
import { isSch, SCH_NS, SchNode, textOf } from './sch-tree';
import { patchUpstreamRegex, replaceVars } from './xpath-text';

type Subst = (expr: string) => string;
const identity: Subst = (e) => e;

export interface ExpandInput {
  name: string;
  kitDir: string;
  mainFile: string; // absolute
  root: SchNode;
  warnings: string[];
  fileCount: number;
}

export class SchematronExpander {
  private readonly abstractPatterns = new Map<string, SchNode>();
  private readonly abstractRules = new Map<string, { node: SchNode; subst: Subst }>();
  private readonly namespaces: Record<string, string> = {};
  private readonly globals: LetModel[] = [];
  private readonly globalNames = new Set<string>();

  constructor(private readonly input: ExpandInput) {}

  expand(): RuleSetModel {
    const { root } = this.input;
    if (!isSch(root, 'schema')) {
      throw new PasserelleError('PSL_VALIDATION_SCHEMATRON_INVALID', `${this.input.mainFile}: root is not an ISO Schematron schema`);
    }
    this.collectNamespaces(root);
    const topPatterns: SchNode[] = [];
    const phases = new Map<string, string[]>();
    for (const k of root.kids) {
      if (!isSch(k)) continue;
      if (k.local === 'let') this.addGlobal(k, identity);
      else if (k.local === 'phase' && k.attrs.id) {
        phases.set(k.attrs.id, k.kids.filter((a): a is SchNode => isSch(a, 'active')).map((a) => a.attrs.pattern ?? ''));
      } else if (k.local === 'pattern') {
        if (k.attrs.abstract === 'true') this.abstractPatterns.set(k.attrs.id ?? '', k);
        else topPatterns.push(k);
      }
    }
    // Instantiate is-a patterns first, so their abstract rules and lets are known.
    const concrete = topPatterns.map((p) => this.instantiate(p));
    for (const c of concrete) this.collectAbstractRules(c.node, c.subst);

    const phaseId = root.attrs.defaultPhase;
    let active: Set<string> | null = null;
    if (phaseId && phaseId !== '#ALL') {
      const list = phases.get(phaseId);
      if (!list) this.input.warnings.push(`defaultPhase ${phaseId} not declared: all patterns run`);
      else active = new Set(list);
    }
    // Pattern lets are global whatever the phase (ISO skeleton behaviour).
    for (const c of concrete) for (const k of c.node.kids) if (isSch(k, 'let')) this.addGlobal(k, c.subst);

    const patterns: PatternModel[] = [];
    concrete.forEach((c, idx) => {
      const id = c.id ?? `pattern-${idx + 1}`;
      if (active && !(c.id && active.has(c.id))) return;
      const rules: RuleModel[] = [];
      for (const k of c.node.kids) {
        if (!isSch(k, 'rule') || k.attrs.abstract === 'true' || k.attrs.context === undefined) continue;
        rules.push(this.buildRule(k, c.subst));
      }
      patterns.push({ id, rules });
    });

    let asserts = 0;
    let reports = 0;
    let lets = this.globals.length;
    let rules = 0;
    for (const p of patterns)
      for (const r of p.rules) {
        rules++;
        lets += r.lets.length;
        for (const c of r.checks) c.kind === 'assert' ? asserts++ : reports++;
      }
    return {
      name: this.input.name,
      mainFile: this.rel(this.input.mainFile),
      phase: active ? (phaseId ?? '#ALL') : '#ALL',
      namespaces: this.namespaces,
      globals: this.globals,
      patterns,
      docs: [],
      hoisted: [],
      warnings: this.input.warnings,
      stats: { patterns: patterns.length, rules, asserts, reports, lets, files: this.input.fileCount },
    };
  }

  private rel(file: string): string {
    return path.relative(this.input.kitDir, file).split(path.sep).join('/');
  }

  private collectNamespaces(n: SchNode): void {
    for (const k of n.kids) {
      if (!isSch(k)) continue;
      if (k.local === 'ns' && k.attrs.prefix && k.attrs.uri !== undefined) {
        if (k.attrs.prefix !== 'xml') this.namespaces[k.attrs.prefix] = k.attrs.uri;
      } else if (k.local === 'pattern' || k.local === 'schema') this.collectNamespaces(k);
    }
  }

  private addGlobal(k: SchNode, subst: Subst): void {
    const name = k.attrs.name;
    if (!name) return;
    if (this.globalNames.has(name)) {
      this.input.warnings.push(`global let $${name} declared twice: first kept`);
      return;
    }
    this.globalNames.add(name);
    this.globals.push({ name, value: fix(subst(k.attrs.value ?? textOf(k).trim())) });
  }

  private instantiate(p: SchNode): { node: SchNode; subst: Subst; id?: string } {
    const isA = p.attrs['is-a'];
    if (!isA) return { node: p, subst: identity, id: p.attrs.id };
    const abs = this.abstractPatterns.get(isA);
    if (!abs) {
      this.input.warnings.push(`pattern ${p.attrs.id ?? '?'}: abstract pattern ${isA} not found`);
      return { node: { ...p, kids: [] }, subst: identity, id: p.attrs.id };
    }
    const params = new Map<string, string>();
    for (const k of p.kids) if (isSch(k, 'param') && k.attrs.name) params.set(k.attrs.name, k.attrs.value ?? '');
    const subst: Subst = (e) => replaceVars(e, (n) => params.get(n));
    return { node: abs, subst, id: p.attrs.id };
  }

  private collectAbstractRules(n: SchNode, subst: Subst): void {
    for (const k of n.kids) {
      if (isSch(k, 'rule') && k.attrs.abstract === 'true' && k.attrs.id) {
        if (!this.abstractRules.has(k.attrs.id)) this.abstractRules.set(k.attrs.id, { node: k, subst });
      }
    }
  }

  private buildRule(r: SchNode, subst: Subst): RuleModel {
    const lets: LetModel[] = [];
    const checks: CheckModel[] = [];
    this.addRuleContent(r, subst, lets, checks, new Set());
    return { context: fix(subst(r.attrs.context ?? '')), id: r.attrs.id, lets, checks, source: this.rel(r.file) };
  }

  private addRuleContent(r: SchNode, subst: Subst, lets: LetModel[], checks: CheckModel[], seen: Set<string>): void {
    for (const k of r.kids) {
      if (!isSch(k)) continue;
      if (k.local === 'let' && k.attrs.name) lets.push({ name: k.attrs.name, value: fix(subst(k.attrs.value ?? textOf(k).trim())) });
      else if (k.local === 'assert' || k.local === 'report') checks.push(this.buildCheck(k, subst));
      else if (k.local === 'extends') {
        const id = k.attrs.rule ?? '';
        const abs = this.abstractRules.get(id);
        if (!abs) {
          this.input.warnings.push(`extends: abstract rule ${id} not found`);
        } else if (!seen.has(id)) {
          seen.add(id);
          this.addRuleContent(abs.node, abs.subst, lets, checks, seen);
          seen.delete(id);
        }
      }
    }
  }

  private buildCheck(k: SchNode, subst: Subst): CheckModel {
    const message: MessagePart[] = [];
    const walk = (n: SchNode | string): void => {
      if (typeof n === 'string') {
        message.push({ kind: 'text', text: n });
        return;
      }
      const el: SchNode = n;
      if (isSchEl(el, 'value-of')) message.push({ kind: 'value-of', select: fix(subst(el.attrs.select ?? '.')) });
      else if (isSchEl(el, 'name')) message.push({ kind: 'name', path: fix(subst(el.attrs.path ?? '.')) });
      else el.kids.forEach(walk);
    };
    k.kids.forEach(walk);
    const check: CheckModel = { kind: k.local === 'report' ? 'report' : 'assert', test: fix(subst(k.attrs.test ?? 'true()')), message };
    if (k.attrs.role) check.role = k.attrs.role;
    if (k.attrs.id) check.id = k.attrs.id;
    return check;
  }
}

/** Load-time rewrite of the upstream regex defect (never applied to the files themselves). */
function fix(expr: string): string {
  return patchUpstreamRegex(expr);
}

function isSchEl(n: SchNode, local: string): boolean {
  return n.ns === SCH_NS && n.local === local;
}

/**
 * Prepare-time hoisting of document-invariant value-set navigation (runs after doc-refs.ts).
 * The preloaded value-set documents never change, so:
 * - `exists($__dN//name[text() = X])` (terminologie's UCUM check, ≈6 ms per unit when scanning
 *   the 250 KB UCUM file) becomes a lookup in a map built once: `some $t in (X) satisfies
 *   map:contains($__hK, string($t))`;
 * - `$__dN/*\/valueSet/conceptList/concept/@code`-like paths (ART-DECOR value sets; only
 *   name/attribute steps, optionally `[digits]`) become a precomputed sequence `$__hK`.
 * Hoisted values are computed once per process from the document parameters only.
 */
import type { RuleSetModel } from './model';
import { DOC_PARAM_PREFIX } from './doc-refs';

export const HOIST_PARAM_PREFIX = '__h';

const LOOKUP = new RegExp(
  String.raw`exists\(\s*\$(${DOC_PARAM_PREFIX}\d+)\s*//\s*([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*\[\s*text\(\)\s*=\s*([^\[\]]+?)\s*\]\s*\)`,
  'g',
);
const STEP = String.raw`(?:/|//)(?:\*|@?[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)(?:\[\d+\])?`;
const PATH = new RegExp(String.raw`\$(${DOC_PARAM_PREFIX}\d+)((?:${STEP})+)(?![\w.:\-(\[])`, 'g');

export function hoistValueSetAccess(model: RuleSetModel): void {
  const byExpr = new Map<string, string>();
  const hoisted: { param: string; expr: string }[] = [];
  const param = (expr: string): string => {
    let p = byExpr.get(expr);
    if (!p) {
      p = `${HOIST_PARAM_PREFIX}${hoisted.length}`;
      byExpr.set(expr, p);
      hoisted.push({ param: p, expr });
    }
    return p;
  };
  const rewrite = (e: string): string => {
    if (!e.includes(`$${DOC_PARAM_PREFIX}`)) return e;
    let out = e.replace(LOOKUP, (_m, d: string, name: string, x: string) => {
      const p = param(`map:merge(for $__c in $${d}//${name} return map{string($__c): true()}, map{'duplicates': 'use-first'})`);
      return `(some $__t in (${x}) satisfies map:contains($${p}, string($__t)))`;
    });
    out = out.replace(PATH, (_m, d: string, path: string) => `$${param(`$${d}${path}`)}`);
    return out;
  };
  for (const g of model.globals) g.value = rewrite(g.value);
  for (const p of model.patterns)
    for (const r of p.rules) {
      r.context = rewrite(r.context);
      for (const l of r.lets) l.value = rewrite(l.value);
      for (const c of r.checks) c.test = rewrite(c.test);
    }
  model.hoisted = hoisted;
}

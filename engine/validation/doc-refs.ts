/**
 * Prepare-time rewrite of value-set access: every doc()/document()/doc-available() call becomes a
 * reference to a preloaded document parameter ($__dN), so evaluation never touches the disk.
 *
 * - Constant arguments (literal, global let holding a literal, concat() of those) are folded and
 *   resolved relative to the main .sch (where ISO/XSLT would put the generated stylesheet), then
 *   relative to the .sch file that contains the call.
 * - Dynamic arguments of the shape concat(<constant dir>, …, '<suffix>') (terminologie.sch) are
 *   expanded to a choice over the files present in that directory with that suffix.
 * - Missing files are recoverable, as in Java Saxon: doc() yields the empty sequence and
 *   doc-available() false (and a loader warning records it).
 * - Upstream defect: JDV_SpecimenType_CISIS.xml does not exist anywhere; we read
 *   JDV_HL7_SpecimenType_CISIS.xml (HL7 0487, clearly the intended set) instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DocParam, LetModel, RuleSetModel } from './model';
import { evaluateConstant } from './saxon';
import { findCalls, referencedVars, replaceVars, xpathString } from './xpath-text';

const FILE_SUBSTITUTES: Readonly<Record<string, string>> = {
  'JDV_SpecimenType_CISIS.xml': 'JDV_HL7_SpecimenType_CISIS.xml',
};

export const DOC_PARAM_PREFIX = '__d';

export class DocRefRewriter {
  private readonly byFile = new Map<string, DocParam>();
  private readonly literalGlobals = new Map<string, string>();
  private readonly mainDir: string;

  constructor(
    private readonly model: RuleSetModel,
    private readonly kitDir: string,
  ) {
    this.mainDir = path.dirname(path.join(kitDir, model.mainFile));
  }

  rewrite(): void {
    const m = this.model;
    // Globals holding a constant string (after folding earlier globals) can be inlined in doc() args.
    for (const g of m.globals) {
      const folded = this.fold(g.value);
      if (folded !== null) this.literalGlobals.set(g.name, folded);
    }
    const main = path.join(this.kitDir, m.mainFile);
    m.globals = m.globals.map((g): LetModel => ({ name: g.name, value: this.rewriteExpr(g.value, main) }));
    for (const p of m.patterns)
      for (const r of p.rules) {
        const src = path.join(this.kitDir, r.source);
        r.context = this.rewriteExpr(r.context, src);
        for (const l of r.lets) l.value = this.rewriteExpr(l.value, src);
        for (const c of r.checks) {
          c.test = this.rewriteExpr(c.test, src);
          for (const part of c.message) {
            if (part.kind === 'value-of') part.select = this.rewriteExpr(part.select, src);
            else if (part.kind === 'name') part.path = this.rewriteExpr(part.path, src);
          }
        }
      }
    m.docs = [...this.byFile.values()];
  }

  /** Constant string value of an expression, or null when it depends on the document. */
  private fold(expr: string): string | null {
    const vars = referencedVars(expr);
    for (const v of vars) if (!this.literalGlobals.has(v)) return null;
    const inlined = replaceVars(expr, (n) => {
      const v = this.literalGlobals.get(n);
      return v === undefined ? undefined : xpathString(v);
    });
    if (/\b(doc|document|doc-available|current|position|last|root)\s*\(|[@/]|\./.test(inlined.replace(/'[^']*'|"[^"]*"/g, ''))) return null;
    try {
      const r = evaluateConstant(inlined, this.model.namespaces);
      return typeof r === 'string' ? r : null;
    } catch {
      return null;
    }
  }

  private rewriteExpr(expr: string, sourceFile: string): string {
    const calls = findCalls(expr, ['doc-available', 'document', 'doc']);
    if (calls.length === 0) return expr;
    let out = '';
    let pos = 0;
    for (const call of calls) {
      out += expr.slice(pos, call.start);
      // nested calls in the argument (rare) are rewritten first
      const arg = this.rewriteExpr(call.arg, sourceFile);
      out += this.rewriteCall(call.name, arg, sourceFile);
      pos = call.end;
    }
    return out + expr.slice(pos);
  }

  private rewriteCall(fn: string, argIn: string, sourceFile: string): string {
    // document(x, base) second argument is ignored: we resolve like the generated stylesheet would
    const arg = fn === 'document' ? (splitArgs(argIn)[0] ?? argIn) : argIn;
    const available = fn === 'doc-available';
    const constant = this.fold(arg);
    if (constant !== null) {
      const dp = this.docParam(constant, sourceFile);
      if (available) return dp.file ? 'true()' : 'false()';
      return dp.file ? `$${dp.param}` : '()';
    }
    // Dynamic: concat(<const dir>, ..., '<suffix>')
    const m = /^\s*concat\s*\(([\s\S]*)\)\s*$/.exec(arg);
    const parts = m ? splitArgs(m[1]) : [];
    const prefix = parts.length >= 2 ? this.fold(parts[0]) : null;
    const suffix = parts.length >= 2 ? this.fold(parts[parts.length - 1]) : null;
    if (prefix === null) {
      this.model.warnings.push(`${fn}(${arg.trim()}): dynamic argument not supported, treated as missing`);
      return available ? 'false()' : '()';
    }
    const dir = path.resolve(this.mainDir, prefix);
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).filter((f) => f.endsWith(suffix ?? '') && fs.statSync(path.join(dir, f)).isFile());
    } catch {
      names = [];
    }
    const keys = names.map((n) => prefix + n);
    if (keys.length === 0) return available ? 'false()' : '()';
    if (available) return `(string(${arg}) = (${keys.map(xpathString).join(', ')}))`;
    const branches = keys.map((k) => `if ($__k = ${xpathString(k)}) then $${this.docParam(k, sourceFile).param} else `).join('');
    return `(let $__k := string(${arg}) return ${branches}())`;
  }

  private docParam(rel: string, sourceFile: string): DocParam {
    const candidates = [path.resolve(this.mainDir, rel), path.resolve(path.dirname(sourceFile), rel)];
    let found: string | null = candidates.find((c) => isFile(c)) ?? null;
    let substitutedFrom: string | undefined;
    if (!found) {
      const sub = FILE_SUBSTITUTES[path.basename(rel)];
      if (sub) {
        const alt = candidates.map((c) => path.join(path.dirname(c), sub)).find((c) => isFile(c));
        if (alt) {
          found = alt;
          substitutedFrom = path.basename(rel);
        }
      }
    }
    const key = found ?? `missing:${candidates[0]}`;
    let dp = this.byFile.get(key);
    if (!dp) {
      dp = { param: `${DOC_PARAM_PREFIX}${this.byFile.size}`, file: found ? this.relToKit(found) : null };
      if (substitutedFrom) {
        dp.substitutedFrom = substitutedFrom;
        this.model.warnings.push(`value set ${substitutedFrom} missing upstream: ${path.basename(found ?? '')} used instead`);
      }
      if (!found) this.model.warnings.push(`document ${rel} not found: treated as empty (recoverable)`);
      this.byFile.set(key, dp);
    }
    return dp;
  }

  private relToKit(file: string): string {
    return path.relative(this.kitDir, file).split(path.sep).join('/');
  }
}

function isFile(f: string): boolean {
  try {
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

/** Split a function argument list at top-level commas. */
export function splitArgs(args: string): string[] {
  const marker = '\u0001';
  let depth = 0;
  let out = '';
  for (let j = 0; j < args.length; j++) {
    const c = args[j];
    if (c === "'" || c === '"') {
      let k = j + 1;
      while (k < args.length && !(args[k] === c && args[k + 1] !== c)) k += args[k] === c ? 2 : 1;
      out += args.slice(j, k + 1);
      j = k;
      continue;
    }
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    out += c === ',' && depth === 0 ? marker : c;
  }
  return out.split(marker).map((s) => s.trim());
}

/**
 * Lexical helpers over XPath source text. We never need a full XPath parser: Schematron contexts
 * are XSLT patterns (steps separated by '/' or '//', optionally a union), and the rewrites we do
 * (parameter substitution, doc() calls) only need string-literal and bracket awareness.
 */

const NAME_CHAR = /[A-Za-z0-9_.\-\u00B7\u00C0-\uFFFF]/;

export function isNameChar(c: string | undefined): boolean {
  return c !== undefined && NAME_CHAR.test(c);
}

/** Index just past the string literal starting at i (quote doubled = escaped quote). */
export function skipString(s: string, i: number): number {
  const q = s[i];
  let j = i + 1;
  while (j < s.length) {
    if (s[j] === q) {
      if (s[j + 1] === q) j += 2;
      else return j + 1;
    } else j++;
  }
  return j;
}

/** Index of the bracket closing the one opened at i (s[i] is '(' or '['), or -1. */
export function matchBracket(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (c === "'" || c === '"') {
      j = skipString(s, j) - 1;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return -1;
}

/**
 * Split at top level (outside strings and brackets) on a separator predicate.
 * `sepAt` returns the separator length at position j, or 0.
 */
function splitTop(s: string, sepAt: (s: string, j: number) => number): { parts: string[]; seps: string[] } {
  const parts: string[] = [];
  const seps: string[] = [];
  let depth = 0;
  let start = 0;
  for (let j = 0; j < s.length; j++) {
    const c = s[j];
    if (c === "'" || c === '"') {
      j = skipString(s, j) - 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0) {
      const n = sepAt(s, j);
      if (n > 0) {
        parts.push(s.slice(start, j));
        seps.push(s.slice(j, j + n));
        start = j + n;
        j += n - 1;
      }
    }
  }
  parts.push(s.slice(start));
  return { parts, seps };
}

/** Top-level union branches of a pattern ('|' or the keyword 'union'). */
export function splitUnion(expr: string): string[] {
  return splitTop(expr, (s, j) => {
    if (s[j] === '|' && s[j + 1] !== '|') return 1;
    if (s.startsWith('union', j) && /\s/.test(s[j - 1] ?? '') && /\s/.test(s[j + 5] ?? '')) return 5;
    return 0;
  }).parts.map((p) => p.trim());
}

/** Top-level path steps: returns the steps and the separators before each ('', '/', '//'). */
export function splitSteps(path: string): { steps: string[]; seps: string[] } {
  const { parts, seps } = splitTop(path, (s, j) => (s[j] === '/' ? (s[j + 1] === '/' ? 2 : 1) : 0));
  // parts[0] is what precedes the first separator ('' for absolute paths)
  const steps: string[] = [];
  const before: string[] = [];
  let pending = '';
  parts.forEach((p, idx) => {
    const t = p.trim();
    if (idx > 0) pending = seps[idx - 1];
    if (t === '') {
      if (idx === 0) return;
      return;
    }
    steps.push(t);
    before.push(pending);
    pending = '';
  });
  return { steps, seps: before };
}

/** Split a step into its node test (with axis) and its predicate texts. */
export function splitPredicates(step: string): { test: string; preds: string[] } | null {
  const i = step.indexOf('[');
  if (i < 0) return { test: step.trim(), preds: [] };
  const test = step.slice(0, i).trim();
  const preds: string[] = [];
  let j = i;
  while (j < step.length) {
    while (j < step.length && /\s/.test(step[j])) j++;
    if (j >= step.length) break;
    if (step[j] !== '[') return null;
    const k = matchBracket(step, j);
    if (k < 0) return null;
    preds.push(step.slice(j + 1, k));
    j = k + 1;
  }
  return { test, preds };
}

/** Replace `$name` references (whole names only) using a lookup; longest names are naturally whole. */
export function replaceVars(expr: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let j = 0; j < expr.length; j++) {
    const c = expr[j];
    if (c === "'" || c === '"') {
      const e = skipString(expr, j);
      out += expr.slice(j, e);
      j = e - 1;
      continue;
    }
    if (c === '$') {
      let k = j + 1;
      while (k < expr.length && (isNameChar(expr[k]) || (expr[k] === ':' && isNameChar(expr[k + 1])))) k++;
      const name = expr.slice(j + 1, k);
      const rep = lookup(name);
      if (rep !== undefined) {
        out += rep;
        j = k - 1;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** Every `$name` referenced in the text (outside string literals). */
export function referencedVars(expr: string): Set<string> {
  const found = new Set<string>();
  replaceVars(expr, (n) => {
    found.add(n);
    return undefined;
  });
  return found;
}

export interface FunctionCall {
  start: number;
  end: number; // index after ')'
  name: string;
  arg: string;
}

/** Calls of the named functions (not preceded by a name char, '$', ':' or '/'), in source order. */
export function findCalls(expr: string, names: readonly string[]): FunctionCall[] {
  const calls: FunctionCall[] = [];
  for (let j = 0; j < expr.length; j++) {
    const c = expr[j];
    if (c === "'" || c === '"') {
      j = skipString(expr, j) - 1;
      continue;
    }
    if (isNameChar(expr[j - 1]) || expr[j - 1] === '$' || expr[j - 1] === ':') continue;
    for (const name of names) {
      if (!expr.startsWith(name, j)) continue;
      let k = j + name.length;
      if (isNameChar(expr[k])) continue;
      while (/\s/.test(expr[k] ?? '')) k++;
      if (expr[k] !== '(') continue;
      const close = matchBracket(expr, k);
      if (close < 0) continue;
      calls.push({ start: j, end: close + 1, name, arg: expr.slice(k + 1, close) });
      j = close;
      break;
    }
  }
  return calls;
}

/** XPath string literal for any JS string. */
export function xpathString(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

/** Upstream ART-DECOR regex `|^+?\d*$` is rejected by JS RegExp ("Nothing to repeat"). */
export function patchUpstreamRegex(expr: string): string {
  return expr.split('|^+?\\d*$').join('|^\\d*$');
}

/**
 * Turns a rule context (an XSLT pattern) into a dispatch plan:
 * - where candidate nodes come from (document index: OID, absolute/suffix name path, element name),
 * - a reversed boolean "match test" evaluated ON the candidate that confirms the pattern
 *   (`self::c[p][parent::b[q][parent::a]]`, `ancestor::` for `//`),
 * - or, for shapes we do not reverse safely (positional predicates, other axes, functions,
 *   attribute contexts), a "select" expression evaluated from the root.
 * The root expression is also what the reference mode uses for every rule.
 */
import { splitPredicates, splitSteps, splitUnion } from './xpath-text';

export type Candidates =
  | { kind: 'document' }
  | { kind: 'oid'; oid: string; name: string | null }
  | { kind: 'path'; names: string[]; absolute: boolean; wildcardLast: boolean }
  | { kind: 'name'; name: string }
  | { kind: 'elements' };

export interface BranchPlan {
  candidates: Candidates;
  match: string;
}

export interface ContextPlan {
  /** null: select from root with `rootSelect` */
  branches: BranchPlan[] | null;
  /** `//`-anchored expression selecting every node the pattern matches */
  rootSelect: string;
  fallbackReason?: string;
}

const HL7 = 'urn:hl7-org:v3';
const NAME_TEST = /^(?:child::)?(\*|[A-Za-z_][\w.-]*)(?::(\*|[A-Za-z_][\w.-]*))?$/;
const OID_PRED = [
  /^\s*(?:([A-Za-z_][\w.-]*):)?templateId\s*\/\s*@root\s*=\s*(['"])([^'"]+)\2\s*$/,
  /^\s*(?:([A-Za-z_][\w.-]*):)?templateId\s*\[\s*@root\s*=\s*(['"])([^'"]+)\2\s*\]\s*$/,
];

export function rootSelectOf(context: string): string {
  return splitUnion(context)
    .map((b) => (b === '/' || b.startsWith('/') ? b : '//' + b))
    .join(' | ');
}

export function planContext(context: string, ns: Readonly<Record<string, string>>): ContextPlan {
  const rootSelect = rootSelectOf(context);
  const branches: BranchPlan[] = [];
  for (const b of splitUnion(context)) {
    const p = planBranch(b, ns);
    if (typeof p === 'string') return { branches: null, rootSelect, fallbackReason: p };
    branches.push(p);
  }
  return { branches, rootSelect };
}

interface Step {
  local: string; // '*' allowed
  prefix: string | null; // null: no prefix; '*' never
  preds: string[];
}

function planBranch(branch: string, ns: Readonly<Record<string, string>>): BranchPlan | string {
  if (branch === '/') return { candidates: { kind: 'document' }, match: 'self::document-node()' };
  const { steps: raw, seps } = splitSteps(branch);
  if (raw.length === 0) return 'empty pattern';
  const steps: Step[] = [];
  for (const s of raw) {
    const sp = splitPredicates(s);
    if (!sp) return `unparsed step ${s}`;
    const m = NAME_TEST.exec(sp.test);
    if (!m) return `unsupported step ${sp.test}`;
    const prefix = m[2] !== undefined ? m[1] : null;
    const local = m[2] !== undefined ? m[2] : m[1];
    if (prefix === '*') return 'wildcard prefix';
    if (prefix !== null && !(prefix in ns)) return `unknown prefix ${prefix}`;
    for (const p of sp.preds) if (isPositional(p)) return 'positional predicate';
    steps.push({ local, prefix, preds: sp.preds });
  }
  for (let i = 1; i < seps.length; i++) if (seps[i] !== '/' && seps[i] !== '//') return 'bad separator';

  // reversed match test
  let inner = seps[0] === '/' ? 'parent::document-node()' : '';
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const axis = i === steps.length - 1 ? 'self' : seps[i + 1] === '//' ? 'ancestor' : 'parent';
    const nt = s.prefix ? `${s.prefix}:${s.local}` : s.local;
    inner = `${axis}::${nt}${s.preds.map((p) => `[${p}]`).join('')}${inner ? `[${inner}]` : ''}`;
  }

  const last = steps[steps.length - 1];
  const expanded = (s: Step): string => `{${s.prefix ? ns[s.prefix] : ''}}${s.local}`;
  // 1. OID index on the last step
  for (const p of last.preds) {
    for (const re of OID_PRED) {
      const m = re.exec(p);
      if (m && (m[1] === undefined ? '' : ns[m[1]]) === HL7) {
        return { candidates: { kind: 'oid', oid: m[3], name: last.local === '*' ? null : expanded(last) }, match: inner };
      }
    }
  }
  // 2. path index: pure child axis, names everywhere except possibly a trailing '*'
  const pureChild = seps.slice(1).every((s) => s === '/');
  const namedPrefix = steps.slice(0, -1).every((s) => s.local !== '*');
  if (pureChild && namedPrefix && (steps.length > 1 || last.local !== '*')) {
    const wildcardLast = last.local === '*' && last.prefix === null;
    if (last.local !== '*' || wildcardLast) {
      const names = (wildcardLast ? steps.slice(0, -1) : steps).map(expanded);
      return { candidates: { kind: 'path', names, absolute: seps[0] === '/', wildcardLast }, match: inner };
    }
  }
  // 3. element name index
  if (last.local !== '*') return { candidates: { kind: 'name', name: expanded(last) }, match: inner };
  return { candidates: { kind: 'elements' }, match: inner };
}

/** Numeric literal, or position()/last() at any depth (conservative: falls back to root select). */
function isPositional(pred: string): boolean {
  const p = pred.trim();
  if (/^[\d.\s+\-*]+$/.test(p)) return true;
  if (/^\$[\w.-]+$/.test(p)) return true;
  return /\b(position|last)\s*\(/.test(p.replace(/'[^']*'|"[^"]*"/g, ''));
}

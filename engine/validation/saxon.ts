/**
 * Thin typed wrapper around the parts of saxon-js we use.
 *
 * WHY internal API: SaxonJS.XPath.evaluate recompiles its expression on every call (≈9× slower on
 * rule-sized expressions). saxon-js 2.7.0 exposes XPath.compile(expr, options, true) and
 * XPath.evaluateOnly(compiled, context, options), undocumented but stable in this version.
 * The package.json pins saxon-js to exactly 2.7.0; `test/validation/saxon.test.ts` guards the
 * behaviour we depend on (compile once, evaluate many, collation-dependent functions).
 *
 * Collation pitfall: evaluateOnly does not install the collation table, so every function that
 * receives the default codepoint collation as an explicit (compiler-added) argument throws
 * "Cannot read properties of undefined (reading 'sc')". We remove that trailing argument from the
 * compiled tree: the runtime then falls back to its default collation, which is the codepoint one.
 * No patch of the SaxonJS bundle is needed.
 */
import { PasserelleError } from '../errors';

/** A node of SaxonJS's own DOM implementation (Node.js platform). Only the members we read. */
export interface SxNode {
  readonly nodeType: number;
  readonly localName?: string | null;
  readonly namespaceURI?: string | null;
  readonly nodeName: string;
  readonly childNodes: ArrayLike<SxNode>;
  readonly parentNode: SxNode | null;
  readonly attributes?: ArrayLike<SxAttr>;
  readonly documentElement?: SxNode | null;
  readonly nodeValue?: string | null;
  readonly textContent?: string | null;
  getAttribute?(name: string): string | null;
}
export interface SxAttr {
  readonly name: string;
  readonly value: string;
  readonly localName?: string | null;
  readonly namespaceURI?: string | null;
}

/** Opaque compiled expression (a SEF-like JSON tree). */
export interface CompiledXPath {
  readonly N: string;
  C?: CompiledTreeNode[];
}
interface CompiledTreeNode {
  N: string;
  C?: CompiledTreeNode[];
  val?: string;
  [k: string]: unknown;
}

/** An XDM value as kept by SaxonJS with resultForm 'xdm' (an array of items); opaque to us. */
export type XdmValue = unknown[];

interface SaxonXPathApi {
  compile(expr: string, options: Record<string, unknown>, returnPackage: true): CompiledXPath;
  evaluateOnly(pkg: CompiledXPath, context: unknown, options: Record<string, unknown>): unknown;
  evaluate(expr: string, context: unknown, options?: Record<string, unknown>): unknown;
}
interface SaxonApi {
  XPath: SaxonXPathApi;
  getPlatform(): { parseXmlFromString(text: string): SxNode };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const SaxonJS = require('saxon-js') as SaxonApi;

const CODEPOINT = 'http://www.w3.org/2005/xpath-functions/collation/codepoint';

function stripDefaultCollation(node: CompiledTreeNode): void {
  const kids = node.C;
  if (!kids) return;
  if (node.N === 'fn' && kids.length > 0) {
    const last = kids[kids.length - 1];
    if (last.N === 'str' && last.val === CODEPOINT) kids.pop();
  }
  for (const k of kids) stripDefaultCollation(k);
}

export interface CompileOptions {
  namespaces: Record<string, string>;
  /** Names of the external variables the expression may reference (all must be supplied at run time). */
  params: readonly string[];
}

/** Compile once; throws a coded error with the expression on syntax errors. */
export function compileXPath(expr: string, opts: CompileOptions): CompiledXPath {
  const params: Record<string, unknown> = {};
  for (const p of opts.params) params[p] = 'dummy';
  try {
    const pkg = SaxonJS.XPath.compile(expr, { namespaceContext: opts.namespaces, params }, true);
    stripDefaultCollation(pkg as unknown as CompiledTreeNode);
    return pkg;
  } catch (err) {
    throw new PasserelleError('PSL_VALIDATION_XPATH', `cannot compile XPath: ${(err as Error).message}`, {
      cause: err,
      details: { expr: expr.length > 500 ? expr.slice(0, 500) + '…' : expr },
    });
  }
}

/** Evaluate a compiled expression; result converted to JS (strings, numbers, booleans, nodes). */
export function evaluateCompiled(pkg: CompiledXPath, context: unknown, params: Record<string, XdmValue>): unknown[] {
  const r = SaxonJS.XPath.evaluateOnly(pkg, context ?? null, { params, resultForm: 'array' });
  return Array.isArray(r) ? r : r === null || r === undefined ? [] : [r];
}

/** Evaluate keeping XDM types (used for global `let`s passed back as parameters). */
export function evaluateCompiledXdm(pkg: CompiledXPath, context: unknown, params: Record<string, XdmValue>): XdmValue {
  const r = SaxonJS.XPath.evaluateOnly(pkg, context ?? null, { params, resultForm: 'xdm' });
  return Array.isArray(r) ? r : [];
}

/** One-off evaluation without context (prepare-time constant folding only). */
export function evaluateConstant(expr: string, namespaces: Record<string, string>): unknown {
  return SaxonJS.XPath.evaluate(expr, null, { namespaceContext: namespaces });
}

/** Parse XML text into a SaxonJS document node (synchronous). */
export function parseXml(text: string): SxNode {
  try {
    return SaxonJS.getPlatform().parseXmlFromString(text);
  } catch (err) {
    throw new PasserelleError('PSL_VALIDATION_XML_INVALID', `not well-formed XML: ${(err as Error).message}`, { cause: err });
  }
}

/** fn:serialize of a node (used to extract ClinicalDocument from an auto-présentable file). */
export function serializeNode(node: SxNode): string {
  const pkg = compileXPath('serialize(.)', { namespaces: {}, params: [] });
  const r = evaluateCompiled(pkg, node, {});
  return String(r[0] ?? '');
}

export const NODE = { ELEMENT: 1, ATTRIBUTE: 2, TEXT: 3, CDATA: 4, PI: 7, COMMENT: 8, DOCUMENT: 9 } as const;

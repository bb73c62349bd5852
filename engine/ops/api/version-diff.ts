/**
 * What changed between two versions of a report, as a reader of the CR-BIO sees it: each N3's
 * narrative flattened to lines (section titles, paragraphs, list items, table rows), then a
 * line diff. The header (the patient's identity) is not part of it.
 */
import { DOMParser } from '@xmldom/xmldom';

type XNode = { nodeType: number; localName?: string | null; childNodes: ArrayLike<XNode>; textContent?: string | null };

const ELEMENT = 1;
const CELL_SEPARATOR = ' | ';
/** Above this many lines on a side, a line-set comparison replaces the LCS (quadratic). */
const LCS_LIMIT = 4000;

function children(n: XNode, name?: string): XNode[] {
  const out: XNode[] = [];
  for (let i = 0; i < n.childNodes.length; i++) {
    const c = n.childNodes[i]!;
    if (c.nodeType === ELEMENT && (name === undefined || c.localName === name)) out.push(c);
  }
  return out;
}

/** A node's text, a line break (`<br/>`) read as a space. */
function text(n: XNode): string {
  const parts: string[] = [];
  const walk = (x: XNode): void => {
    if (x.nodeType === ELEMENT && x.localName === 'br') parts.push(' ');
    else if (x.nodeType === ELEMENT) for (let i = 0; i < x.childNodes.length; i++) walk(x.childNodes[i]!);
    else parts.push(x.textContent ?? '');
  };
  walk(n);
  return parts.join('').replace(/\s+/g, ' ').trim();
}

/** The lines of one narrative block (`<text>`), in document order. */
function blockLines(n: XNode, out: string[]): void {
  for (const c of children(n)) {
    switch (c.localName) {
      case 'paragraph':
      case 'item':
      case 'caption':
        if (text(c)) out.push(text(c));
        break;
      case 'tr':
        out.push(children(c).map(text).join(CELL_SEPARATOR));
        break;
      case 'renderMultiMedia':
        break;
      default:
        blockLines(c, out);
    }
  }
}

function sectionLines(section: XNode, depth: number, out: string[]): void {
  const title = children(section, 'title')[0];
  if (title) out.push(`${'#'.repeat(depth)} ${text(title)}`);
  for (const t of children(section, 'text')) blockLines(t, out);
  for (const comp of children(section, 'component')) for (const s of children(comp, 'section')) sectionLines(s, depth + 1, out);
}

/** The narrative of an N3 as lines. */
export function narrativeLines(n3: string): string[] {
  const doc = new DOMParser().parseFromString(n3, 'text/xml') as unknown as { documentElement: XNode | null };
  const root = doc.documentElement;
  if (!root) return [];
  const out: string[] = [];
  for (const comp of children(root, 'component')) {
    for (const body of children(comp, 'structuredBody')) {
      for (const c of children(body, 'component')) for (const s of children(c, 'section')) sectionLines(s, 1, out);
    }
  }
  return out;
}

export interface DiffLine {
  op: '=' | '+' | '-';
  text: string;
}

/** Line diff of a → b (longest common subsequence). */
export function diffLines(a: string[], b: string[]): DiffLine[] {
  if (a.length > LCS_LIMIT || b.length > LCS_LIMIT) {
    const inA = new Set(a);
    const inB = new Set(b);
    return [...a.map((t) => ({ op: inB.has(t) ? '=' : '-', text: t }) as DiffLine), ...b.filter((t) => !inA.has(t)).map((t) => ({ op: '+', text: t }) as DiffLine)];
  }
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: common length of a[i..] and b[j..], one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: '=', text: a[i]! });
      i++;
      j++;
    } else if (lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!) out.push({ op: '-', text: a[i++]! });
    else out.push({ op: '+', text: b[j++]! });
  }
  while (i < n) out.push({ op: '-', text: a[i++]! });
  while (j < m) out.push({ op: '+', text: b[j++]! });
  return out;
}

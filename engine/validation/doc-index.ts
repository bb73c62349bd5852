/**
 * One JS walk over the document (a few ms) gives every index the dispatcher needs: elements by
 * expanded name, by the @root of their templateId children, and by absolute name path. Rule
 * contexts are then answered from these instead of scanning the tree per rule, which is where
 * naive Schematron evaluation spends its time.
 */
import type { Candidates } from './context-plan';
import { NODE, SxNode } from './saxon';

const HL7 = 'urn:hl7-org:v3';

interface PathEntry {
  names: string[];
  nodes: SxNode[];
}

export class DocIndex {
  readonly elements: SxNode[] = [];
  private readonly byName = new Map<string, SxNode[]>();
  private readonly byOid = new Map<string, SxNode[]>();
  private readonly byPath = new Map<string, PathEntry>();
  private readonly byLastName = new Map<string, PathEntry[]>();
  private readonly memo = new Map<string, SxNode[]>();

  constructor(readonly doc: SxNode) {
    const root = doc.documentElement;
    if (root) this.walk(root, []);
  }

  private walk(root: SxNode, rootPath: string[]): void {
    const stack: { el: SxNode; path: string[] }[] = [{ el: root, path: rootPath }];
    while (stack.length > 0) {
      const { el, path } = stack.pop() as { el: SxNode; path: string[] };
      const name = `{${el.namespaceURI ?? ''}}${el.localName ?? el.nodeName}`;
      const myPath = [...path, name];
      this.elements.push(el);
      push(this.byName, name, el);
      const key = myPath.join('/');
      let entry = this.byPath.get(key);
      if (!entry) {
        entry = { names: myPath, nodes: [] };
        this.byPath.set(key, entry);
        push(this.byLastName, name, entry);
      }
      entry.nodes.push(el);
      const kids = el.childNodes;
      for (let i = kids.length - 1; i >= 0; i--) {
        const k = kids[i];
        if (k.nodeType !== NODE.ELEMENT) continue;
        if (k.localName === 'templateId' && k.namespaceURI === HL7) {
          const oid = k.getAttribute?.('root');
          if (oid) {
            const list = this.byOid.get(oid);
            if (!list) this.byOid.set(oid, [el]);
            else if (list[list.length - 1] !== el) list.push(el);
          }
        }
        stack.push({ el: k, path: myPath });
      }
    }
  }

  /** Superset of the nodes the branch can match (exact match is confirmed by the match test). */
  candidates(c: Candidates): readonly SxNode[] {
    switch (c.kind) {
      case 'document':
        return [this.doc];
      case 'elements':
        return this.elements;
      case 'name':
        return this.byName.get(c.name) ?? [];
      case 'oid': {
        const list = this.byOid.get(c.oid) ?? [];
        return c.name === null ? list : list.filter((e) => `{${e.namespaceURI ?? ''}}${e.localName}` === c.name);
      }
      case 'path':
        return this.pathCandidates(c.names, c.absolute, c.wildcardLast);
    }
  }

  private pathCandidates(names: string[], absolute: boolean, wildcardLast: boolean): SxNode[] {
    const key = `${absolute ? '/' : '//'}${names.join('/')}${wildcardLast ? '/*' : ''}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    const entries = (this.byLastName.get(names[names.length - 1]) ?? []).filter((e) =>
      absolute ? e.names.length === names.length && endsWith(e.names, names) : endsWith(e.names, names),
    );
    let out: SxNode[] = [];
    for (const e of entries) out = out.concat(e.nodes);
    if (wildcardLast) {
      const kids: SxNode[] = [];
      for (const p of out) {
        const cn = p.childNodes;
        for (let i = 0; i < cn.length; i++) if (cn[i].nodeType === NODE.ELEMENT) kids.push(cn[i]);
      }
      out = kids;
    }
    this.memo.set(key, out);
    return out;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function endsWith(full: string[], suffix: string[]): boolean {
  if (suffix.length > full.length) return false;
  const off = full.length - suffix.length;
  for (let i = 0; i < suffix.length; i++) if (full[off + i] !== suffix[i]) return false;
  return true;
}

/**
 * Reads .sch files into a small immutable tree and resolves ISO `include` (relative to the
 * including file, recursively). Upstream defect: IHE.sch includes `E_directiveAnticipee_int.sch`
 * while the file is `E_directiveanticipee_int.sch` (works on Windows only), so a missing include
 * falls back to a case-insensitive match in the same directory. Still-missing includes are recorded
 * as warnings and skipped (recoverable), never fatal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PasserelleError } from '../errors';
import { NODE, parseXml, SxNode } from './saxon';

export const SCH_NS = 'http://purl.oclc.org/dsdl/schematron';

export interface SchNode {
  readonly ns: string;
  readonly local: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly kids: ReadonlyArray<SchNode | string>;
  /** absolute path of the file this element was read from */
  readonly file: string;
}

export function isSch(n: SchNode | string, local?: string): n is SchNode {
  return typeof n !== 'string' && n.ns === SCH_NS && (local === undefined || n.local === local);
}

export function textOf(n: SchNode | string): string {
  return typeof n === 'string' ? n : n.kids.map(textOf).join('');
}

export class SchTreeReader {
  readonly warnings: string[] = [];
  /** every file read (absolute), for stats */
  readonly files = new Set<string>();
  private readonly cache = new Map<string, SchNode | null>();

  read(file: string): SchNode {
    const t = this.readFile(file);
    if (!t) throw new PasserelleError('PSL_VALIDATION_KIT_MISSING', `Schematron file not found: ${file}`, { details: { file } });
    return t;
  }

  private readFile(file: string): SchNode | null {
    const hit = this.cache.get(file);
    if (hit !== undefined) return hit;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      this.cache.set(file, null);
      return null;
    }
    this.files.add(file);
    let doc: SxNode;
    try {
      doc = parseXml(text);
    } catch (err) {
      throw new PasserelleError('PSL_VALIDATION_SCHEMATRON_INVALID', `cannot parse ${file}: ${(err as Error).message}`, { cause: err });
    }
    const root = doc.documentElement;
    const tree = root ? this.convert(root, file) : null;
    this.cache.set(file, tree);
    return tree;
  }

  /** Resolve href relative to `from`; case-insensitive fallback in the target directory. */
  resolveInclude(from: string, href: string): string | null {
    const target = path.resolve(path.dirname(from), decodeURI(href));
    if (fs.existsSync(target)) return target;
    const dir = path.dirname(target);
    const base = path.basename(target).toLowerCase();
    try {
      const alt = fs.readdirSync(dir).find((f) => f.toLowerCase() === base);
      if (alt) {
        this.warnings.push(`include ${href}: case-insensitive match ${alt} used (upstream defect)`);
        return path.join(dir, alt);
      }
    } catch {
      /* directory missing: fall through */
    }
    return null;
  }

  private convert(el: SxNode, file: string): SchNode {
    const attrs: Record<string, string> = {};
    const al = el.attributes;
    if (al) {
      for (let i = 0; i < al.length; i++) {
        const a = al[i];
        if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
        attrs[a.localName ?? a.name] = a.value;
      }
    }
    const kids: (SchNode | string)[] = [];
    const cn = el.childNodes;
    for (let i = 0; i < cn.length; i++) {
      const c = cn[i];
      if (c.nodeType === NODE.TEXT || c.nodeType === NODE.CDATA) {
        kids.push(c.nodeValue ?? c.textContent ?? '');
      } else if (c.nodeType === NODE.ELEMENT) {
        if (c.namespaceURI === SCH_NS && c.localName === 'include') {
          const href = c.getAttribute?.('href') ?? '';
          const target = this.resolveInclude(file, href);
          const inc = target ? this.readFile(target) : null;
          if (inc) kids.push(inc);
          else this.warnings.push(`include not found: ${href} (from ${file})`);
        } else {
          kids.push(this.convert(c, file));
        }
      }
    }
    return { ns: el.namespaceURI ?? '', local: el.localName ?? el.nodeName, attrs, kids, file };
  }
}

import type { Delimiters } from './delimiters';
import { Hl7Error } from './errors';
import { escape, unescape } from './escape';
import { type Hl7Path, parseFieldPath } from './path';

/** One segment. Fields are split on first access; deeper levels are located on demand. */
export interface Segment {
  readonly name: string;
  /** unescaped value at '3[2].4.2', '5'...; missing → '' (see path.ts for levels) */
  get(path: string): string;
  /** the value as on the wire (escapes kept) */
  getRaw(path: string): string;
  /** number of repetitions of a field ('3'), 0 when empty */
  count(path: string): number;
  set(path: string, value: string): this;
  setRaw(path: string, raw: string): this;
  /** number of the last field present (MSH counts MSH-1) */
  fieldCount(): number;
  toString(): string;
}

/** Returns the n-th (0-based) piece of s split on sep, without building the array. */
function nth(s: string, sep: string, n: number): string {
  let start = 0;
  for (let i = 0; i < n; i++) {
    const j = s.indexOf(sep, start);
    if (j < 0) return '';
    start = j + 1;
  }
  const end = s.indexOf(sep, start);
  return end < 0 ? (start === 0 ? s : s.slice(start)) : s.slice(start, end);
}

/** Replaces the n-th (0-based) piece of s split on sep, padding with empty pieces. */
function replaceNth(s: string, sep: string, n: number, value: string): string {
  const parts = s.split(sep);
  while (parts.length <= n) parts.push('');
  parts[n] = value;
  return parts.join(sep);
}

export class SegmentImpl implements Segment {
  readonly name: string;
  private raw: string | null;
  private parts: string[] | null = null;
  private readonly isMsh: boolean;

  constructor(
    raw: string,
    name: string,
    private readonly d: Delimiters,
    private readonly onChange: () => void,
  ) {
    this.raw = raw;
    this.name = name;
    this.isMsh = name === 'MSH';
  }

  private fields(): string[] {
    // The split keeps V8 sliced strings: large values (base64) are not copied.
    return this.parts ?? (this.parts = (this.raw as string).split(this.d.field));
  }

  /** Raw field text; MSH-1 is the field separator itself, MSH-2 the encoding characters. */
  field(n: number): string {
    if (this.isMsh) {
      if (n === 1) return this.d.field;
      return this.fields()[n - 1] ?? '';
    }
    return this.fields()[n] ?? '';
  }

  rawAt(p: Hl7Path): string {
    const n = p.field;
    if (n === undefined) return this.toString();
    const f = this.field(n);
    if (p.repetition === undefined && p.component === undefined) return f;
    if (this.isMsh && n <= 2) return p.component === undefined || p.component === 1 ? f : '';
    const d = this.d;
    const rep = f.indexOf(d.repetition) < 0 ? (p.repetition === undefined || p.repetition === 1 ? f : '') : nth(f, d.repetition, (p.repetition ?? 1) - 1);
    if (p.component === undefined) return rep;
    const comp = rep.indexOf(d.component) < 0 ? (p.component === 1 ? rep : '') : nth(rep, d.component, p.component - 1);
    if (p.subcomponent === undefined) return comp;
    return comp.indexOf(d.subcomponent) < 0 ? (p.subcomponent === 1 ? comp : '') : nth(comp, d.subcomponent, p.subcomponent - 1);
  }

  valueAt(p: Hl7Path): string {
    const raw = this.rawAt(p);
    if (raw === '' || (this.isMsh && p.field !== undefined && p.field <= 2)) return raw;
    const d = this.d;
    // A composite node (still holding lower-level delimiters) is returned as wire text:
    // unescaping it would make escaped delimiters indistinguishable from real ones.
    if (p.subcomponent === undefined) {
      if (raw.indexOf(d.subcomponent) >= 0) return raw;
      if (p.component === undefined) {
        if (raw.indexOf(d.component) >= 0) return raw;
        if (p.repetition === undefined && raw.indexOf(d.repetition) >= 0) return raw;
      }
    }
    return unescape(raw, d);
  }

  countAt(p: Hl7Path): number {
    if (p.field === undefined) return 1;
    const f = this.rawAt({ occurrence: 1, field: p.field });
    if (f === '') return 0;
    if (this.isMsh && p.field <= 2) return 1;
    let c = 1;
    for (let i = f.indexOf(this.d.repetition); i >= 0; i = f.indexOf(this.d.repetition, i + 1)) c++;
    return c;
  }

  setRawAt(p: Hl7Path, raw: string): void {
    const n = p.field;
    if (n === undefined) throw new Hl7Error('HL7_BAD_PATH', 'a path to set must name a field');
    if (this.isMsh && n <= 2) {
      throw new Hl7Error('HL7_BAD_PATH', 'MSH-1 and MSH-2 (delimiters) cannot be changed on a parsed message');
    }
    const d = this.d;
    let value = raw;
    if (p.repetition !== undefined || p.component !== undefined) {
      const f = this.field(n);
      const r = (p.repetition ?? 1) - 1;
      let rep = raw;
      if (p.component !== undefined) {
        const repOld = nth(f, d.repetition, r);
        let comp = raw;
        if (p.subcomponent !== undefined) {
          comp = replaceNth(nth(repOld, d.component, p.component - 1), d.subcomponent, p.subcomponent - 1, raw);
        }
        rep = replaceNth(repOld, d.component, p.component - 1, comp);
      }
      value = replaceNth(f, d.repetition, r, rep);
    }
    const parts = this.fields();
    const idx = this.isMsh ? n - 1 : n;
    while (parts.length <= idx) parts.push('');
    parts[idx] = value;
    this.raw = null;
    this.onChange();
  }

  get(path: string): string {
    return this.valueAt(parseFieldPath(path));
  }

  getRaw(path: string): string {
    return this.rawAt(parseFieldPath(path));
  }

  count(path: string): number {
    return this.countAt(parseFieldPath(path));
  }

  set(path: string, value: string): this {
    this.setRawAt(parseFieldPath(path), escape(value, this.d));
    return this;
  }

  setRaw(path: string, raw: string): this {
    this.setRawAt(parseFieldPath(path), raw);
    return this;
  }

  fieldCount(): number {
    return this.fields().length - (this.isMsh ? 0 : 1);
  }

  toString(): string {
    return this.raw ?? (this.raw = this.fields().join(this.d.field));
  }
}

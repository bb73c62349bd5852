import { type Delimiters, delimitersFrom } from './delimiters';
import { Hl7Error } from './errors';
import { escape } from './escape';
import { type Hl7Path, parsePath } from './path';
import { type Segment, SegmentImpl } from './segment';

export type { Segment } from './segment';

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/** Validates a segment name: 3 alphanumerics, then the field separator or end of line. */
function segmentName(line: string, fs: string, index: number): string {
  const ok =
    line.length >= 3 &&
    isAlnum(line.charCodeAt(0)) &&
    isAlnum(line.charCodeAt(1)) &&
    isAlnum(line.charCodeAt(2)) &&
    (line.length === 3 || line[3] === fs);
  if (!ok) {
    const shown = line.length > 20 ? `${line.slice(0, 20)}…` : line;
    throw new Hl7Error('HL7_BAD_SEGMENT', `segment ${index + 1} does not start with a 3-character name: ${JSON.stringify(shown)}`, {
      hl7Code: 100,
      location: { segment: line.slice(0, 3), sequence: index + 1 },
    });
  }
  return line.length === 3 ? line : line.slice(0, 3);
}

/**
 * A parsed HL7 v2 message. Parsing only splits segments and checks MSH-1/MSH-2 and segment
 * names; fields are split on first access. Unmodified input with '\r' terminators is
 * serialized as the original string (no copy, which matters for 1 MB ED messages).
 */
export class Message {
  readonly delimiters: Delimiters;
  private readonly segs: SegmentImpl[];
  /** original text from 'MSH' on, reusable as-is while nothing changed */
  private readonly source: string;
  private readonly sourceReusable: boolean;
  private readonly trailing: boolean;
  private modified = false;
  private readonly markModified = (): void => {
    this.modified = true;
  };

  private constructor(source: string, delimiters: Delimiters, lines: string[], reusable: boolean, trailing: boolean) {
    this.source = source;
    this.delimiters = delimiters;
    this.sourceReusable = reusable;
    this.trailing = trailing;
    const fs = delimiters.field;
    this.segs = new Array<SegmentImpl>(lines.length);
    for (let i = 0; i < lines.length; i++) {
      this.segs[i] = new SegmentImpl(lines[i], segmentName(lines[i], fs, i), delimiters, this.markModified);
    }
  }

  /** Parses text (already decoded; see charset.ts). Throws Hl7Error. */
  static parse(text: string): Message {
    if (typeof text !== 'string' || text.length === 0) throw new Hl7Error('HL7_EMPTY', 'empty message');
    let start = 0;
    if (text.charCodeAt(0) === 0xfeff) start = 1; // BOM left by a decoder
    while (start < text.length && ' \t\r\n'.indexOf(text[start]) >= 0) start++;
    if (start === text.length) throw new Hl7Error('HL7_EMPTY', 'message holds only whitespace');
    if (!text.startsWith('MSH', start)) {
      throw new Hl7Error('HL7_NO_MSH', `message does not start with MSH: ${JSON.stringify(text.slice(start, start + 8))}`, {
        hl7Code: 100,
        location: { segment: 'MSH', sequence: 1 },
      });
    }
    const fs = text.charAt(start + 3);
    let encEnd = start + 4;
    while (encEnd < text.length && encEnd < start + 12) {
      const ch = text[encEnd];
      if (ch === fs || ch === '\r' || ch === '\n') break;
      encEnd++;
    }
    const delimiters = delimitersFrom(fs, text.slice(start + 4, encEnd));

    const body = start === 0 ? text : text.slice(start);
    const hasLf = body.indexOf('\n') >= 0;
    let lines: string[];
    let reusable = true;
    if (!hasLf) lines = body.split('\r');
    else if (body.indexOf('\r') < 0) lines = body.split('\n');
    else lines = body.split(/\r\n|\r|\n/);
    if (hasLf) reusable = false;

    let trailing = false;
    let n = lines.length;
    while (n > 1 && (lines[n - 1] === '' || isBlank(lines[n - 1]))) {
      n--;
      trailing = true;
    }
    // blank lines among segments are tolerated (dropped); any drop beyond one trailing
    // terminator means the source can no longer be reused verbatim
    if (n < lines.length - 1) reusable = false;
    let kept = lines;
    for (let i = 0; i < n; i++) {
      if (lines[i] === '' || isBlank(lines[i])) {
        kept = lines.slice(0, n).filter((l) => l !== '' && !isBlank(l));
        reusable = false;
        break;
      }
    }
    if (kept === lines) kept.length = n;
    return new Message(body, delimiters, kept, reusable, trailing);
  }

  private find(p: Hl7Path): SegmentImpl | undefined {
    const name = p.segment as string;
    let seen = 0;
    for (const s of this.segs) {
      if (s.name === name && ++seen === p.occurrence) return s;
    }
    return undefined;
  }

  /** Unescaped value; composite nodes come back as wire text; missing → ''. */
  get(path: string): string {
    const p = parsePath(path);
    const s = this.find(p);
    return s ? s.valueAt(p) : '';
  }

  getRaw(path: string): string {
    const p = parsePath(path);
    const s = this.find(p);
    return s ? s.rawAt(p) : '';
  }

  /** Repetitions of a field ('PID-3'), or the number of segments ('OBX'). */
  count(path: string): number {
    const p = parsePath(path);
    if (p.field === undefined) {
      let c = 0;
      for (const s of this.segs) if (s.name === p.segment) c++;
      return c;
    }
    const s = this.find(p);
    return s ? s.countAt(p) : 0;
  }

  set(path: string, value: string): this {
    return this.setRaw(path, escape(value, this.delimiters));
  }

  /** Writes wire text; a missing segment occurrence is appended (occurrences before it too). */
  setRaw(path: string, raw: string): this {
    const p = parsePath(path);
    let s = this.find(p);
    if (!s) {
      let have = this.count(p.segment as string);
      while (have < p.occurrence) {
        s = this.addSegment(p.segment as string) as SegmentImpl;
        have++;
      }
    }
    (s as SegmentImpl).setRawAt(p, raw);
    return this;
  }

  segments(name?: string): Segment[] {
    return name === undefined ? this.segs.slice() : this.segs.filter((s) => s.name === name);
  }

  segment(name: string, occurrence = 1): Segment | undefined {
    return this.find({ segment: name, occurrence });
  }

  addSegment(name: string): Segment {
    if (name === 'MSH') throw new Hl7Error('HL7_BAD_SEGMENT', 'a message has exactly one MSH');
    const s = new SegmentImpl(name, segmentName(name, this.delimiters.field, this.segs.length), this.delimiters, this.markModified);
    this.segs.push(s);
    this.modified = true;
    return s;
  }

  get controlId(): string {
    return this.get('MSH-10');
  }
  get messageType(): string {
    const code = this.messageCode;
    const event = this.triggerEvent;
    return event ? `${code}^${event}` : code;
  }
  get messageCode(): string {
    return this.get('MSH-9.1');
  }
  get triggerEvent(): string {
    return this.get('MSH-9.2');
  }
  get messageStructure(): string {
    return this.get('MSH-9.3');
  }
  get version(): string {
    return this.get('MSH-12.1');
  }
  get processingId(): string {
    return this.get('MSH-11.1');
  }
  get acceptAckType(): string {
    return this.get('MSH-15');
  }
  get appAckType(): string {
    return this.get('MSH-16');
  }

  /** '\r' terminators; the original string when nothing changed and it was '\r'-terminated. */
  toString(): string {
    if (!this.modified && this.sourceReusable) return this.source;
    const parts = new Array<string>(this.segs.length);
    for (let i = 0; i < this.segs.length; i++) parts[i] = this.segs[i].toString();
    return parts.join('\r') + (this.trailing ? '\r' : '');
  }
}

/**
 * Seeded mutations of HL7 frames: the same seed gives the same frames, byte for byte.
 * Content mutations change the payload; framing faults change how it goes on the wire.
 */

/** mulberry32: small, fast, and good enough to pick mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

export const CONTENT_MUTATIONS = [
  'none', 'byte-flip', 'truncate', 'delimiter-insert', 'escape-insert', 'segment-repeat', 'huge-field',
  'charset', 'header-damage', 'line-endings', 'binary-noise',
] as const;
export type ContentMutation = (typeof CONTENT_MUTATIONS)[number];

/**
 * How the frame goes on the wire. `clean` and `split` keep the stream in sync (one answer
 * expected); `garbage-before` too (bytes outside frames are skipped). The others leave the
 * stream out of sync: the fuzzer sends them last on a connection, half-closes, and expects the
 * answers it can or a close.
 */
export type Framing = 'clean' | 'split' | 'garbage-before' | 'no-start' | 'no-end' | 'vt-inside' | 'fs-only';

export interface FuzzFrame {
  payload: Buffer;
  mutations: ContentMutation[];
  framing: Framing;
  /** Write boundaries for 'split' (offsets into the wire bytes). */
  cuts: number[];
}

const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

function segmentBounds(b: Buffer): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0d || b[i] === 0x0a) {
      if (i > start) out.push([start, i]);
      start = i + 1;
    }
  }
  if (start < b.length) out.push([start, b.length]);
  return out;
}

function insertAt(b: Buffer, at: number, piece: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
}

const DELIMS = ['|', '^', '~', '\\', '&', '\r', '\n', '#', '\x1c', '\x0b'];
const ESCAPES = ['\\F\\', '\\S\\', '\\T\\', '\\R\\', '\\E\\', '\\X0D0A\\', '\\H\\', '\\N\\', '\\.br\\', '\\X', '\\', '\\C2D4\\', '\\M\\', '\\Z99\\', '\\XZZ\\'];
const MSH18 = ['UNICODE UTF-8', '8859/1', '8859/15', 'ASCII', 'UTF-16', 'KOI8-R', '', '\xff\xfe', 'UNICODE UTF-8~8859/1'];

function applyContent(rng: Rng, b: Buffer, m: ContentMutation): Buffer {
  switch (m) {
    case 'none':
      return b;
    case 'byte-flip': {
      const out = Buffer.from(b);
      const n = int(rng, 1, 16);
      for (let i = 0; i < n && out.length > 0; i++) out[int(rng, 0, out.length - 1)] ^= 1 << int(rng, 0, 7);
      return out;
    }
    case 'truncate':
      return b.subarray(0, int(rng, 0, b.length));
    case 'delimiter-insert': {
      let out = b;
      const n = int(rng, 1, 8);
      for (let i = 0; i < n; i++) out = insertAt(out, int(rng, 0, out.length), Buffer.from(pick(rng, DELIMS), 'latin1'));
      return out;
    }
    case 'escape-insert': {
      let out = b;
      const n = int(rng, 1, 6);
      for (let i = 0; i < n; i++) out = insertAt(out, int(rng, 0, out.length), Buffer.from(pick(rng, ESCAPES), 'latin1'));
      return out;
    }
    case 'segment-repeat': {
      const segs = segmentBounds(b);
      if (segs.length === 0) return b;
      const [s, e] = pick(rng, segs);
      // Mostly a few, sometimes thousands (segment limits), rarely tens of thousands.
      const r = rng();
      const seg = Buffer.concat([b.subarray(s, e), Buffer.from('\r')]);
      const wanted = r < 0.7 ? int(rng, 2, 50) : r < 0.97 ? int(rng, 51, 3000) : int(rng, 3001, 40_000);
      // Bounded bytes: mostly ≤ 1 MB, rarely up to 20 MB (past the default 16 MiB frame cap).
      const budget = rng() < 0.995 ? 1024 * 1024 : 20 * 1024 * 1024;
      const times = Math.max(1, Math.min(wanted, Math.floor(budget / seg.length)));
      const rep = Buffer.alloc(seg.length * times);
      for (let i = 0; i < times; i++) seg.copy(rep, i * seg.length);
      return insertAt(b, e + 1 > b.length ? b.length : e + 1, rep);
    }
    case 'huge-field': {
      const segs = segmentBounds(b);
      const size = int(rng, 1024, 300 * 1024);
      const fill = Buffer.alloc(size, pick(rng, ['x', 'A', '0', '\xe9', '|', '^']), 'latin1');
      const at = segs.length ? pick(rng, segs)[1] : b.length;
      return insertAt(b, at, Buffer.concat([Buffer.from('|'), fill]));
    }
    case 'charset': {
      const text = b.toString('latin1');
      const lines = text.split(/\r\n|\r|\n/);
      const msh = lines[0] ?? '';
      const fields = msh.split('|');
      while (fields.length < 18) fields.push('');
      fields[17] = pick(rng, MSH18);
      lines[0] = fields.join('|');
      let out: Buffer = Buffer.from(lines.join('\r'), 'latin1');
      const r = rng();
      if (r < 0.3) out = Buffer.from(b.toString('utf8'), 'utf16le'); // wrong width entirely
      else if (r < 0.6) out = insertAt(out, int(rng, 0, out.length), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe]));
      else if (r < 0.7) out = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), out]);
      return out;
    }
    case 'header-damage': {
      const out = Buffer.from(b);
      const at = int(rng, 0, Math.min(12, Math.max(0, out.length - 1)));
      if (out.length > 0) out[at] = int(rng, 0, 255);
      return out;
    }
    case 'line-endings':
      return Buffer.from(b.toString('latin1').replace(/\r\n|\r|\n/g, () => pick(rng, ['\r', '\n', '\r\n', '\n\r', '\r\r', ''])), 'latin1');
    case 'binary-noise': {
      const n = int(rng, 1, 2048);
      const noise = Buffer.alloc(n);
      for (let i = 0; i < n; i++) noise[i] = int(rng, 0, 255);
      return insertAt(b, int(rng, 0, b.length), noise);
    }
  }
}

/** One fuzzed frame from a corpus entry. */
export function mutate(rng: Rng, base: Buffer): FuzzFrame {
  const mutations: ContentMutation[] = [];
  let payload = base;
  // ≈8% go through untouched (they may be valid: the engine must still answer them).
  const count = rng() < 0.08 ? 0 : int(rng, 1, 3);
  for (let i = 0; i < count; i++) {
    const m = pick(rng, CONTENT_MUTATIONS.slice(1));
    mutations.push(m);
    payload = applyContent(rng, payload, m);
  }
  if (mutations.length === 0) mutations.push('none');
  const f = rng();
  const framing: Framing =
    f < 0.8 ? 'clean' : f < 0.9 ? 'split' : f < 0.94 ? 'garbage-before' : pick(rng, ['no-start', 'no-end', 'vt-inside', 'fs-only'] as const);
  const cuts: number[] = [];
  if (framing === 'split') {
    const n = int(rng, 1, 6);
    for (let i = 0; i < n; i++) cuts.push(int(rng, 1, payload.length + 2));
    cuts.sort((a, b) => a - b);
  }
  return { payload, mutations, framing, cuts };
}

/** The bytes to write for a frame (MLLP framing, possibly broken). */
export function wireBytes(rng: Rng, f: FuzzFrame): Buffer {
  const VT = Buffer.from([0x0b]);
  const END = Buffer.from([0x1c, 0x0d]);
  switch (f.framing) {
    case 'clean':
    case 'split':
      return Buffer.concat([VT, f.payload, END]);
    case 'garbage-before': {
      const n = int(rng, 1, 512);
      const g = Buffer.alloc(n);
      for (let i = 0; i < n; i++) {
        let c = int(rng, 0, 255);
        if (c === 0x0b) c = 0x20; // no start byte in the garbage: it must be skipped whole
        g[i] = c;
      }
      return Buffer.concat([g, VT, f.payload, END]);
    }
    case 'no-start':
      return Buffer.concat([f.payload, END]);
    case 'no-end':
      return Buffer.concat([VT, f.payload]);
    case 'vt-inside': {
      const at = int(rng, 0, f.payload.length);
      return Buffer.concat([VT, f.payload.subarray(0, at), VT, f.payload.subarray(at), END]);
    }
    case 'fs-only':
      return Buffer.concat([VT, f.payload, Buffer.from([0x1c])]);
  }
}

/** Framing that keeps the stream in sync (exactly one answer is due). */
export function inSync(f: FuzzFrame): boolean {
  return f.framing === 'clean' || f.framing === 'split' || f.framing === 'garbage-before';
}

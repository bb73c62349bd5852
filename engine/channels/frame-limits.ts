/**
 * Size checks on a frame's raw bytes, before it is decoded or parsed: a frame over the
 * channel's limits costs one bounded scan (it stops at the first limit passed), never a parse of
 * millions of segments on the event loop.
 */
export interface FrameLimits {
  maxSegments: number;
  maxSegmentBytes: number;
}

export type LimitBreach =
  | { kind: 'segments'; limit: number }
  | { kind: 'segment-bytes'; limit: number; segment: number };

const CR = 0x0d;
const LF = 0x0a;

/**
 * Segments are ended by CR, LF or CR LF (as the parser accepts). Returns the first breach, or
 * undefined. Cost: one native `indexOf` per segment, at most `maxSegments + 1` of them.
 */
export function checkFrameLimits(raw: Buffer, limits: FrameLimits): LimitBreach | undefined {
  let start = 0;
  let segments = 0;
  let nextCr = raw.indexOf(CR, 0);
  let nextLf = raw.indexOf(LF, 0);
  while (start < raw.length) {
    if (nextCr >= 0 && nextCr < start) nextCr = raw.indexOf(CR, start);
    if (nextLf >= 0 && nextLf < start) nextLf = raw.indexOf(LF, start);
    let end = nextCr < 0 ? nextLf : nextLf < 0 ? nextCr : Math.min(nextCr, nextLf);
    if (end < 0) end = raw.length;
    if (end > start) {
      segments++;
      if (segments > limits.maxSegments) return { kind: 'segments', limit: limits.maxSegments };
      if (end - start > limits.maxSegmentBytes) return { kind: 'segment-bytes', limit: limits.maxSegmentBytes, segment: segments };
    }
    start = end + 1;
  }
  return undefined;
}

import { CR, FS, FrameDecoder, VT, encodeFrame, type DecodedItem } from '../../engine/mllp';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const frame = (s: string): Buffer => encodeFrame(b(s));

/** Frames' payloads as text, garbage and oversize as markers. */
function summary(items: DecodedItem[]): string[] {
  return items.map((i) =>
    i.type === 'frame' ? i.payload.toString('latin1') : i.type === 'garbage' ? `<garbage ${i.bytes}>` : `<oversize ${i.prefix.length}>`,
  );
}

function pushAll(dec: FrameDecoder, chunks: Buffer[]): DecodedItem[] {
  return chunks.flatMap((c) => dec.push(c));
}

describe('encodeFrame', () => {
  it('wraps the payload in VT … FS CR', () => {
    expect([...encodeFrame(b('AB'))]).toEqual([VT, 0x41, 0x42, FS, CR]);
    expect([...encodeFrame(Buffer.alloc(0))]).toEqual([VT, FS, CR]);
  });
});

describe('FrameDecoder', () => {
  it('decodes two frames in one chunk', () => {
    const dec = new FrameDecoder();
    expect(summary(dec.push(Buffer.concat([frame('MSH|one'), frame('MSH|two')])))).toEqual(['MSH|one', 'MSH|two']);
    expect(dec.bufferedBytes).toBe(0);
  });

  it('decodes a frame fed byte by byte', () => {
    const dec = new FrameDecoder();
    const bytes = frame('MSH|^~\\&|A\rPID|1');
    const items = pushAll(dec, [...bytes].map((x) => Buffer.from([x])));
    expect(summary(items)).toEqual(['MSH|^~\\&|A\rPID|1']);
  });

  it('handles VT, FS and CR each in its own chunk', () => {
    const dec = new FrameDecoder();
    const items = pushAll(dec, [Buffer.from([VT]), b('MSH|x'), Buffer.from([FS]), Buffer.from([CR]), Buffer.from([VT]), b('MSH|y'), Buffer.from([FS])]);
    expect(summary(items)).toEqual(['MSH|x']);
    expect(summary(dec.push(Buffer.from([CR])))).toEqual(['MSH|y']);
  });

  it('ends a frame when FS closes one chunk and CR opens the next with another frame', () => {
    const dec = new FrameDecoder();
    const items = pushAll(dec, [Buffer.concat([Buffer.from([VT]), b('a'), Buffer.from([FS])]), Buffer.concat([Buffer.from([CR]), frame('b')])]);
    expect(summary(items)).toEqual(['a', 'b']);
  });

  it('reports and skips garbage before and between frames', () => {
    const dec = new FrameDecoder();
    const items = dec.push(Buffer.concat([b('junk'), frame('one'), b('\n\n'), frame('two'), b('x')]));
    expect(summary(items)).toEqual(['<garbage 4>', 'one', '<garbage 2>', 'two', '<garbage 1>']);
  });

  it('keeps FS not followed by CR as payload, in one chunk and across chunks', () => {
    const dec = new FrameDecoder();
    const payload = `a${String.fromCharCode(FS)}b${String.fromCharCode(FS)}${String.fromCharCode(FS)}c`;
    expect(summary(dec.push(frame(payload)))).toEqual([payload]);
    // FS as the last byte of a chunk, followed by a non-CR byte.
    const items = pushAll(dec, [Buffer.from([VT, 0x61, FS]), b('b'), Buffer.from([FS, CR])]);
    expect(summary(items)).toEqual([`a${String.fromCharCode(FS)}b`]);
  });

  it('decodes an empty frame', () => {
    const dec = new FrameDecoder();
    const items = dec.push(Buffer.from([VT, FS, CR]));
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual({ type: 'frame', payload: Buffer.alloc(0) });
  });

  it('reports an abandoned frame as garbage when a new VT starts', () => {
    const dec = new FrameDecoder();
    const items = dec.push(Buffer.concat([Buffer.from([VT]), b('partial'), frame('full')]));
    expect(summary(items)).toEqual(['<garbage 8>', 'full']);
  });

  it('reports oversize as soon as the limit is passed, without buffering the rest', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 10_000 });
    const first = dec.push(Buffer.concat([Buffer.from([VT]), Buffer.alloc(6000, 0x41)]));
    expect(first).toEqual([]);
    const second = dec.push(Buffer.alloc(6000, 0x42));
    expect(second).toHaveLength(1);
    expect(second[0].type).toBe('oversize');
    const prefix = (second[0] as { prefix: Buffer }).prefix;
    expect(prefix.length).toBe(4096);
    expect(prefix.every((x) => x === 0x41)).toBe(true);
    // The rest of the oversize frame is skipped, not held.
    expect(dec.push(Buffer.alloc(50_000, 0x43))).toEqual([]);
    expect(dec.bufferedBytes).toBe(0);
    // The decoder recovers at the end of the oversize frame.
    expect(summary(dec.push(Buffer.concat([Buffer.from([FS, CR]), frame('next')])))).toEqual(['next']);
  });

  it('accepts a frame of exactly maxFrameBytes and refuses one byte more', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 100 });
    expect(summary(dec.push(encodeFrame(Buffer.alloc(100, 0x41))))).toEqual(['A'.repeat(100)]);
    expect(summary(dec.push(encodeFrame(Buffer.alloc(101, 0x41))))).toEqual(['<oversize 101>']);
    expect(summary(dec.push(frame('ok')))).toEqual(['ok']);
  });

  it('decodes a 1 MB frame arriving in 1 KB chunks', () => {
    const dec = new FrameDecoder();
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = 0x20 + (i % 90); // printable, no VT/FS/CR
    const bytes = encodeFrame(payload);
    const items: DecodedItem[] = [];
    for (let off = 0; off < bytes.length; off += 1024) items.push(...dec.push(bytes.subarray(off, off + 1024)));
    expect(items).toHaveLength(1);
    expect(items[0].type).toBe('frame');
    expect((items[0] as { payload: Buffer }).payload.equals(payload)).toBe(true);
  });

  it('returns a private copy of the payload', () => {
    const dec = new FrameDecoder();
    const chunk = frame('abc');
    const [item] = dec.push(chunk);
    chunk.fill(0);
    expect((item as { payload: Buffer }).payload.toString()).toBe('abc');
  });
});

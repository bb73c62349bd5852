/** decode/encode (hl7-lab.md §6): MSH-18 from raw bytes, BOM, defaults, overrides, strictness. */
import * as iconv from 'iconv-lite';
import { decode, encode, Hl7Error, Message } from '../../engine/hl7';

const msg = (msh18: string, body: string): string =>
  `MSH|^~\\&|LAB|FAC|DPI|CH|20251124080000||ORU^R01^ORU_R01|C1|P|2.5|||||FRA|${msh18}\rPID|1||123^^^H^PI||${body}\r`;

describe('decode', () => {
  test('8859/15: € Œ œ (bytes A4 BC BD, which latin-1 would read as ¤ ¼ ½)', () => {
    const bytes = iconv.encode(msg('8859/15', 'Œuvre^Cœur^5€'), 'iso-8859-15');
    expect(bytes.includes(0xa4)).toBe(true);
    const d = decode(bytes);
    expect(d.charset).toBe('iso-8859-15');
    expect(d.declared).toBe('8859/15');
    expect(d.warnings).toEqual([]);
    expect(Message.parse(d.text).get('PID-5.1')).toBe('Œuvre');
    expect(Message.parse(d.text).get('PID-5.3')).toBe('5€');
    expect(encode(d.text, 'iso-8859-15').equals(bytes)).toBe(true);
  });

  test('8859/1: é è ç', () => {
    const bytes = Buffer.from(msg('8859/1', 'Hélène^Françoise'), 'latin1');
    const d = decode(bytes);
    expect(d.charset).toBe('iso-8859-1');
    expect(Message.parse(d.text).get('PID-5.1')).toBe('Hélène');
  });

  test('UTF-8 BOM is stripped; MSH-18 still found', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(msg('UNICODE UTF-8', 'Zoé'), 'utf8')]);
    const d = decode(bytes);
    expect(d.charset).toBe('utf-8');
    expect(d.text.startsWith('MSH|')).toBe(true);
    expect(Message.parse(d.text).get('PID-5')).toBe('Zoé');
  });

  test('UTF-8 without MSH-18 uses the default (utf-8 unless the channel says otherwise)', () => {
    const bytes = Buffer.from(msg('', 'Müller'), 'utf8');
    expect(decode(bytes).charset).toBe('utf-8');
    expect(Message.parse(decode(bytes).text).get('PID-5')).toBe('Müller');
    expect(decode(bytes, { defaultCharset: 'iso-8859-1' }).charset).toBe('iso-8859-1');
  });

  test('windows-1252 override wins over MSH-18 (0x80 = €, 0x9C = œ)', () => {
    const bytes = Buffer.from(msg('8859/1', 'X'), 'latin1');
    const withCp = Buffer.concat([bytes.subarray(0, bytes.length - 2), Buffer.from([0x80, 0x9c]), Buffer.from('\r')]);
    const d = decode(withCp, { override: 'windows-1252' });
    expect(d.charset).toBe('windows-1252');
    expect(d.declared).toBe('8859/1');
    expect(Message.parse(d.text).get('PID-5')).toBe('€œ');
  });

  test('unknown MSH-18 → HL7_BAD_CHARSET 103 at MSH-18; strict:false → default + warning', () => {
    const bytes = Buffer.from(msg('ISO IR87', 'X'), 'latin1');
    let err: Hl7Error | undefined;
    try {
      decode(bytes);
    } catch (e) {
      err = e as Hl7Error;
    }
    expect(err).toBeInstanceOf(Hl7Error);
    expect(err?.code).toBe('HL7_BAD_CHARSET');
    expect(err?.hl7Code).toBe(103);
    expect(err?.location).toEqual({ segment: 'MSH', sequence: 1, field: 18 });
    const d = decode(bytes, { strict: false, defaultCharset: 'iso-8859-1' });
    expect(d.charset).toBe('iso-8859-1');
    expect(d.warnings[0]).toMatch(/unknown MSH-18/);
  });

  test('bytes invalid in the declared charset: warning, or 102 when strict', () => {
    const bytes = Buffer.from(msg('UNICODE UTF-8', 'Andr\xe9'), 'latin1');
    const d = decode(bytes);
    expect(d.warnings[0]).toMatch(/not valid utf-8/);
    expect(d.text).toContain('Andr\uFFFD');
    expect(() => decode(bytes, { strict: true })).toThrow(expect.objectContaining({ code: 'HL7_BAD_CHARSET', hl7Code: 102 }));
  });

  test('MSH-18 with custom delimiters and repetitions is read from its first repetition', () => {
    const bytes = Buffer.from('MSH!@#$?!A!B!C!D!2025!!ORU@R01!1!P!2.5!!!!!!8859/15#UNICODE UTF-8\r', 'latin1');
    expect(decode(bytes).charset).toBe('iso-8859-15');
  });

  test('encode never emits raw UTF-8 under a single-byte charset', () => {
    expect(encode('a€b', 'iso-8859-1').toString('latin1')).toBe('a?b');
    expect([...encode('€', 'iso-8859-15')]).toEqual([0xa4]);
    expect(encode('é', 'utf-8').length).toBe(2);
  });
});

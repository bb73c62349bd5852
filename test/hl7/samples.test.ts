/**
 * Every file of the third-party sample corpus (test/hl7/fixtures SAMPLES_DIR), driven by manifest.json.
 *
 * Per-file decisions:
 *  - malformed: files under malformed/ and files whose manifest note says MALFORMED
 *    (ans/…bad-msh2-U02DC: its "~" is U+02DC). The manifest still counts "messages: 1" for
 *    most of them because its splitter found an MSH line, but every one fails hl7-lab.md §8
 *    check 2 (MSH-1 + MSH-2 must be 5 or 6 distinct printable non-alphanumeric ASCII
 *    characters) or is empty / does not start with MSH, so each is refused with the Hl7Error
 *    listed in MALFORMED below, and nakFromRaw answers AR with an ERR.
 *  - batches: manifest batch=true, or messages > 1 (mirth_3x-siu_no-fhs is an implicit batch):
 *    splitBatch must find the manifest's message count; each message parses.
 *  - efferent/adt-a01_utf8-bom: the manifest generator did not strip the BOM (messages 0,
 *    empty msh9); we do, so the file must parse as ADT^A01.
 *  - charset: MSH-18 when present; files without MSH-18 whose bytes are not UTF-8
 *    (ipf/adt-a40, genuine latin-1) are read on a channel configured with
 *    defaultCharset iso-8859-1, the others with the utf-8 default.
 *  - re-serialisation: '\r' files byte-identical; '\n' / '\r\n' files equal to the input
 *    with terminators normalised to '\r' (trailing blank lines collapse into one '\r').
 */
import { decode, encode, Hl7Error, legacyErrLayout, Message, splitBatch, nakFromRaw } from '../../engine/hl7';
import { normaliseTerminators } from './fixtures';
import { MALFORMED, loadManifest, readSample, type ManifestEntry } from '../support/hl7-corpus';

const MANIFEST = loadManifest();


const isMalformed = (e: ManifestEntry): boolean => e.file.startsWith('malformed/') || /MALFORMED/.test(e.note);
const isBatch = (e: ManifestEntry): boolean => e.batch || e.messages > 1;

function decodeSample(e: ManifestEntry) {
  const bytes = readSample(e.file);
  const defaultCharset = e.bytes_encoding.startsWith('not-utf-8') && e.msh18 === '' ? 'iso-8859-1' : 'utf-8';
  return { bytes, decoded: decode(bytes, { defaultCharset, strict: isMalformed(e) ? false : undefined }) };
}

const wellFormed = MANIFEST.filter((e) => !isMalformed(e) && !isBatch(e));
const batches = MANIFEST.filter((e) => !isMalformed(e) && isBatch(e));
const malformed = MANIFEST.filter(isMalformed);

test('the manifest lists 79 files and every malformed one has an expected outcome', () => {
  expect(MANIFEST).toHaveLength(79);
  expect(malformed.map((e) => e.file).sort()).toEqual(Object.keys(MALFORMED).sort());
  expect(wellFormed.length + batches.length + malformed.length).toBe(79);
});

describe.each(wellFormed.map((e) => [e.file, e] as const))('message %s', (_file, e) => {
  const { bytes, decoded } = decodeSample(e);

  test('decodes in the declared (or channel default) charset, losslessly', () => {
    expect(decoded.declared).toBe(e.msh18);
    const body = e.bom ? bytes.subarray(3) : bytes;
    expect(encode(decoded.text, decoded.charset).equals(body)).toBe(true);
    if (e.file.includes('8859-1-declared_utf8-bytes')) {
      expect(decoded.charset).toBe('iso-8859-1');
      expect(decoded.warnings.join()).toMatch(/look like UTF-8/);
    } else {
      expect(decoded.warnings).toEqual([]);
    }
  });

  test('parses and re-serialises', () => {
    const m = Message.parse(decoded.text);
    const expected = e.segment_separator === 'CR' ? decoded.text : normaliseTerminators(decoded.text.replace(/^\uFEFF/, ''));
    expect(m.toString()).toBe(expected);
    // and again after touching every field of every segment (reads never change output)
    for (const s of m.segments()) for (let f = 1; f <= s.fieldCount(); f++) s.get(String(f));
    expect(m.toString()).toBe(expected);
  });

  test('header fields match the manifest', () => {
    const m = Message.parse(decoded.text);
    if (e.bom) {
      expect(m.messageType).toBe('ADT^A01'); // manifest left empty (BOM not stripped there)
      return;
    }
    expect(m.getRaw('MSH-2')).toBe(e.msh2);
    expect(m.getRaw('MSH-9')).toBe(e.msh9);
    if (e.msh12) expect(m.getRaw('MSH-12')).toBe(e.msh12);
    expect(m.getRaw('MSH-15') + '|' + m.getRaw('MSH-16')).toBe(e.msh15_16);
    if (e.segments) for (const [name, n] of Object.entries(e.segments)) expect([name, m.count(name)]).toEqual([name, n]);
  });
});

describe.each(batches.map((e) => [e.file, e] as const))('batch %s', (_file, e) => {
  test(`splits into the manifest's message count, each parseable`, () => {
    const { decoded } = decodeSample(e);
    const b = splitBatch(decoded.text);
    expect(b.messages).toHaveLength(e.messages);
    if (b.declaredCount !== undefined) expect(b.declaredCount).toBe(e.messages);
    const parsed = b.messages.map((t) => Message.parse(t));
    expect(parsed[0].getRaw('MSH-9')).toBe(e.msh9);
    expect(parsed[0].getRaw('MSH-12')).toBe(e.msh12);
    expect(e.batch ? b.header : undefined).toEqual(e.batch ? expect.stringMatching(/^FHS/) : undefined);
  });
});

test('batch with MSH inside OBX values: OBX lines stay in the second message', () => {
  const text = readSample('batch/node-hl7-client_fhs-bhs_msh-inside-obx.hl7').toString('utf8');
  const b = splitBatch(text);
  const second = Message.parse(b.messages[1]);
  expect(second.messageType).toBe('RSP^K11');
  expect(second.count('OBX')).toBe(3);
  expect(second.get('OBX[3]-4')).toBe('MSH');
  expect(second.get('OBX[3]-8')).toBe('MSH');
  expect(b.trailer).toMatch(/^BTS/);
});

describe.each(malformed.map((e) => [e.file, e] as const))('malformed %s', (_file, e) => {
  test(`is refused with ${MALFORMED[e.file]} (never a crash or a hang)`, () => {
    const { decoded } = decodeSample(e);
    let err: unknown;
    try {
      Message.parse(decoded.text);
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(Hl7Error);
    expect((err as Hl7Error).code).toBe(MALFORMED[e.file]);
  });

  test('nakFromRaw yields a parseable AR with an ERR', () => {
    const { decoded } = decodeSample(e);
    let err: Hl7Error | undefined;
    try {
      Message.parse(decoded.text);
    } catch (x) {
      err = x as Hl7Error;
    }
    const nak = nakFromRaw(decoded.text, err as Hl7Error, { now: new Date(2025, 0, 1) });
    const ack = Message.parse(nak);
    expect(ack.get('MSA-1')).toBe('AR');
    expect(ack.segment('ERR')).toBeDefined();
    if (legacyErrLayout(ack.get('MSH-12'))) {
      // v2.3/2.4 partners: the code in ERR-1 (segment^sequence^field^code&text&HL70357), the text in MSA-3.
      expect(ack.get('ERR-1.4.1')).toBe(String((err as Hl7Error).hl7Code));
      expect(ack.get('ERR-1.4.3')).toBe('HL70357');
      expect(ack.get('MSA-3')).not.toBe('');
    } else {
      expect(ack.get('ERR-3.1')).toBe(String((err as Hl7Error).hl7Code));
      expect(ack.get('ERR-3.3')).toBe('HL70357');
      expect(ack.get('ERR-4')).toBe('E');
    }
  });
});

test('nakFromRaw recovers header fields when delimiters are broken but MSH-10 is readable', () => {
  const { decoded } = decodeSample(MANIFEST.find((x) => x.file.includes('bad-msh2-U02DC')) as ManifestEntry);
  const raw = decoded.text;
  const msh10 = raw.split('\n')[0].split('|')[9];
  const ack = Message.parse(nakFromRaw(raw, { hl7Code: 102, severity: 'E', location: { segment: 'MSH', field: 2 } }));
  expect(ack.get('MSA-2')).toBe(msh10);
  expect(ack.get('ERR-2')).toBe('MSH^1^2');
  expect(ack.get('MSH-12')).toBe('2.5');
});

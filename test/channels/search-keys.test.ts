import fs from 'node:fs';
import path from 'node:path';
import { Message } from '../../engine/hl7';
import { searchKeysOf } from '../../engine/channels/search-keys';

const parse = (segments: string[]): Message => Message.parse(segments.join('\r') + '\r');
const MSH = 'MSH|^~\\&|LAB|FAC|PSL|HOSP|20260101000000||ORU^R01|C1|P|2.5';

describe('searchKeysOf', () => {
  test('the sample ORU: local id, INS (universal id of CX-4), placer and filler numbers once each', () => {
    const text = fs.readFileSync(path.join(__dirname, '../../samples/oru-r01_ltw_biochemistry.hl7'), 'latin1');
    expect(searchKeysOf(Message.parse(text))).toEqual([
      { kind: 'patient', value: '123456' },
      { kind: 'ins', value: '248092A20345642' },
      { kind: 'order', value: 'CMD-0001' },
      { kind: 'order', value: 'LAB-0001' },
    ]);
  });

  test('an INS OID as the namespace (CX-4.1) counts; other authorities, INS-C and an INS type alone stay patient ids', () => {
    const msg = parse([
      MSH,
      'PID|1||1^^^1.2.250.1.213.1.4.8~2^^^X&1.2.250.1.213.1.4.9&ISO~3^^^1.2.250.1.213.1.4.11~4^^^Y&1.2.250.1.213.1.4.2&ISO~5^^^Z^INS~^^^1.2.250.1.213.1.4.8',
    ]);
    expect(searchKeysOf(msg)).toEqual([
      { kind: 'ins', value: '1' },
      { kind: 'ins', value: '2' },
      { kind: 'ins', value: '3' },
      { kind: 'patient', value: '4' },
      { kind: 'patient', value: '5' },
    ]);
  });

  test('every ORC and OBR of the message, first component, unescaped and trimmed; empty fields skipped', () => {
    const msg = parse([
      MSH,
      'PID|1||P1',
      'ORC|RE|A\\F\\1^DPI|F1^LAB',
      'OBR|1|A\\F\\1^DPI|F1^LAB',
      'ORC|RE||F2&sub^LAB',
      'OBR|2|| F3 ',
      'OBX|1|ST|X||ORC-like text',
    ]);
    expect(searchKeysOf(msg)).toEqual([
      { kind: 'patient', value: 'P1' },
      { kind: 'order', value: 'A|1' },
      { kind: 'order', value: 'F1' },
      { kind: 'order', value: 'F2' },
      { kind: 'order', value: 'F3' },
    ]);
  });

  test('at most 32 keys of at most 64 characters, control characters dropped', () => {
    const reps = Array.from({ length: 40 }, (_, i) => `ID${i}`).join('~');
    const long = 'x'.repeat(100);
    const msg = parse([MSH, `PID|1||${long}~${reps}`, 'ORC|RE|\\X01\\AB']);
    const keys = searchKeysOf(msg);
    expect(keys).toHaveLength(32);
    expect(keys[0]).toEqual({ kind: 'patient', value: 'x'.repeat(64) });
    expect(keys[31]).toEqual({ kind: 'patient', value: 'ID30' });
    const ctl = searchKeysOf(parse([MSH, 'ORC|RE|\\X01\\AB']));
    expect(ctl).toEqual([{ kind: 'order', value: 'AB' }]);
  });

  test('a message without PID, ORC or OBR has no keys', () => {
    expect(searchKeysOf(parse([MSH, 'OBX|1|ST|X||v']))).toEqual([]);
  });
});

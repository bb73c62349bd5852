/** Message/Segment API, paths, escapes, errors, builder, batch, and a bounded fuzz. */
import { DEFAULT_DELIMITERS, escape, Hl7Error, Message, MessageBuilder, nakFromRaw, splitBatch, unescape } from '../../engine/hl7';
import { oru4k } from './fixtures';

const ORU = oru4k();
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof Hl7Error ? e.code : `not an Hl7Error: ${String(e)}`;
  }
  return undefined;
};

describe('paths and header conveniences', () => {
  const m = Message.parse(ORU);
  test('MSH-1, MSH-2, MSH-9 levels, header getters', () => {
    expect(m.get('MSH-1')).toBe('|');
    expect(m.get('MSH-2')).toBe('^~\\&');
    expect(m.get('MSH-9')).toBe('ORU^R01^ORU_R01'); // composite: wire text
    expect(m.get('MSH-9.2')).toBe('R01');
    expect(m.messageType).toBe('ORU^R01');
    expect([m.messageCode, m.triggerEvent, m.messageStructure]).toEqual(['ORU', 'R01', 'ORU_R01']);
    expect([m.controlId, m.version, m.processingId, m.acceptAckType, m.appAckType]).toEqual(['MSG00001', '2.5', 'P', '', '']);
  });
  test('segment occurrences, missing values, counts', () => {
    expect(m.get('OBX[3]-5')).toBe('4.85');
    expect(m.get('OBX[99]-5')).toBe('');
    expect(m.get('ZZZ-1')).toBe('');
    expect(m.get('PID-99')).toBe('');
    expect(m.get('PID-3[5].1')).toBe('');
    expect(m.count('OBX')).toBe(20);
    expect(m.count('PID-7')).toBe(1);
    expect(m.count('PID-2')).toBe(0);
    expect(m.segment('OBX', 20)?.get('2')).toBe('TX');
    expect(m.segments('OBX')).toHaveLength(20);
    expect(m.segment('SPM')?.get('2[1].1.2')).toBe('LABSYS');
    expect(m.segment('PID')?.count('3')).toBe(2);
  });
  test('bad paths throw HL7_BAD_PATH', () => {
    for (const p of ['PID', 'PID-0', 'PID-3[0]', 'PI-3', 'PID.3', 'PID-3..1', '']) {
      if (p === 'PID') continue; // a bare segment name is valid for count()
      expect([p, codeOf(() => m.get(p))]).toEqual([p, 'HL7_BAD_PATH']);
    }
    expect(codeOf(() => m.segment('PID')?.get('x'))).toBe('HL7_BAD_PATH');
    expect(codeOf(() => Message.parse(ORU).set('MSH-2', 'x'))).toBe('HL7_BAD_PATH');
  });
});

describe('set', () => {
  test('creates missing fields, repetitions, components and subcomponents', () => {
    const m = Message.parse('MSH|^~\\&|A|B|C|D|20250101||ADT^A01|1|P|2.5\rPID|1\r');
    m.set('PID-3[2].4.2', '1.2.3');
    expect(m.getRaw('PID-3')).toBe('~^^^&1.2.3');
    m.set('PID-5.2', 'Jean');
    expect(m.getRaw('PID-5')).toBe('^Jean');
    m.set('ZBE-2', 'z');
    expect(m.toString()).toBe('MSH|^~\\&|A|B|C|D|20250101||ADT^A01|1|P|2.5\rPID|1||~^^^&1.2.3||^Jean\rZBE||z\r');
    m.set('OBX[2]-5', 'two');
    expect(m.count('OBX')).toBe(2);
    expect(m.get('OBX[2]-5')).toBe('two');
    m.setRaw('PID-5', 'A^B~C');
    expect(m.count('PID-5')).toBe(2);
    m.segment('PID')?.set('8', 'F');
    expect(m.get('PID-8')).toBe('F');
    const seg = m.addSegment('NTE').set('3', 'a|b');
    expect(seg.toString()).toBe('NTE|||a\\F\\b');
    expect(codeOf(() => m.addSegment('nt'))).toBe('HL7_BAD_SEGMENT');
    expect(m.get('MSH-10')).toBe('1');
  });
});

describe('escapes', () => {
  const d = DEFAULT_DELIMITERS;
  test('hex, lower-case hex, UTF-8 hex, formatting kept, unterminated kept', () => {
    expect(unescape('a\\X0D0A\\b', d)).toBe('a\r\nb');
    expect(unescape('a\\X0d0a\\b', d)).toBe('a\r\nb');
    expect(unescape('\\XC3A9\\', d)).toBe('é');
    expect(unescape('\\XE9\\', d)).toBe('é');
    expect(unescape('x\\.br\\y\\H\\b\\N\\\\Zabc\\\\.sp 2\\', d)).toBe('x\\.br\\y\\H\\b\\N\\\\Zabc\\\\.sp 2\\');
    expect(unescape('tail \\F', d)).toBe('tail \\F');
    expect(unescape('\\Xzz\\', d)).toBe('\\Xzz\\');
  });
  test('escape then unescape is the identity (with truncation char)', () => {
    const d5 = { ...d, truncation: '#' };
    const v = 'a|b^c~d\\e&f#g\r\nh';
    expect(escape(v, d5)).toBe('a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\P\\g\\X0D\\\\X0A\\h');
    expect(unescape(escape(v, d5), d5)).toBe(v);
    expect(unescape(escape(v, d), d)).toBe(v);
  });
  test('a 5-character MSH-2 declares the truncation char', () => {
    const m = Message.parse('MSH|^~\\&#|A\rNTE|1||x\\P\\y\r');
    expect(m.delimiters.truncation).toBe('#');
    expect(m.get('NTE-3')).toBe('x#y');
  });
});

describe('parse errors', () => {
  test.each([
    ['', 'HL7_EMPTY'],
    [' \r\n ', 'HL7_EMPTY'],
    ['PID|1\r', 'HL7_NO_MSH'],
    ['MSH', 'HL7_BAD_DELIMITERS'],
    ['MSH|^~\\', 'HL7_BAD_DELIMITERS'],
    ['MSH|^~\\^|A', 'HL7_BAD_DELIMITERS'],
    ['MSH|^~a&|A', 'HL7_BAD_DELIMITERS'],
    ['MSH|^~\\&|A\rPIDX|1', 'HL7_BAD_SEGMENT'],
    ['MSH|^~\\&|A\rP!D|1', 'HL7_BAD_SEGMENT'],
    ['MSH|^~\\&|A\r PID|1', 'HL7_BAD_SEGMENT'],
  ])('%j → %s', (text, code) => {
    expect(codeOf(() => Message.parse(text))).toBe(code);
  });
  test('codes carry HL70357 values and locations', () => {
    try {
      Message.parse('MSH|^^\\&|A');
    } catch (e) {
      expect(e).toMatchObject({ code: 'HL7_BAD_DELIMITERS', hl7Code: 102, location: { segment: 'MSH', field: 2 } });
    }
    try {
      Message.parse('MSH|^~\\&|A\rPID|1\r??|x');
    } catch (e) {
      expect(e).toMatchObject({ code: 'HL7_BAD_SEGMENT', hl7Code: 100, location: { sequence: 3 } });
    }
  });
  test('leading BOM and whitespace are skipped', () => {
    expect(Message.parse('\uFEFF\r\n  MSH|^~\\&|A\r').toString()).toBe('MSH|^~\\&|A\r');
  });
});

describe('MessageBuilder', () => {
  test('builds an escaped, parseable message', () => {
    const m = new MessageBuilder({
      messageType: 'ORU^R01^ORU_R01',
      sendingApplication: 'LAB^1.2.3^ISO',
      sendingFacility: 'LABO',
      controlId: 'C1',
      charset: 'UNICODE UTF-8',
      now: new Date(2025, 0, 2, 3, 4, 5),
    })
      .segment('PID', '1', '', ['123', '', '', 'HOSP&x'], '', ['DOE', 'JOHN'])
      .segment('OBX', '1', 'TX', 'code', '', 'a|b^c')
      .build();
    expect(m.toString()).toBe(
      'MSH|^~\\&|LAB^1.2.3^ISO|LABO|||20250102030405||ORU^R01^ORU_R01|C1|P|2.5||||||UNICODE UTF-8\rPID|1||123^^^HOSP\\T\\x||DOE^JOHN\rOBX|1|TX|code||a\\F\\b\\S\\c\r',
    );
    expect(m.get('OBX-5')).toBe('a|b^c');
    expect(m.get('PID-3.4')).toBe('HOSP&x');
    expect(m.get('MSH-18')).toBe('UNICODE UTF-8');
  });
  test('custom delimiters and generated control id', () => {
    const m = new MessageBuilder({ messageType: 'ACK^R01^ACK', delimiters: { field: '!', component: '@', repetition: '#', escape: '$', subcomponent: '?' } })
      .segment('MSA', 'AA', 'X!Y')
      .build();
    expect(m.getRaw('MSH-9')).toBe('ACK@R01@ACK');
    expect(m.get('MSA-2')).toBe('X!Y');
    expect(m.controlId).toMatch(/^\d{14}[0-9a-z]{6}$/);
    expect(codeOf(() => new MessageBuilder({ messageType: 'X' }).segment('MSH'))).toBe('HL7_BAD_SEGMENT');
  });
});

describe('splitBatch', () => {
  test('plain concatenation, FHS/BHS/BTS/FTS, stray lines', () => {
    const two = 'MSH|^~\\&|A||||||ADT^A01|1|P|2.5\nPID|1\nMSH|^~\\&|A||||||ADT^A01|2|P|2.5\nPID|2\n';
    expect(splitBatch(two).messages).toEqual(['MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1\r', 'MSH|^~\\&|A||||||ADT^A01|2|P|2.5\rPID|2\r']);
    const b = splitBatch(`FHS|^~\\&\rBHS|^~\\&\r${two}BTS|2\rFTS|1\r`);
    expect(b).toMatchObject({ header: 'FHS|^~\\&\rBHS|^~\\&', trailer: 'BTS|2\rFTS|1', declaredCount: 2 });
    expect(b.messages).toHaveLength(2);
    expect(codeOf(() => splitBatch('PID|1\rMSH|^~\\&|A\r'))).toBe('HL7_BAD_BATCH');
    expect(codeOf(() => splitBatch(''))).toBe('HL7_EMPTY');
  });
});

describe('robustness', () => {
  test('bounded fuzz: random bytes and mutated messages never crash or hang', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = 'MSH|^~\\&#PIDOBX\r\n 0A\u0000\u00e9\uFEFF';
    const t0 = Date.now();
    for (let i = 0; i < 2000; i++) {
      let text: string;
      if (i % 2 === 0) {
        text = Array.from({ length: rnd(80) }, () => alphabet[rnd(alphabet.length)]).join('');
        if (i % 4 === 0) text = 'MSH' + text;
      } else {
        const chars = ORU.split('');
        for (let k = 0; k < 1 + rnd(8); k++) chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)];
        text = chars.join('').slice(0, rnd(ORU.length + 1));
      }
      try {
        const m = Message.parse(text);
        m.get('PID-3[2].4.2');
        m.get('OBX[20]-5');
        m.count('OBX');
        m.set('PID-5.1', 'x|y');
        Message.parse(m.toString());
      } catch (e) {
        expect(e).toBeInstanceOf(Hl7Error);
      }
      expect(Message.parse(nakFromRaw(text, { hl7Code: 100, severity: 'E' })).get('MSA-1')).toBe('AR');
      try {
        splitBatch(text);
      } catch (e) {
        expect(e).toBeInstanceOf(Hl7Error);
      }
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

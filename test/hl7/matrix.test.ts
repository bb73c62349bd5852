/** baselines.md §2.2 correctness matrix, on the §2.1 ORU (bench/fixtures/oru.ts). */
import { Message } from '../../engine/hl7';
import { convert, INS_OID, oru1mb, oru4k, TX_VALUE, TX_VALUE_RAW } from './fixtures';

const ORU = oru4k();

describe('baselines §2.2 correctness matrix', () => {
  test('the fixture is the §2.1 message: 27 segments, ≈4 KB, 20 OBX', () => {
    const m = Message.parse(ORU);
    expect(m.segments()).toHaveLength(27);
    expect(m.count('OBX')).toBe(20);
    expect(Buffer.byteLength(ORU)).toBeGreaterThan(3500);
    expect(Buffer.byteLength(ORU)).toBeLessThan(5000);
  });

  test('byte-exact round-trip with trailing \\r', () => {
    expect(ORU.endsWith('\r')).toBe(true);
    expect(Message.parse(ORU).toString()).toBe(ORU);
  });

  test('byte-exact round-trip without trailing \\r', () => {
    const t = convert(ORU, { trailing: false });
    expect(t.endsWith('\r')).toBe(false);
    expect(Message.parse(t).toString()).toBe(t);
  });

  test('round-trip after reads only is still byte-exact; after a set only that segment changes', () => {
    const m = Message.parse(ORU);
    m.get('PID-3[2].4.2');
    m.get('OBX[20]-5');
    expect(m.toString()).toBe(ORU);
    m.set('OBX[20]-5', 'new');
    const lines = m.toString().split('\r');
    const orig = ORU.split('\r');
    expect(lines.filter((l, i) => l !== orig[i])).toEqual([orig[24].replace(TX_VALUE_RAW, 'new')]);
  });

  test('1 MB ED message: round-trip and ED.5 length', () => {
    const big = oru1mb();
    expect(big.length).toBeGreaterThan(1_000_000);
    const m = Message.parse(big);
    expect(m.toString()).toBe(big);
    const ed = m.segments('OBX').find((s) => s.get('2') === 'ED');
    expect(ed).toBeDefined();
    expect(ed?.get('5.5').length).toBe(Math.ceil(786432 / 3) * 4);
    expect(ed?.get('5.4')).toBe('Base64');
    // modifying another segment re-serialises but keeps the base64 intact
    m.set('MSH-10', 'X1');
    const out = m.toString();
    expect(out.length).toBe(big.length - 'MSG00001'.length + 2);
    expect(Message.parse(out).segments('OBX').find((s) => s.get('2') === 'ED')?.get('5.5')).toBe(ed?.get('5.5'));
  });

  test('PID-3 has 2 repetitions; PID-3[2].4.2 is the INS OID', () => {
    const m = Message.parse(ORU);
    expect(m.count('PID-3')).toBe(2);
    expect(m.get('PID-3[2].4.2')).toBe(INS_OID);
    expect(m.get('PID-3[1].4.2')).toBe('1.2.250.1.999.1');
    expect(m.get('PID-3.1')).toBe('123456'); // deeper path without [n] = repetition 1
    expect(m.count('PID-5')).toBe(2);
    expect(m.get('PID-5[2].1')).toBe('MARTIN');
  });

  test('TX unescape of \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ keeping \\.br\\', () => {
    const m = Message.parse(ORU);
    expect(m.get('OBX[20]-2')).toBe('TX');
    expect(m.get('OBX[20]-5')).toBe(TX_VALUE);
    expect(m.getRaw('OBX[20]-5')).toBe(TX_VALUE_RAW);
    expect(m.get('OBX[19]-5')).toBe('Limpide ~ clair');
  });

  test('escape on write: no delimiter injection', () => {
    const m = Message.parse(ORU);
    m.set('OBX[20]-5', 'a|b^c&d~e\\f');
    expect(m.getRaw('OBX[20]-5')).toBe('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f');
    const again = Message.parse(m.toString());
    expect(again.segment('OBX', 20)?.fieldCount()).toBe(Message.parse(ORU).segment('OBX', 20)?.fieldCount());
    expect(again.get('OBX[20]-5')).toBe('a|b^c&d~e\\f');
    m.set('OBX[20]-5', 'line1\r\nPID|injected');
    const third = Message.parse(m.toString());
    expect(third.count('PID')).toBe(1);
    expect(third.get('OBX[20]-5')).toBe('line1\r\nPID|injected');
  });

  test('custom delimiters from MSH-1/MSH-2 (!@#$?)', () => {
    const t = convert(ORU, { delimiters: '!@#$?' });
    const m = Message.parse(t);
    expect(m.delimiters).toEqual({ field: '!', component: '@', repetition: '#', escape: '$', subcomponent: '?' });
    expect(m.toString()).toBe(t);
    expect(m.get('PID-3[2].4.2')).toBe(INS_OID);
    expect(m.count('PID-3')).toBe(2);
    expect(m.get('OBX[20]-5')).toBe('Ratio A!B = 1@2, sub?comp, backslash $, rep#x$.br$Second line');
    expect(m.messageType).toBe('ORU^R01');
    m.set('PID-5[1].1', 'A!B');
    expect(m.getRaw('PID-5[1].1')).toBe('A$F$B');
  });

  test.each([
    ['\\n', '\n'],
    ['\\r\\n', '\r\n'],
  ] as const)('%s terminators: parsed, output normalised to \\r', (_label, term) => {
    for (const trailing of [true, false]) {
      const t = convert(ORU, { terminator: term, trailing });
      const m = Message.parse(t);
      expect(m.segments()).toHaveLength(27);
      expect(m.get('PID-3[2].4.2')).toBe(INS_OID);
      expect(m.toString()).toBe(convert(ORU, { trailing }));
    }
  });

  test('mixed terminators and trailing blank lines are tolerated', () => {
    const lines = ORU.split('\r').slice(0, -1);
    const mixed = lines.map((l, i) => l + (i % 3 === 0 ? '\r\n' : i % 3 === 1 ? '\n' : '\r')).join('') + '\n\n  \n';
    const m = Message.parse(mixed);
    expect(m.segments()).toHaveLength(27);
    expect(m.toString()).toBe(ORU);
  });
});

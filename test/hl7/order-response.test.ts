import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, buildOrderResponseText, decode } from '../../engine/hl7';

const SAMPLE = decode(readFileSync(join(resolve(__dirname, '../..'), 'samples', 'oml-o21_ltw_order.hl7'))).text;
const answer = (text: string): { msg: Message; accepted: boolean } => {
  const r = buildOrderResponseText(Message.parse(text), { controlId: 'ACK1', now: new Date('2026-11-25T08:10:00Z') });
  return { msg: Message.parse(r.text), accepted: r.accepted };
};
const lines = (m: Message, name: string): string[] => m.segments(name).map((s) => s.toString());

describe('order responses (LTW LAB-1)', () => {
  test('OML^O21 gets ORL^O22 with MSA AA, the PID sent, and the order OK with its numbers and test', () => {
    const { msg, accepted } = answer(SAMPLE);
    expect(accepted).toBe(true);
    expect(msg.get('MSH-9')).toBe('ORL^O22^ORL_O22');
    expect([msg.get('MSH-3'), msg.get('MSH-5'), msg.get('MSH-10'), msg.get('MSH-18')]).toEqual(['SIL-LABO', 'DPI', 'ACK1', 'UNICODE UTF-8']);
    expect([msg.get('MSA-1'), msg.get('MSA-2')]).toEqual(['AA', 'SMP-OML-0001']);
    expect(msg.segments('ERR')).toHaveLength(0);
    expect(msg.get('PID-3[2].1')).toBe('248092A20345642');
    expect(lines(msg, 'ORC')).toEqual(['ORC|OK|CMD-0002^DPI|']);
    expect(lines(msg, 'OBR')).toEqual(['OBR|1|CMD-0002^DPI||24326-1^Ionogramme sanguin^LN']);
    // Segment order of ORL_O22: MSH MSA [ERR] PID {ORC [OBR]}.
    expect(msg.segments().map((s) => s.name)).toEqual(['MSH', 'MSA', 'PID', 'ORC', 'OBR']);
  });

  test('a cancel request is answered CR; ORM^O01 gets ORR^O02', () => {
    const cancel = SAMPLE.replace('ORC|NW|', 'ORC|CA|').replace('OML^O21^OML_O21', 'ORM^O01^ORM_O01');
    const { msg, accepted } = answer(cancel);
    expect(accepted).toBe(true);
    expect(msg.get('MSH-9')).toBe('ORR^O02^ORR_O02');
    expect(msg.get('ORC-1')).toBe('CR');
  });

  test('an order that cannot be accepted is UA with an ERR naming the field, and MSA AE', () => {
    const twoOrders = SAMPLE.replace(/(SPM\|[^\r]*)/, '$1\rORC|NW|CMD-0003^DPI\rOBR|2|CMD-0003^DPI||\rORC|ZZ|CMD-0004^DPI\rOBR|3|CMD-0004^DPI||2345-7^Glucose^LN');
    const { msg, accepted } = answer(twoOrders);
    expect(accepted).toBe(false);
    expect(msg.get('MSA-1')).toBe('AE');
    expect(msg.segments('ORC').map((s) => s.get('1'))).toEqual(['OK', 'UA', 'UA']);
    expect(lines(msg, 'ERR')).toEqual([
      'ERR||OBR^2^4|101^Required field missing^HL70357|E||||the order names no test (OBR-4)',
      'ERR||ORC^3^1|103^Table value not found^HL70357|E||||order control ZZ is not one this lab follows (NW, CA, XO, SC)',
    ]);
  });

  test('an order message without ORC, or with an OBR before any ORC, is refused with ERR 100', () => {
    const noOrc = SAMPLE.replace(/ORC\|[^\r]*\r/, '');
    const { msg, accepted } = answer(noOrc);
    expect(accepted).toBe(false);
    expect(msg.segments('ERR').map((s) => s.get('3.1'))).toEqual(['100', '100']);
    expect(msg.segments('ORC')).toHaveLength(0);
  });
});

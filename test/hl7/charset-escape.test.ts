/** Outbound to a single-byte charset: characters it cannot hold travel as \Xhh..\ (UTF-8 bytes), not '?'. */
import { Message, decode, encode } from '../../engine/hl7';

const text = (nte: string, msh18 = '8859/15'): string =>
  `MSH|^~\\&|LAB|SITE|DPI|HOSP|20261126101500||ORU^R01^ORU_R01|X1|P|2.5|||||FRA|${msh18}\rNTE|1|L|${nte}\r`;

test('ISO 8859-15 keeps € Œ é as single bytes and escapes ≥ — “ ” and an emoji as their UTF-8 bytes', () => {
  const bytes = encode(text('Œuvre € ≥ 5 µmol/l — “ok” 😀 é'), 'iso-8859-15', { escape: '\\' });
  const wire = bytes.toString('latin1');
  expect(wire).toContain('NTE|1|L|\xbcuvre \xa4 \\XE289A5\\ 5 \xb5mol/l \\XE28094\\ \\XE2809C\\ok\\XE2809D\\ \\XF09F9880\\ \xe9\r');
  expect(wire).not.toContain('?');
  // Read back: the same text.
  expect(Message.parse(decode(bytes).text).get('NTE-3')).toBe('Œuvre € ≥ 5 µmol/l — “ok” 😀 é');
});

test("the message's own escape character is used; ASCII escapes every non-ASCII character", () => {
  const t = 'MSH|^~#&|LAB|SITE|DPI|HOSP|20261126101500||ORU^R01^ORU_R01|X2|P|2.5|||||FRA|ASCII\rNTE|1|L|é€\r';
  expect(encode(t, 'ascii', { escape: '#' }).toString('latin1')).toContain('NTE|1|L|#XC3A9##XE282AC#\r');
});

test("ISO 8859-1 holds é but not €; without an escape character the old '?' remains", () => {
  expect(encode(text('é €', '8859/1'), 'iso-8859-1', { escape: '\\' }).toString('latin1')).toContain('NTE|1|L|\xe9 \\XE282AC\\\r');
  expect(encode(text('é ≥'), 'iso-8859-15').toString('latin1')).toContain('NTE|1|L|\xe9 ?\r');
});

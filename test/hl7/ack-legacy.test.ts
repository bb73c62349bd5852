/** ERR in the layout the partner's version reads: ERR-1 (CM/ELD) for v2.3/v2.4, ERR-2..8 for v2.5+. */
import { Message, buildAck } from '../../engine/hl7';

const msg = (version: string): Message =>
  Message.parse(`MSH|^~\\&|LIS|LAB|EAI|HOSP|20261125120000||ORU^R01|M1|P|${version}\rPID|1||7^^^H^PI\r`);
const missingPid5 = { hl7Code: 101, severity: 'E' as const, location: { segment: 'PID', sequence: 1, field: 5 }, userMessage: 'PID-5 is required' };

test.each(['2.3', '2.3.1', '2.4'])('v%s: ERR-1 = segment^sequence^field^code&text&HL70357, the text in MSA-3', (version) => {
  const ack = buildAck(msg(version), { code: 'AE', errors: [missingPid5] });
  const err = ack.toString().split('\r').find((l) => l.startsWith('ERR'))!;
  expect(err).toBe('ERR|PID^1^5^101&Required field missing&HL70357');
  expect(ack.get('MSA-3')).toBe('PID-5 is required');
  expect(ack.get('MSH-12')).toBe(version);
});

test.each(['2.5', '2.5.1', '2.6'])('v%s: ERR-2 location, ERR-3 code, ERR-4 severity, no MSA-3', (version) => {
  const ack = buildAck(msg(version), { code: 'AE', errors: [missingPid5] });
  expect([ack.get('ERR-1'), ack.get('ERR-2'), ack.get('ERR-3.1'), ack.get('ERR-4'), ack.get('ERR-8')]).toEqual(['', 'PID^1^5', '101', 'E', 'PID-5 is required']);
  expect(ack.get('MSA-3')).toBe('');
});

test('the layout can be forced either way', () => {
  expect(buildAck(msg('2.5'), { code: 'AE', errors: [missingPid5], errLayout: 'v2.3' }).get('ERR-1.4.1')).toBe('101');
  expect(buildAck(msg('2.3'), { code: 'AE', errors: [missingPid5], errLayout: 'v2.5' }).get('ERR-3.1')).toBe('101');
});

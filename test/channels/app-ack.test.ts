/** Which application ACK code a terminal state gets, and when MSH-16 wants one. */
import { Message } from '../../engine/hl7';
import { appAckCode, wantsAppAck } from '../../engine/channels/app-ack';

test('done and filtered → AA; dead for content → AE; dead after retries of a passing failure → AR', () => {
  expect(appAckCode('done', null)).toBe('AA');
  expect(appAckCode('filtered', null)).toBe('AA');
  expect(appAckCode('dead', 'down: PSL_DEST_NAK_ERROR: AE from peer')).toBe('AE');
  expect(appAckCode('dead', 'PSL_TRANSFORM_FAILED: boom')).toBe('AE');
  expect(appAckCode('dead', 'down: PSL_DEST_CONNECT: refused')).toBe('AR');
  expect(appAckCode('dead', 'eai: PSL_DEST_ACK_TIMEOUT: no ACK')).toBe('AR');
  expect(appAckCode('dead', 'something uncoded')).toBe('AE');
});

test('MSH-16: AL always, ER on AE/AR, SU on AA, NE/empty/original mode never', () => {
  const m = (m15: string, m16: string): Message => Message.parse(`MSH|^~\\&|A|B|C|D|2026||ORU^R01|1|P|2.5|||${m15}|${m16}\r`);
  expect(['AA', 'AE', 'AR'].map((c) => wantsAppAck(m('AL', 'AL'), c as 'AA'))).toEqual([true, true, true]);
  expect(['AA', 'AE', 'AR'].map((c) => wantsAppAck(m('AL', 'ER'), c as 'AA'))).toEqual([false, true, true]);
  expect(['AA', 'AE', 'AR'].map((c) => wantsAppAck(m('AL', 'SU'), c as 'AA'))).toEqual([true, false, false]);
  expect(['AA', 'AE'].map((c) => wantsAppAck(m('AL', 'NE'), c as 'AA'))).toEqual([false, false]);
  expect(wantsAppAck(m('AL', ''), 'AE')).toBe(false);
  expect(wantsAppAck(m('', ''), 'AE')).toBe(false);
});

/**
 * The OML^O21 of a sub-order (IHE ILW LAB-35): the order's PID as the placer sent it, then one
 * ORC (NW, or CA to cancel) with our sub-order number in ORC-2 and the order's filler number in
 * ORC-4 (placer group: the main report it belongs to), one OBR per test, and the specimens.
 * Its MSH-10 is deterministic (a resend after a lost answer carries the same one, for the
 * subcontractor to dedupe).
 */
import { Message, MessageBuilder, delimitersFrom, hl7Timestamp } from '../hl7';
import type { OrderState, SubOrder } from './state';

export interface SubOrderHeader {
  application: string;
  facility: string;
  receivingApplication: string;
  receivingFacility: string;
}

export function subOrderControlId(sub: SubOrder, control: 'NW' | 'CA'): string {
  return `${sub.number}.${control}`.slice(0, 20);
}

export function buildSubOrder(order: OrderState, sub: SubOrder, control: 'NW' | 'CA', h: SubOrderHeader, now = new Date()): Message {
  const d = delimitersFrom(order.encoding[0] ?? '|', order.encoding.slice(1) || '^~\\&');
  const b = new MessageBuilder({
    delimiters: d,
    messageType: 'OML^O21^OML_O21',
    sendingApplication: sub.authority,
    sendingFacility: h.facility,
    receivingApplication: h.receivingApplication,
    receivingFacility: h.receivingFacility,
    controlId: subOrderControlId(sub, control),
    charset: 'UNICODE UTF-8',
    now,
  });
  const placer = [sub.number, sub.authority];
  const group = order.filler ? [order.filler.number, order.filler.authority] : [order.placer.number, order.placer.authority];
  const p = order.prescriber;
  const prescriber = p ? [p.id ?? '', p.family ?? '', p.given ?? ''] : '';
  b.segment('ORC', control, placer, '', group, '', '', '', '', '', hl7Timestamp(now), '', '', prescriber);
  const tests = order.tests.filter((t) => t.subOrder === sub.number);
  tests.forEach((t, i) => b.segment('OBR', String(i + 1), placer, '', [t.code.code, t.code.display ?? '', t.code.systemName ?? '']));
  order.specimens.forEach((s, i) => b.segment('SPM', String(i + 1), s.id, '', s.type ? [s.type.code, s.type.display ?? '', s.type.systemName ?? ''] : ''));
  const text = b.build().toString();
  // The PID goes in as received (same delimiters: the builder used the order's).
  const at = text.indexOf('\r') + 1;
  const withPid = order.pid ? text.slice(0, at) + order.pid + '\r' + text.slice(at) : text;
  return Message.parse(withPid);
}

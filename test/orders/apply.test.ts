/**
 * Orders as data (issue 8, item 3): a requisition's placer orders, NW / XO / CA / SC each
 * speaking for its own placer number, sub-orders for the tests a subcontractor does.
 */
import { Message } from '../../engine/hl7';
import { applyOrderChange, orderChanges, type OrderState, type SubcontractRule } from '../../engine/orders';

const RULES: SubcontractRule[] = [{ subcontractor: 'labo-specialise', finess: '750000009', tests: ['1989-3'] }];
const PID = 'PID|1||123456^^^CHU-DEMO&1.2.250.1.999.1.2&ISO^PI~248092A20345642^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||TEST-DEMO^PATIENTE^^^^^L||19480920|F';

function oml(control: string, groups: [placer: string, test: string][], group = 'GRP-0001'): Message {
  const lines = ['MSH|^~\\&|DPI|CHU-DEMO|SIL-LABO|LABO-DEMO|20261125081000||OML^O21^OML_O21|X|P|2.5', PID];
  groups.forEach(([placer, test], i) => {
    lines.push(`ORC|${control}|${placer}^DPI||${group}^DPI|||||20261125080500|||10003456789^MEDECIN^Prescripteur`);
    lines.push(`OBR|${i + 1}|${placer}^DPI||${test}`);
  });
  lines.push('SPM|1|SPM-1&DPI||SER^Sérum^HL70487|||||||||||||20261125080000');
  return Message.parse(lines.join('\r'));
}

function run(state: OrderState | undefined, msg: Message, id: string): OrderState {
  for (const c of orderChanges(msg, 'CHU-DEMO')) state = applyOrderChange(state, c, id, 'SIL-LABO', RULES).state;
  return state!;
}

test('a requisition of two placer orders: one record, both tests, the subcontracted one in a sub-order to number', () => {
  const s = run(undefined, oml('NW', [['CMD-1', '24321-2^Bilan métabolique^LN'], ['CMD-2', '1989-3^Vitamine D^LN']]), 'm1');
  expect(s.key).toBe('DPI|GRP-0001');
  expect(s.placers).toEqual(['CMD-1', 'CMD-2']);
  expect(s.tests.map((t) => [t.placer, t.code.code, !!t.cancelled])).toEqual([['CMD-1', '24321-2', false], ['CMD-2', '1989-3', false]]);
  expect(s.subOrders).toEqual([{ number: '', authority: 'SIL-LABO', subcontractor: 'labo-specialise', finess: '750000009', tests: ['1989-3^LN'], state: 'to-send' }]);
  expect(s.prescriber?.id).toBe('10003456789');
  expect(s.specimens[0]?.id).toBe('SPM-1');
  expect(s.patient.ins).toBe('1.2.250.1.213.1.4.10:248092A20345642');
  expect(s.status).toBe('SC');
});

test('the same message applied twice changes nothing', () => {
  const msg = oml('NW', [['CMD-1', '24321-2^Bilan^LN']]);
  const s = run(undefined, msg, 'm1');
  const again = applyOrderChange(s, orderChanges(msg, 'CHU-DEMO')[0]!, 'm1', 'SIL-LABO', RULES);
  expect(again.changed).toBe(false);
  expect(again.state).toBe(s);
});

test('CA of one placer order cancels its tests only, and asks the subcontractor to cancel a sub-order left without tests', () => {
  let s = run(undefined, oml('NW', [['CMD-1', '24321-2^Bilan^LN'], ['CMD-2', '1989-3^Vitamine D^LN']]), 'm1');
  s.subOrders[0]!.number = 'SUB-0001';
  s.tests[1]!.subOrder = 'SUB-0001';
  s = run(s, oml('CA', [['CMD-2', '1989-3^Vitamine D^LN']]), 'm2');
  expect(s.tests.map((t) => !!t.cancelled)).toEqual([false, true]);
  expect(s.subOrders[0]!.state).toBe('cancel-to-send');
  expect(s.status).toBe('SC');
  s = run(s, oml('CA', [['CMD-1', '24321-2^Bilan^LN']]), 'm3');
  expect(s.status).toBe('CA');
});

test('XO replaces one placer order\'s tests: the old one cancelled, the new one added (and sub-ordered when a rule says so)', () => {
  let s = run(undefined, oml('NW', [['CMD-1', '24321-2^Bilan^LN']]), 'm1');
  s = run(s, oml('XO', [['CMD-1', '1989-3^Vitamine D^LN']]), 'm2');
  expect(s.tests.map((t) => [t.code.code, !!t.cancelled])).toEqual([['24321-2', true], ['1989-3', false]]);
  expect(s.subOrders.map((x) => x.state)).toEqual(['to-send']);
});

test('SC records the status the placer sends in ORC-5', () => {
  let s = run(undefined, oml('NW', [['CMD-1', '24321-2^Bilan^LN']]), 'm1');
  const sc = Message.parse(oml('SC', [['CMD-1', '24321-2^Bilan^LN']]).toString().replace('|GRP-0001^DPI|', '|GRP-0001^DPI|IP|'));
  s = run(s, sc, 'm2');
  expect(s.status).toBe('IP');
  expect(s.history.map((h) => h.status)).toEqual(['SC', 'IP']);
});

test('ORM^O01 orders are read the same way: its ORC / OBR groups, the placer namespace from MSH-4 when ORC-2 has none', () => {
  const orm = Message.parse(
    ['MSH|^~\\&|DPI|CHU-DEMO|SIL-LABO|LABO-DEMO|20261125081000||ORM^O01^ORM_O01|Y|P|2.3', PID, 'ORC|NW|CMD-9||||||||||', 'OBR|1|CMD-9||2951-2^Sodium^LN'].join('\r'),
  );
  const s = run(undefined, orm, 'm1');
  expect(s.key).toBe('CHU-DEMO|CMD-9');
  expect(s.tests.map((t) => t.key)).toEqual(['2951-2^LN']);
  expect(s.subOrders).toEqual([]);
});

/**
 * An order message (OML^O21, ORM^O01) → one change per order group (ORC + TQ1 + OBR + SPM…),
 * in message order. The groups' structure was checked at intake (hl7/order-response.ts): what
 * reaches here was answered OK / CR.
 */
import { encodingCharacters, type Message, type Segment } from '../hl7';
import type { Coded, Professional } from '../lab';
import { readCoded, readTs, readXcn } from '../lab/hl7-fields';
import { readPatient } from '../lab/patient';
import { patientKeys } from '../reports';
import type { OrderStatus, OrderState } from './state';

export interface OrderChange {
  /** ORC-1. */
  control: 'NW' | 'XO' | 'CA' | 'SC';
  placer: { number: string; authority: string };
  filler?: { number: string; authority: string };
  group?: string;
  /** ORC-5, when sent and one we follow. */
  status?: OrderStatus;
  tests: Coded[];
  specimens: OrderState['specimens'];
  prescriber?: Professional;
  patient: OrderState['patient'];
  pid: string;
  encoding: string;
}

const STATUSES: ReadonlySet<string> = new Set(['SC', 'IP', 'A', 'CM', 'CA']);

/** `<code>^<system>` of a test. */
export function testKey(c: Coded): string {
  return `${c.code}^${c.systemName ?? ''}`;
}

/** The order changes a message asks for; `defaultAuthority` (MSH-4) names a placer number sent without its namespace. */
export function orderChanges(msg: Message, defaultAuthority: string): OrderChange[] {
  const pidSeg = msg.segment('PID');
  const pid = pidSeg?.toString() ?? '';
  const patient = pidSeg ? patientKeys(readPatient(pidSeg)) : { local: [] };
  const encoding = msg.delimiters.field + encodingCharacters(msg.delimiters);
  const changes: OrderChange[] = [];
  let current: { orc: Segment; obrs: Segment[]; spms: Segment[] } | undefined;
  const groups: (typeof current & object)[] = [];
  for (const seg of msg.segments()) {
    if (seg.name === 'ORC') groups.push((current = { orc: seg, obrs: [], spms: [] }));
    else if (seg.name === 'OBR') current?.obrs.push(seg);
    else if (seg.name === 'SPM') current?.spms.push(seg);
  }
  for (const g of groups) {
    const control = g.orc.get('1').trim().toUpperCase();
    if (control !== 'NW' && control !== 'XO' && control !== 'CA' && control !== 'SC') continue;
    const obr = g.obrs[0];
    const number = g.orc.get('2.1') || obr?.get('2.1') || '';
    if (number === '') continue;
    const authority = (g.orc.get('2.1') ? g.orc.get('2.2') : obr?.get('2.2')) || defaultAuthority;
    const change: OrderChange = {
      control,
      placer: { number, authority },
      tests: g.obrs.map((o) => readCoded(o, '4')).filter((c): c is Coded => !!c && c.code !== ''),
      specimens: g.spms.map((s) => {
        const sp: OrderState['specimens'][number] = { id: s.get('2.1.1') || s.get('2.1') };
        const type = readCoded(s, '4');
        if (type) sp.type = type;
        const at = readTs(s, '17');
        if (at) sp.collectedAt = at;
        return sp;
      }),
      patient,
      pid,
      encoding,
    };
    const fillerNumber = g.orc.get('3.1') || obr?.get('3.1') || '';
    if (fillerNumber) change.filler = { number: fillerNumber, authority: (g.orc.get('3.1') ? g.orc.get('3.2') : obr?.get('3.2')) ?? '' };
    const group = g.orc.get('4.1');
    if (group) change.group = group;
    const status = g.orc.get('5').trim().toUpperCase();
    if (STATUSES.has(status)) change.status = status as OrderStatus;
    const prescriber = readXcn(g.orc, '12') ?? (obr && readXcn(obr, '16'));
    if (prescriber) change.prescriber = prescriber;
    changes.push(change);
  }
  return changes;
}

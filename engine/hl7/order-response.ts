/**
 * Answers to lab orders (IHE LTW LAB-1, ../shared/docs/hl7-lab.md §2 and §5.1): OML^O21 gets
 * ORL^O22^ORL_O22 and ORM^O01 gets ORR^O02^ORR_O02 instead of a bare ACK, with each order's
 * status in its ORC-1: OK (accepted) or UA (unable to accept, with an ERR saying why) for a new
 * order, a change (XO) or a status change (SC); CR (cancelled as requested) or UC (unable to
 * cancel) for a cancel request (CA).
 *
 * The order groups are checked here, as data: every order starts with an ORC whose ORC-1 is a
 * code we follow; a new order names its placer number (ORC-2, else OBR-2) and at least one test
 * (OBR-4). An order with a problem is UA / UC; the message is accepted only when every order is.
 */
import { buildAckText, type AckOptions, type ErrDetail } from './ack';
import type { Message, Segment } from './message';

export type OrderAnswer = 'OK' | 'UA' | 'CR' | 'UC';

/** ORC-1 codes a placer sends that we answer (others are refused with ERR 103). */
const FOLLOWED = new Set(['NW', 'CA', 'XO', 'SC']);

export interface OrderGroup {
  /** 1-based, in message order. */
  index: number;
  orc: Segment;
  /** The group's OBR (OML OBSERVATION_REQUEST, ORM ORDER_DETAIL), when sent. */
  obr?: Segment;
  /** ORC-1, upper-cased. */
  control: string;
  problems: ErrDetail[];
}

/** `OML^O21` or `ORM^O01` when `msg` is an order message we answer, else undefined. */
export function orderMessageType(msg: Message): 'OML^O21' | 'ORM^O01' | undefined {
  const t = `${msg.get('MSH-9.1')}^${msg.get('MSH-9.2')}`.toUpperCase();
  return t === 'OML^O21' || t === 'ORM^O01' ? t : undefined;
}

/** The message's order groups, and problems of the message as a whole (no order at all, an OBR outside any order). */
export function orderGroups(msg: Message): { groups: OrderGroup[]; errors: ErrDetail[] } {
  const groups: OrderGroup[] = [];
  const errors: ErrDetail[] = [];
  const seq = new Map<string, number>();
  for (const seg of msg.segments()) {
    const n = (seq.get(seg.name) ?? 0) + 1;
    seq.set(seg.name, n);
    if (seg.name === 'ORC') {
      const control = seg.get('1').trim().toUpperCase();
      groups.push({ index: groups.length + 1, orc: seg, control, problems: [] });
    } else if (seg.name === 'OBR') {
      const g = groups[groups.length - 1];
      if (!g) errors.push({ hl7Code: 100, severity: 'E', location: { segment: 'OBR', sequence: n }, userMessage: 'OBR outside an order: each order starts with its ORC' });
      else if (!g.obr) g.obr = seg;
    }
  }
  if (groups.length === 0) errors.push({ hl7Code: 100, severity: 'E', location: { segment: 'ORC', sequence: 1 }, userMessage: 'no order: an order message holds at least one ORC' });
  for (const g of groups) {
    const at = { segment: 'ORC', sequence: g.index };
    if (g.control === '') g.problems.push({ hl7Code: 101, severity: 'E', location: { ...at, field: 1 }, userMessage: 'ORC-1 (order control) is empty' });
    else if (!FOLLOWED.has(g.control)) g.problems.push({ hl7Code: 103, severity: 'E', location: { ...at, field: 1 }, userMessage: `order control ${g.control} is not one this lab follows (NW, CA, XO, SC)` });
    if (g.control === 'NW' || g.control === 'XO') {
      if (!g.orc.get('2.1') && !g.obr?.get('2.1')) g.problems.push({ hl7Code: 101, severity: 'E', location: { ...at, field: 2 }, userMessage: 'placer order number missing (ORC-2, OBR-2)' });
      if (!g.obr?.get('4.1')) g.problems.push({ hl7Code: 101, severity: 'E', location: { segment: 'OBR', sequence: g.index, field: 4 }, userMessage: 'the order names no test (OBR-4)' });
    }
  }
  return { groups, errors };
}

/** The placer order a group names: ORC-2 (else OBR-2) and its namespace, else `defaultAuthority`. */
export function placerOf(g: OrderGroup, defaultAuthority: string): { number: string; authority: string } | undefined {
  const fromOrc = g.orc.get('2.1') !== '';
  const number = fromOrc ? g.orc.get('2.1') : g.obr?.get('2.1') ?? '';
  if (number === '') return undefined;
  return { number, authority: (fromOrc ? g.orc.get('2.2') : g.obr?.get('2.2')) || defaultAuthority };
}

/** What an order gets: OK / CR when it has no problem, UA / UC when it has. */
export function answerFor(g: OrderGroup): OrderAnswer {
  if (g.control === 'CA') return g.problems.length === 0 ? 'CR' : 'UC';
  return g.problems.length === 0 ? 'OK' : 'UA';
}

/**
 * The ORL^O22 / ORR^O02 text answering `msg` (same delimiters and charset as an ACK): MSA AA
 * when every order is OK / CR, else AE (the message is then not taken), the ERRs, the PID sent,
 * and per order its ORC with the answer in ORC-1 and the placer / filler numbers sent, then its
 * OBR (set id, placer, filler, test).
 */
export function buildOrderResponseText(
  msg: Message,
  opts: Omit<AckOptions, 'code' | 'errors' | 'responseType' | 'body'> & {
    warnings?: ErrDetail[];
    /** Why the lab cannot cancel, per order group index (1-based): the answer is UC with this text. */
    cannotCancel?: ReadonlyMap<number, string>;
  },
): { text: string; accepted: boolean } {
  const type = orderMessageType(msg);
  if (!type) throw new TypeError(`not an order message: ${msg.messageType}`);
  const { groups, errors } = orderGroups(msg);
  for (const g of groups) {
    const why = g.control === 'CA' ? opts.cannotCancel?.get(g.index) : undefined;
    if (why) g.problems.push({ hl7Code: 207, severity: 'E', location: { segment: 'ORC', sequence: g.index, field: 1 }, userMessage: why });
  }
  const answers = groups.map(answerFor);
  const accepted = errors.length === 0 && answers.every((a) => a === 'OK' || a === 'CR');
  const f = msg.delimiters.field;
  const body: string[] = [];
  const pid = msg.segment('PID');
  if (pid) body.push(pid.toString());
  groups.forEach((g, i) => {
    body.push(['ORC', answers[i], g.orc.getRaw('2'), g.orc.getRaw('3')].join(f));
    if (g.obr) body.push(['OBR', String(g.index), g.obr.getRaw('2'), g.obr.getRaw('3'), g.obr.getRaw('4')].join(f));
  });
  const { warnings: _w, cannotCancel: _c, ...ackOpts } = opts;
  const text = buildAckText(msg, {
    ...ackOpts,
    // An application answer (AA / AE), also in enhanced mode: the orders' fate, not the transport's.
    code: accepted ? 'AA' : 'AE',
    errors: [...errors, ...groups.flatMap((g) => g.problems), ...(opts.warnings ?? [])],
    responseType: type === 'OML^O21' ? ['ORL', 'O22', 'ORL_O22'] : ['ORR', 'O02', 'ORR_O02'],
    body,
  });
  return { text, accepted };
}

import { Message } from '../../engine/hl7';
import { PasserelleError } from '../../engine/errors';
import { reportFromMessage, type Transcoding } from '../../engine/lab';
import type { Result, ResultValue } from '../../engine/lab';
import { applyUpdate, pendingObservations, splitByReport, type ApplyOutcome, type ReportState, type ReportUpdate } from '../../engine/reports';

// Test identities only (INS test OID 1.2.250.1.213.1.4.10).
const INS = '248092A20345642';
const PID = (ins = INS, ipp = '123456'): string =>
  `PID|1||${ipp}^^^CHU-DEMO&1.2.250.1.999.1.2&ISO^PI~${ins}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||TEST-DEMO^PATIENTE^^^^^L||19480920|F|||||||||||||||||||||||VALI`;
const PID_NO_INS = 'PID|1||123456^^^CHU-DEMO&1.2.250.1.999.1.2&ISO^PI||TEST-DEMO^PATIENTE^^^^^L||19480920|F';

interface Obx {
  code: string;
  value: string;
  status: string;
  at?: string;
  sub?: string;
}
const GLU = '2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN';
const CREA = '2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN';
const K = '2823-3^Potassium [Moles/Volume] Sérum/Plasma^LN';

function oru(id: string, obx: Obx[], opts: { pid?: string; filler?: string; obr25?: string; obr22?: string } = {}): Message {
  const lines = [
    `MSH|^~\\&|SIL-LABO|LABO-DEMO|DPI|CHU-DEMO|20261125101500||ORU^R01^ORU_R01|${id}|P|2.5|||||FRA|UNICODE UTF-8`,
    opts.pid ?? PID(),
    `ORC|RE|CMD-0001^DPI|${opts.filler ?? 'LAB-2611-0042^SIL-LABO'}||CM`,
    `OBR|1|CMD-0001^DPI|${opts.filler ?? 'LAB-2611-0042^SIL-LABO'}|24321-2^Bilan métabolique^LN|||20261125073000|||||||||||||||${opts.obr22 ?? ''}|||${opts.obr25 ?? 'F'}`,
    ...obx.map(
      (o, i) =>
        `OBX|${i + 1}|${o.value === '' ? '' : 'NM'}|${o.code}|${o.sub ?? ''}|${o.value}|mg/L^mg/L^UCUM|||||${o.status}|||20261125073000|||||${o.at ?? ''}`,
    ),
  ];
  return Message.parse(lines.join('\r'));
}

function update(msg: Message, withdrawalsOnly = false): ReportUpdate {
  const report = reportFromMessage(msg, { withdrawalsOnly });
  const { updates } = splitByReport(report, msg.controlId, 'LABO-DEMO');
  expect(updates).toHaveLength(1);
  return updates[0]!;
}

function applied(o: ApplyOutcome): Extract<ApplyOutcome, { kind: 'applied' }> {
  if (o.kind !== 'applied') throw new Error(`not applied: ${o.detail}`);
  return o;
}

/** Applies messages in order; returns the last outcome. */
function run(...msgs: Message[]): Extract<ApplyOutcome, { kind: 'applied' }> {
  let state: ReportState | undefined;
  let last: Extract<ApplyOutcome, { kind: 'applied' }> | undefined;
  for (const m of msgs) {
    last = applied(applyUpdate(state, update(m)));
    state = last.state;
  }
  return last!;
}

const num = (v: ResultValue | undefined): string => {
  if (v?.type !== 'NM') throw new Error(`not NM: ${v?.type}`);
  return v.value;
};
const current = (s: ReportState, code: string): Result | undefined => s.observations.find((e) => e.key.startsWith(`${code}|`))?.current;

describe('a report across messages', () => {
  test('a correction carrying only the changed OBX replaces that value, keeps the others, and keeps the old value in history', () => {
    const v1 = oru('M1', [
      { code: GLU, value: '0.95', status: 'F' },
      { code: CREA, value: '9.8', status: 'F' },
    ]);
    const v2 = oru('M2', [{ code: CREA, value: '8.9', status: 'C' }], { obr25: 'C' });
    const out = run(v1, v2);
    expect(out.changes).toContainEqual({ kind: 'updated', key: '2160-0||', endedBy: 'correction' });
    expect(num(current(out.state, '2160-0')?.value)).toBe('8.9');
    expect(current(out.state, '2160-0')?.status).toBe('corrected');
    expect(num(current(out.state, '2345-7')?.value)).toBe('0.95');
    const crea = out.state.observations.find((e) => e.key === '2160-0||')!;
    expect(crea.history.map((h) => [num(h.result.value), h.messageId, h.endedBy])).toEqual([['9.8', 'M1', 'correction']]);
    expect(out.state.revision).toBe(2);
    expect(out.state.messages).toEqual(['M1', 'M2']);
  });

  test("a LOINC the lab's transcoding gave is not part of the observation: a correction after the transcoding changed replaces the value", () => {
    const transcoding = (loinc: string): Transcoding => ({
      catalogue: { chapters: [], exams: [], analyses: [] },
      loinc: { chapters: new Map(), subChapters: new Map(), exams: new Map(), analyses: new Map([['VS', { loinc, created: '2026-12-01', modified: '2026-12-01' }]]) },
    });
    const upd = (m: Message, t: Transcoding): ReportUpdate => splitByReport(reportFromMessage(m, { transcoding: t }), m.controlId, 'LABO-DEMO').updates[0]!;
    const v1 = oru('T1', [{ code: 'VS^Vitesse de sédimentation^L', value: '12', status: 'F' }]);
    const v2 = oru('T2', [{ code: 'VS^Vitesse de sédimentation^L', value: '14', status: 'C' }], { obr25: 'C' });
    const first = applied(applyUpdate(undefined, upd(v1, transcoding('4537-7'))));
    expect(first.state.observations[0]!.current!.code.loinc?.code).toBe('4537-7');
    // The provider's next file changed VS's LOINC (30341-2: ESR by another method) before the correction came.
    const out = applied(applyUpdate(first.state, upd(v2, transcoding('30341-2'))));
    expect(out.state.observations).toHaveLength(1);
    expect(out.changes).toContainEqual({ kind: 'updated', key: '|VS^L|', endedBy: 'correction' });
    expect(num(out.state.observations[0]!.current!.value)).toBe('14');
    expect(out.state.observations[0]!.current!.code.loinc?.code).toBe('30341-2');
  });

  test('partial then final: pending and preliminary results are completed by the later snapshot', () => {
    const partial = oru('P1', [
      { code: GLU, value: '0.95', status: 'P' },
      { code: CREA, value: '', status: 'I' },
    ], { obr25: 'P' });
    const first = run(partial);
    expect(pendingObservations(first.state)).toEqual(['2345-7||', '2160-0||']);
    const final = oru('F1', [
      { code: GLU, value: '0.96', status: 'F' },
      { code: CREA, value: '9.8', status: 'F' },
    ]);
    const out = applied(applyUpdate(first.state, update(final)));
    expect(out.changes.filter((c) => c.kind === 'updated')).toHaveLength(2);
    expect(pendingObservations(out.state)).toEqual([]);
    expect(num(current(out.state, '2345-7')?.value)).toBe('0.96');
  });

  test('a late preliminary never overwrites a final value: it is parked with the reason', () => {
    const out = run(oru('F1', [{ code: GLU, value: '0.95', status: 'F' }]), oru('P0', [{ code: GLU, value: '0.91', status: 'P' }], { obr25: 'P' }));
    expect(out.changes).toEqual([]);
    expect(num(current(out.state, '2345-7')?.value)).toBe('0.95');
    expect(out.parked).toHaveLength(1);
    expect(out.parked[0]).toMatchObject({ messageId: 'P0', observationKey: '2345-7||', reason: 'late-lower-status' });
    expect(out.state.parked).toHaveLength(1);
    expect(out.state.revision).toBe(1);
  });

  test('same rank: OBX-19 decides, and an older value is parked', () => {
    const newer = oru('F2', [{ code: GLU, value: '0.97', status: 'F', at: '20261125110000' }]);
    const older = oru('F1', [{ code: GLU, value: '0.95', status: 'F', at: '20261125100000' }]);
    const out = run(newer, older);
    expect(num(current(out.state, '2345-7')?.value)).toBe('0.97');
    expect(out.parked[0]).toMatchObject({ reason: 'older', messageId: 'F1' });
    // In the other order, the newer one replaces the older.
    const inOrder = run(older, newer);
    expect(num(current(inOrder.state, '2345-7')?.value)).toBe('0.97');
    expect(inOrder.changes).toContainEqual({ kind: 'updated', key: '2345-7||', endedBy: 'update' });
  });

  test('a final value sent again with another content, without C and without times, is parked rather than guessed', () => {
    const out = run(oru('F1', [{ code: GLU, value: '0.95', status: 'F' }]), oru('F2', [{ code: GLU, value: '1.20', status: 'F' }]));
    expect(num(current(out.state, '2345-7')?.value)).toBe('0.95');
    expect(out.parked[0]).toMatchObject({ reason: 'final-changed-without-correction', messageId: 'F2' });
  });

  test('D withdraws a result (history kept); a message of withdrawals only is a report update, not a document', () => {
    const first = run(oru('F1', [
      { code: GLU, value: '0.95', status: 'F' },
      { code: K, value: '4.1', status: 'F' },
    ]));
    const del = oru('D1', [{ code: K, value: '', status: 'D' }], { obr25: 'C' });
    let err: unknown;
    try {
      reportFromMessage(del);
    } catch (e) {
      err = e;
    }
    expect((err as PasserelleError).code).toBe('PSL_REPORT_NO_RESULTS');
    const out = applied(applyUpdate(first.state, update(del, true)));
    // OBR-25 went from F to C: the request changed too.
    expect(out.changes).toEqual([{ kind: 'request', key: '24321-2||' }, { kind: 'withdrawn', key: '2823-3||' }]);
    const k = out.state.observations.find((e) => e.key === '2823-3||')!;
    expect(k.current).toBeUndefined();
    expect(k.withdrawn).toMatchObject({ reason: 'deleted', messageId: 'D1' });
    expect(num(k.history[0]!.result.value)).toBe('4.1');
    expect(num(current(out.state, '2345-7')?.value)).toBe('0.95');
  });

  test('X marks a test that cannot be done: it is no longer pending', () => {
    const out = run(oru('P1', [{ code: CREA, value: '', status: 'I' }], { obr25: 'I' }), oru('X1', [{ code: CREA, value: '', status: 'X' }], { obr25: 'X' }));
    expect(current(out.state, '2160-0')?.status).toBe('cancelled');
    expect(pendingObservations(out.state)).toEqual([]);
  });

  test('the same message twice, or the same snapshot again, changes nothing', () => {
    const m = oru('F1', [{ code: GLU, value: '0.95', status: 'F' }]);
    const once = run(m);
    const twice = applied(applyUpdate(once.state, update(m)));
    expect(twice.changes).toEqual([]);
    expect(twice.state).toBe(once.state);
    const again = applied(applyUpdate(once.state, update(oru('F1-resent', [{ code: GLU, value: '0.95', status: 'F' }]))));
    expect(again.changes).toEqual([]);
    expect(again.state.revision).toBe(1);
  });

  test('another patient on a later message is refused, never merged; a later INS completes a report opened without one', () => {
    const first = run(oru('F1', [{ code: GLU, value: '0.95', status: 'F' }]));
    const otherIns = applyUpdate(first.state, update(oru('F2', [{ code: CREA, value: '9.8', status: 'F' }], { pid: PID('182127512345691') })));
    expect(otherIns).toEqual({ kind: 'identity-mismatch', detail: expect.stringContaining('INS') });
    const otherIpp = applyUpdate(first.state, update(oru('F3', [{ code: CREA, value: '9.8', status: 'F' }], { pid: PID(INS, '999999') })));
    expect(otherIpp.kind).toBe('identity-mismatch');

    const noIns = run(oru('F1', [{ code: GLU, value: '0.95', status: 'F' }], { pid: PID_NO_INS }));
    expect(noIns.state.patient.ins).toBeUndefined();
    const completed = applied(applyUpdate(noIns.state, update(oru('F2', [{ code: CREA, value: '9.8', status: 'F' }]))));
    expect(completed.changes).toContainEqual({ kind: 'identity-completed', what: 'ins' });
    expect(completed.state.patient.ins).toBe(`1.2.250.1.213.1.4.10:${INS}`);
  });

  test('a message is split per filler order; the lab is OBR-3.2, else the channel lab; an OBR without filler number stays unkeyed', () => {
    const text = [
      'MSH|^~\\&|SIL-LABO|LABO-DEMO|DPI|CHU-DEMO|20261125101500||ORU^R01^ORU_R01|S1|P|2.5|||||FRA|UNICODE UTF-8',
      PID(),
      'OBR|1|CMD-1^DPI|LAB-1^SIL-LABO|24321-2^Bilan^LN|||20261125073000||||||||||||||||||F',
      `OBX|1|NM|${GLU}||0.95|g/L|||||F`,
      'OBR|2|CMD-2^DPI|LAB-2|24321-2^Bilan^LN|||20261125073000||||||||||||||||||F',
      `OBX|1|NM|${CREA}||9.8|mg/L|||||F`,
      'OBR|3|CMD-3^DPI||24321-2^Bilan^LN|||20261125073000||||||||||||||||||F',
      `OBX|1|NM|${K}||4.1|mmol/L|||||F`,
    ].join('\r');
    const report = reportFromMessage(Message.parse(text));
    const { updates, unkeyed } = splitByReport(report, 'S1', 'LABO-DEMO');
    expect(updates.map((u) => [u.lab, u.fillerOrder, u.requests.length])).toEqual([
      ['SIL-LABO', 'LAB-1', 1],
      ['LABO-DEMO', 'LAB-2', 1],
    ]);
    expect(unkeyed).toHaveLength(1);
  });

  test("with ownFillers, another lab's results whose placer number is ours go to our report, others stay in that lab's", () => {
    const text = (placer: string): Message =>
      Message.parse(
        [
          'MSH|^~\\&|SIL-SOUSTRAITANT|LABO-SPECIALISE|SIL-LABO|LABO-DEMO|20261125160000||ORU^R01^ORU_R01|S2|P|2.5',
          PID(),
          `OBR|1|${placer}|ST-5501^SIL-SOUSTRAITANT|1989-3^Vitamine D^LN||||||||||||||||||||F`,
          'OBX|1|NM|1989-3^25-Hydroxyvitamine D3^LN||31.5|ng/mL|||||F',
        ].join('\r'),
      );
    const ours = splitByReport(reportFromMessage(text('LAB-0042^SIL-LABO')), 'S2', 'LABO-DEMO', ['SIL-LABO']).updates;
    expect(ours.map((u) => [u.lab, u.fillerOrder, u.subcontractor])).toEqual([['SIL-LABO', 'LAB-0042', { lab: 'SIL-SOUSTRAITANT', fillerOrder: 'ST-5501' }]]);
    const theirs = splitByReport(reportFromMessage(text('CMD-9^DPI')), 'S2', 'LABO-DEMO', ['SIL-LABO']).updates;
    expect(theirs.map((u) => [u.lab, u.fillerOrder, u.subcontractor])).toEqual([['SIL-SOUSTRAITANT', 'ST-5501', undefined]]);
    // Without ownFillers every filler is this lab's.
    const all = splitByReport(reportFromMessage(text('LAB-0042^SIL-LABO')), 'S2', 'LABO-DEMO').updates;
    expect(all.map((u) => [u.lab, u.fillerOrder])).toEqual([['SIL-SOUSTRAITANT', 'ST-5501']]);
  });

  test("a subcontractor's results without OBX-23 name their lab from OBX-15, else MSH-4; fused into our report, they leave its header alone", () => {
    const sub = (obx15: string): Message =>
      Message.parse(
        [
          'MSH|^~\\&|SIL-SOUSTRAITANT|LABO-SPECIALISE^1.2.250.1.999.1.9^ISO|SIL-LABO|LABO-DEMO|20261125160000||ORU^R01^ORU_R01|S3|P|2.5',
          PID(),
          'OBR|1|LAB-2611-0042^SIL-LABO|ST-5501^SIL-SOUSTRAITANT|1989-3^Vitamine D^LN||||||||||||||||||||F',
          `OBX|1|NM|1989-3^25-Hydroxyvitamine D3^LN||31.5|ng/mL|||||F||||${obx15}`,
        ].join('\r'),
      );
    const performer = (m: Message): unknown => splitByReport(reportFromMessage(m), 'S3', 'LABO-DEMO', ['SIL-LABO']).updates[0]!.requests[0]!.results[0]!.performer;
    expect(performer(sub('750000009^Laboratoire Spécialisé^FINESS'))).toEqual({ organization: { name: 'Laboratoire Spécialisé', id: '750000009', idRoot: '1.2.250.1.71.4.2.2' } });
    expect(performer(sub(''))).toEqual({ organization: { name: 'LABO-SPECIALISE', id: '1.2.250.1.999.1.9' } });

    const ours = applied(applyUpdate(undefined, update(oru('M1', [{ code: GLU, value: '0.95', status: 'F' }])))).state;
    const fused = splitByReport(reportFromMessage(sub('')), 'S3', 'LABO-DEMO', ['SIL-LABO']).updates[0]!;
    expect(fused.header.dossier).not.toBe(ours.header.dossier);
    const after = applied(applyUpdate(ours, fused)).state;
    expect(after.header).toEqual(ours.header);
    expect(after.observations.map((e) => e.current?.code.loinc?.code)).toEqual(['2345-7', '1989-3']);
  });
});

/**
 * Who a report version goes to (issue 9, item 1): the prescriber and every copy by MSSanté, the
 * patient only with a qualified INS, the DMP only with a qualified INS; the lab system's
 * MetaDMPMSS choices in its ORU (DESTDMP / DESTMSSANTEPS / DESTMSSANTEPAT = N) take
 * destinations out and are not results; someone without an address is listed, not dropped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage, type Report } from '../../engine/lab';
import { routeVersion } from '../../engine/delivery/routing';
import { applyUpdate, splitByReport, type ReportState } from '../../engine/reports';

const SAMPLE = decode(readFileSync(join(__dirname, '../../samples/oru-r01_ltw_biochemistry.hl7'))).text;
const ALL = { dmp: true, mssProfessionals: true, mssPatient: true };

function report(edit: (text: string) => string = (t) => t): Report {
  return reportFromMessage(Message.parse(edit(SAMPLE)));
}

/** The sample with the prescriber's address given in the message and `extra` OBX after the results. */
const withAddressAnd = (extra: string[]) => (t: string): string =>
  t
    .replace('\rNTE|1||', `\r${extra.join('\r')}\rNTE|1||`)
    .replace('\rSPM|', `\rPRT||UC||OP^^participation|10003456789^MEDECIN^Prescripteur^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS||||||||||^^X.400^prescripteur.medecin@test.mssante.fr\rSPM|`);

test('qualified identity: DMP, the prescriber and the patient; ten copies are all mailed', () => {
  const copies = Array.from({ length: 10 }, (_, i) => `1000000010${i}^CONFRERE^Test^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS`).join('~');
  const r = report((t) => t.replace(/(\rOBR\|[^\r]*)\|F(\r)/, `$1|F|||${copies}$2`));
  r.prescriber!.mssante = 'prescripteur.medecin@test.mssante.fr';
  r.copiesTo.forEach((c, i) => (c.mssante = `confrere.${i}@test.mssante.fr`));
  const routing = routeVersion(r, ALL);
  expect(routing.dmp).toEqual({ send: true });
  expect(routing.mail.map((m) => [m.role, m.address])).toEqual([
    ['prescriber', 'prescripteur.medecin@test.mssante.fr'],
    ...Array.from({ length: 10 }, (_, i) => ['copy', `confrere.${i}@test.mssante.fr`]),
    ['patient', '248092A20345642@patient.mssante.fr'],
  ]);
  expect(routing.notMailed).toEqual([]);
});

test('someone named without an MSSanté address is listed with why; the same address twice is mailed once', () => {
  const r = report();
  r.copiesTo = [{ id: '10000000199', family: 'SANS-ADRESSE' }, { id: '10000000198', mssante: 'x@test.mssante.fr' }, { id: '10000000197', mssante: 'X@test.mssante.fr' }];
  const routing = routeVersion(r, ALL);
  expect(routing.mail.map((m) => m.address)).toEqual(['x@test.mssante.fr', '248092A20345642@patient.mssante.fr']);
  expect(routing.notMailed).toEqual([
    { who: 'prescriber 10003456789', why: expect.stringContaining('no MSSanté address') },
    { who: 'copy 10000000199', why: expect.stringContaining('no MSSanté address') },
  ]);
});

test('a non-qualified identity: no patient mail and no DMP, each with its reason', () => {
  const r = report((t) => t.replace('|VALI\r', '|PROV\r'));
  expect(r.patient.ins).toBeUndefined();
  const routing = routeVersion(r, ALL);
  expect(routing.dmp).toEqual({ send: false, why: expect.stringContaining('not qualified') });
  expect(routing.mail.some((m) => m.audience === 'patient')).toBe(false);
  expect(routing.notMailed).toContainEqual({ who: 'patient', why: expect.stringContaining('not qualified') });
});

test('a version invisible to the patient is not mailed to the patient', () => {
  const routing = routeVersion(report(), { ...ALL, invisibleToPatient: true });
  expect(routing.mail.some((m) => m.audience === 'patient')).toBe(false);
  expect(routing.notMailed).toContainEqual({ who: 'patient', why: 'the version is invisible to the patient' });
});

test("the lab system's DESTDMP / DESTMSSANTEPAT = N in the ORU: not results, and they take the DMP and the patient's mail out", () => {
  const meta = ['OBX|3|CE|DESTDMP^Destinataire DMP^MetaDMPMSS||N^^expandedYes-NoIndicator||||||F', 'OBX|4|CE|DESTMSSANTEPAT^Destinataire patient^MetaDMPMSS||N^^expandedYes-NoIndicator||||||F'];
  const r = report(withAddressAnd(meta));
  expect(r.requests.flatMap((q) => q.results.map((x) => x.code.local?.code ?? x.code.loinc?.code))).toEqual(['2345-7', '2160-0']);
  expect(r.sharing).toEqual({ dmp: false, mssPatient: false });
  const routing = routeVersion(r, ALL);
  expect(routing.dmp).toEqual({ send: false, why: expect.stringContaining('DESTDMP=N') });
  expect(routing.mail.map((m) => m.role)).toEqual(['prescriber']);
  expect(routing.notMailed).toContainEqual({ who: 'patient', why: expect.stringContaining('DESTMSSANTEPAT=N') });
});

test('DESTMSSANTEPS = N: no professional is mailed', () => {
  const r = report(withAddressAnd(['OBX|3|CE|DESTMSSANTEPS^Destinataire PS^MetaDMPMSS||N^^expandedYes-NoIndicator||||||F']));
  const routing = routeVersion(r, ALL);
  expect(routing.mail.map((m) => m.role)).toEqual(['patient']);
  expect(routing.notMailed).toContainEqual({ who: 'professionals', why: expect.stringContaining('DESTMSSANTEPS=N') });
});

test('a refusal stays on the report when a later message says nothing of it, and goes when one says Y', () => {
  const first = report(withAddressAnd(['OBX|3|CE|DESTMSSANTEPAT^Destinataire patient^MetaDMPMSS||N^^expandedYes-NoIndicator||||||F']));
  let state: ReportState | undefined;
  const apply = (r: Report, id: string): void => {
    const out = applyUpdate(state, splitByReport(r, id, 'SIL-LABO').updates[0]!);
    expect(out.kind).toBe('applied');
    if (out.kind === 'applied') state = out.state;
  };
  apply(first, 'm1');
  apply(report((t) => t.replace('|0.95|', '|0.96|').replace('|F|||20261125073000|||||20261125100500', '|C|||20261125073000|||||20261125110000')), 'm2');
  expect(state!.header.sharing).toEqual({ mssPatient: false });
  apply(report(withAddressAnd(['OBX|3|CE|DESTMSSANTEPAT^Destinataire patient^MetaDMPMSS||Y^^expandedYes-NoIndicator||||||F'])), 'm3');
  expect(state!.header.sharing).toEqual({ mssPatient: true });
});

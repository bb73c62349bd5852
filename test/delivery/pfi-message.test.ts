/**
 * The PFI ORU^R01 (ANS volet "Transmission de document(s) CDA-R2 en HL7v2" 2.1) compared field
 * by field with the ANS examples in ../shared/mss/hl7v2: create (NW), replace (RO), delete (CA).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage, type Report } from '../../engine/lab';
import { buildPfiMessage, type PfiAction, type PfiFlags } from '../../engine/delivery/pfi/oru-message';
import { TEST_LAB_PROFILE } from '../support/lab-profile';

const repo = resolve(__dirname, '../..');
const ANS = resolve(repo, '../shared/mss/hl7v2');
const ans = (f: string): Message => Message.parse(decode(readFileSync(join(ANS, f))).text);
const ours = (f: string): Report => reportFromMessage(Message.parse(decode(readFileSync(join(repo, 'samples', f))).text));

const FLAGS: PfiFlags = { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false, dmp: true, mssProfessionals: true, mssPatient: true, ackReception: true, ackRead: true };
const N1 = '<ClinicalDocument>N1</ClinicalDocument>';
const N3 = '<ClinicalDocument>N3 é</ClinicalDocument>';

function build(action: PfiAction, report = ours('oru-r01_ltw_biochemistry.hl7'), flags = FLAGS): Message {
  report.prescriber = { ...report.prescriber, mssante: 'medecin.prescripteur@test.mssante.fr' };
  return buildPfiMessage({
    action,
    report,
    lab: TEST_LAB_PROFILE,
    filler: { number: 'LAB-0001', authority: 'SIL-LABO' },
    n1: N1,
    n3: N3,
    flags,
    header: { application: 'PASSERELLE', facility: 'LABO-DEMO', receivingApplication: 'PFI', receivingFacility: 'CHU-DEMO' },
    controlId: `LAB-0001.v1.${action}`,
    replyTo: 'resultats@labo-demo.mssante.fr',
    mailBody: { professionals: 'Cher confrère, veuillez trouver ci-joint le compte rendu.' },
    now: new Date(2026, 10, 25, 10, 0, 0),
  });
}

const names = (m: Message): string[] => m.segments().map((s) => s.name);
/** The segments' order with consecutive PRT RCT folded, and PV1 (optional) left out. */
const shape = (m: Message): string =>
  m.segments()
    .filter((s) => s.name !== 'PV1')
    .map((s) => (s.name === 'PRT' ? `PRT:${s.get('4.1')}` : s.name))
    .join(' ')
    .replace(/(PRT:RCT ?)+/g, 'PRT:RCT* ');

test('create: the same segments in the same order as the ANS example, with its header, order control, document and flag fields', () => {
  const sample = ans('ORU_R01_CR-BIO_init_N1_N3.hl7');
  const m = build('create');
  expect(shape(m)).toBe(shape(sample));
  for (const p of ['MSH-9', 'MSH-12', 'MSH-17', 'MSH-18', 'MSH-21', 'ORC-1', 'OBR-4', 'OBR-25']) expect([p, m.get(p)]).toEqual([p, sample.get(p)]);
  const obx = (x: Message): Message['segments'] extends (...a: never[]) => infer R ? R : never => x.segments('OBX');
  const [mo, so] = [obx(m), obx(sample)];
  expect(mo).toHaveLength(so.length);
  mo.forEach((seg, i) => {
    for (const f of ['1', '2', '3', '5.2', '5.3', '5.4', '11']) expect([i, f, seg.get(f)]).toEqual([i, f, so[i]!.get(f)]);
  });
  expect(Buffer.from(mo[0]!.get('5.5'), 'base64').toString('utf8')).toBe(N1);
  expect(Buffer.from(mo[1]!.get('5.5'), 'base64').toString('utf8')).toBe(N3);
  // Flags Y/N as the example sets them, CE with the expandedYes-NoIndicator table.
  expect(mo.slice(2, 12).map((s) => s.get('5'))).toEqual(so.slice(2, 12).map((s) => s.get('5')));
  // PRT: sender (RPPS + FINESS), the prescriber's and the patient's mailboxes, Reply-To.
  const prts = m.segments('PRT').map((s) => `${s.get('2')} ${s.get('4')} ${s.get('15.3')} ${s.get('15.4')}`.trim());
  expect(prts).toEqual([
    'UC SB^^participation',
    'UC RCT^^participation X.400 medecin.prescripteur@test.mssante.fr',
    'UC RCT^^participation X.400 248092A20345642@patient.mssante.fr',
    'UC REPLY^^participation X.400 resultats@labo-demo.mssante.fr',
  ]);
  const sb = m.segments('PRT')[0]!;
  const ssb = sample.segments('PRT')[0]!;
  for (const f of ['8.6', '8.7']) expect(sb.get(f)).toBe(ssb.get(f));
  // The INS as the example writes it (test OID here), type INS.
  const pid3 = m.get('PID-3[1]');
  expect(pid3).toBe('248092A20345642^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS');
  expect(sample.get('PID-3[1].4')).toBe('ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO');
});

test('replace is RO and delete is CA with its documents marked D, as in the ANS examples', () => {
  const rplc = ans('ORU_R01_CR-BIO_replace_N1_N3.hl7');
  const del = ans('ORU_R01_CR-BIO_delete_N1_N3.hl7');
  expect(build('replace').get('ORC-1')).toBe(rplc.get('ORC-1'));
  const d = build('delete');
  expect(d.get('ORC-1')).toBe(del.get('ORC-1'));
  expect(d.segments('OBX').slice(0, 2).map((s) => s.get('11'))).toEqual(del.segments('OBX').slice(0, 2).map((s) => s.get('11')));
  expect(d.segments('OBX').slice(2).every((s) => s.get('11') === 'F')).toBe(true);
});

test('a non-qualified identity: no INS anywhere, no patient mailbox, DESTMSSANTEPAT N', () => {
  const m = build('create', ours('oru-r01_identity-prov.hl7'));
  const text = m.toString();
  expect(text).not.toMatch(/INS-NIR|\^INS\b|patient\.mssante\.fr/);
  expect(m.segments('OBX').find((s) => s.get('3.1') === 'DESTMSSANTEPAT')!.get('5.1')).toBe('N');
  expect(names(m)).toContain('PID');
});

test('a document the patient may not see is never mailed to them, whatever the channel asks', () => {
  const m = build('create', undefined, { ...FLAGS, invisibleToPatient: true });
  expect(m.toString()).not.toContain('@patient.mssante.fr');
  expect(m.segments('OBX').find((s) => s.get('3.1') === 'INVISIBLE_PATIENT')!.get('5.1')).toBe('Y');
  expect(m.segments('OBX').find((s) => s.get('3.1') === 'DESTMSSANTEPAT')!.get('5.1')).toBe('N');
});

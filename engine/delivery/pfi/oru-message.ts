/**
 * A report version as the ORU^R01 the hospital's integration platform (PFI) expects: ANS volet
 * "Transmission de document(s) CDA-R2 en HL7v2" 2.1 (../shared/docs/dmp-mss-ins.md §1.9; the
 * ANS examples in ../shared/mss/hl7v2). Segment order as in those examples:
 *
 *   MSH (MSH-21 `2.1^CISIS_CDA_HL7_V2`) · PID (INS only for a qualified identity) · ORC (NW
 *   create / RO replace / CA delete) · OBR (11502-2) · OBX 1 ED the N1 · PRT SB (who sends),
 *   PRT RCT (each MSSanté recipient, the patient's `<INS>@patient.mssante.fr` only with a
 *   qualified INS), PRT REPLY · OBX 2 ED the N3 · OBX MetaDMPMSS flags (CE Y/N) · OBX
 *   CORPSMAIL_PS / CORPSMAIL_PATIENT (ED) when a body is configured.
 *
 * A deletion carries the documents it withdraws with OBX-11 `D`. Pure: no I/O.
 */
import { MessageBuilder, hl7Timestamp, type Message, type Segment } from '../../hl7';
import type { LabProfile, Professional, Report } from '../../lab';

export type PfiAction = 'create' | 'replace' | 'delete';

/** The MetaDMPMSS choices (Y/N) of a version, in the order the volet lists them. */
export interface PfiFlags {
  maskedFromProfessionals: boolean;
  invisibleToPatient: boolean;
  invisibleToLegalRepresentatives: boolean;
  /** The PFI sends the document to the DMP. */
  dmp: boolean;
  /** The PFI mails it to the professionals named in PRT RCT. */
  mssProfessionals: boolean;
  /** The PFI mails it to the patient (only honoured with a qualified INS and the document visible to them). */
  mssPatient: boolean;
  ackReception: boolean;
  ackRead: boolean;
}

export interface PfiMessageInput {
  action: PfiAction;
  report: Report;
  lab: LabProfile;
  /** Our filler order number (ORC-3 / OBR-3) and its namespace. */
  filler: { number: string; authority: string };
  /** The version's documents (for a deletion, those of the version withdrawn). */
  n1: string;
  n3: string;
  flags: PfiFlags;
  /** MSH-3..6. */
  header: { application: string; facility: string; receivingApplication: string; receivingFacility: string };
  /** Deterministic MSH-10: a resend after a lost ACK carries the same one. */
  controlId: string;
  /** The lab's organisational mailbox, sent as PRT REPLY (MSS.26). */
  replyTo?: string;
  /** Mail bodies the PFI uses (CORPSMAIL_PS / CORPSMAIL_PATIENT). */
  mailBody?: { professionals?: string; patient?: string };
  now?: Date;
}

const ORC1: Record<PfiAction, string> = { create: 'NW', replace: 'RO', delete: 'CA' };
const RPPS_ASSIGNER = ['ASIP-SANTE-PS', '1.2.250.1.71.4.2.1', 'ISO'];
const FINESS_ASSIGNER = ['ASIP-SANTE-ST', '1.2.250.1.71.4.2.2', 'ISO'];
const INS_ASSIGNER = ['ASIP-SANTE-INS-NIR', '1.2.250.1.213.1.4.10', 'ISO'];
const TYPE_CODE = ['11502-2', "CR d'examens biologiques", 'LN'];

/** MetaDMPMSS flags: code, label as the volet writes it, value. */
function flagRows(f: PfiFlags, patientMail: boolean): [string, string, boolean][] {
  return [
    ['MASQUE_PS', 'Masqué aux professionnels de Santé', f.maskedFromProfessionals],
    ['INVISIBLE_PATIENT', 'Document Non Visible par le patient', f.invisibleToPatient],
    ['INVISIBLE_REP_LEGAUX', 'Non visible par les représentants Légaux du patient', f.invisibleToLegalRepresentatives],
    ['CONNEXION_SECRETE', 'Connexion Secrete', false],
    ['MODIF_CONF_CODE', 'Modification Confidentiality Code', false],
    ['DESTDMP', 'Destinataire DMP', f.dmp],
    ['DESTMSSANTEPS', 'Destinataire (Professionnel de Santé, organisation ou BAL applicative)', f.mssProfessionals],
    ['DESTMSSANTEPAT', 'Destinataire Patient', patientMail],
    ['ACK_RECEPTION', 'Accusé de réception', f.ackReception],
    ['ACK_LECTURE_MSS', 'Accusé de lecture', f.ackRead],
  ];
}

export function buildPfiMessage(o: PfiMessageInput): Message {
  const now = o.now ?? new Date();
  const msg = new MessageBuilder({
    messageType: 'ORU^R01^ORU_R01',
    sendingApplication: o.header.application,
    sendingFacility: o.header.facility,
    receivingApplication: o.header.receivingApplication,
    receivingFacility: o.header.receivingFacility,
    controlId: o.controlId,
    charset: 'UNICODE UTF-8',
    now,
  }).build();
  msg.set('MSH-17', 'FRA');
  msg.set('MSH-21.1', '2.1');
  msg.set('MSH-21.2', 'CISIS_CDA_HL7_V2');

  const patient = o.report.patient;
  // The patient's mailbox needs a qualified INS, and a document the patient may see (MSS.12, .16, .19).
  const patientMail = o.flags.mssPatient && !!patient.ins && !o.flags.invisibleToPatient && !o.flags.invisibleToLegalRepresentatives;
  pid(msg.addSegment('PID'), o.report);

  const placer = o.report.orderId;
  const orc = msg.addSegment('ORC');
  orc.set('1', ORC1[o.action]);
  orc.set('2.1', placer);
  orc.set('3.1', o.filler.number);
  orc.set('3.2', o.filler.authority);
  orc.set('9', hl7Timestamp(now));
  const obr = msg.addSegment('OBR');
  obr.set('1', '1');
  obr.set('2.1', placer);
  obr.set('3.1', o.filler.number);
  obr.set('3.2', o.filler.authority);
  coded(obr, '4', TYPE_CODE);
  if (o.report.requests[0]?.collectedAt) obr.set('7', o.report.requests[0].collectedAt);
  if (o.report.prescriber) xcn(obr, '16', o.report.prescriber, 'RPPS');
  if (o.report.validatedAt) obr.set('22', o.report.validatedAt);
  obr.set('25', o.action === 'delete' ? 'X' : 'F');
  const validator = o.report.validator ?? o.lab.director;
  obr.set('32.1.1', validator.id ?? '');
  obr.set('32.1.2', validator.family ?? '');
  obr.set('32.1.3', validator.given ?? '');

  const status = o.action === 'delete' ? 'D' : 'F';
  document(msg.addSegment('OBX'), 1, o.n1, status);
  participants(msg, o, validator, patientMail);
  document(msg.addSegment('OBX'), 2, o.n3, status);
  let n = 2;
  for (const [code, label, value] of flagRows(o.flags, patientMail)) {
    const obx = msg.addSegment('OBX');
    obx.set('1', String(++n));
    obx.set('2', 'CE');
    coded(obx, '3', [code, label, 'MetaDMPMSS']);
    obx.set('5.1', value ? 'Y' : 'N');
    obx.set('5.3', 'expandedYes-NoIndicator');
    obx.set('11', 'F');
  }
  const bodies: [string, string, string | undefined][] = [
    ['CORPSMAIL_PS', 'Corps du mail pour un PS', o.mailBody?.professionals],
    ['CORPSMAIL_PATIENT', 'Corps du mail pour le patient', patientMail ? o.mailBody?.patient : undefined],
  ];
  for (const [code, label, text] of bodies) {
    if (!text) continue;
    const obx = msg.addSegment('OBX');
    obx.set('1', String(++n));
    obx.set('2', 'ED');
    coded(obx, '3', [code, label, 'MetaDMPMSS']);
    obx.set('5.2', 'TEXT');
    obx.set('5.4', 'Base64');
    obx.setRaw('5.5', Buffer.from(text, 'utf8').toString('base64'));
    obx.set('11', 'F');
  }
  return msg;
}

function coded(seg: Segment, at: string, [code, text, system]: string[]): void {
  seg.set(`${at}.1`, code!);
  seg.set(`${at}.2`, text!);
  seg.set(`${at}.3`, system!);
}

/** XCN with the RPPS assigner (ASIP-SANTE-PS), as the ANS examples write professionals. */
function xcn(seg: Segment, at: string, p: Professional, idType: 'RPPS' | 'IDNPS'): void {
  seg.set(`${at}.1`, p.id ?? '');
  seg.set(`${at}.2`, p.family ?? '');
  seg.set(`${at}.3`, p.given ?? '');
  if (!p.id) return;
  RPPS_ASSIGNER.forEach((v, i) => seg.set(`${at}.9.${i + 1}`, v));
  seg.set(`${at}.10`, 'D');
  seg.set(`${at}.13`, idType);
}

/** PID: the INS first when the identity is qualified (never otherwise), then the local ids; birth name (L), used name (D). */
function pid(seg: Segment, report: Report): void {
  const p = report.patient;
  let rep = 0;
  if (p.ins) {
    rep++;
    seg.set(`3[${rep}].1`, p.ins.matricule);
    seg.set(`3[${rep}].4.1`, INS_ASSIGNER[0]!);
    seg.set(`3[${rep}].4.2`, p.ins.oid);
    seg.set(`3[${rep}].4.3`, 'ISO');
    seg.set(`3[${rep}].5`, 'INS');
  }
  for (const id of p.identifiers) {
    if ((id.type ?? 'PI').toUpperCase() !== 'PI') continue;
    rep++;
    seg.set(`3[${rep}].1`, id.id);
    seg.set(`3[${rep}].4.1`, id.authorityName ?? '');
    if (id.authorityOid) {
      seg.set(`3[${rep}].4.2`, id.authorityOid);
      seg.set(`3[${rep}].4.3`, 'ISO');
    }
    seg.set(`3[${rep}].5`, 'PI');
  }
  seg.set('5[1].1', p.birthFamily);
  seg.set('5[1].2', p.firstBirthGiven);
  seg.set('5[1].3', p.birthGivens);
  seg.set('5[1].7', 'L');
  if (p.usedFamily) {
    seg.set('5[2].1', p.usedFamily);
    seg.set('5[2].2', p.usedGiven ?? '');
    seg.set('5[2].7', 'D');
  }
  if (p.birthDate) seg.set('7', p.birthDate);
  seg.set('8', p.sex);
  if (p.birthplaceCode) {
    seg.set('11[1].7', 'BDL');
    seg.set('11[1].9', p.birthplaceCode);
  }
  if (p.reliability) seg.set('32', p.reliability);
}

function document(seg: Segment, setId: number, xml: string, status: 'F' | 'D'): void {
  seg.set('1', String(setId));
  seg.set('2', 'ED');
  coded(seg, '3', TYPE_CODE);
  seg.set('5.2', 'TEXT');
  seg.set('5.3', 'XML');
  seg.set('5.4', 'Base64');
  // Base64 holds no HL7 delimiter: written as is, without scanning 100 KB for escapes.
  seg.setRaw('5.5', Buffer.from(xml, 'utf8').toString('base64'));
  seg.set('11', status);
}

/** PRT SB (the validating biologist and the lab), RCT per MSSanté recipient, REPLY. */
function participants(msg: Message, o: PfiMessageInput, sender: Professional, patientMail: boolean): void {
  const sb = prt(msg, 'SB');
  xcn(sb, '5', sender, 'IDNPS');
  sb.set('8.1', o.lab.lab.name);
  FINESS_ASSIGNER.forEach((v, i) => sb.set(`8.6.${i + 1}`, v));
  sb.set('8.7', 'FINEG');
  sb.set('8.10', o.lab.lab.finess ?? o.lab.lab.id ?? '');
  const pros = [o.report.prescriber, ...o.report.copiesTo].filter((p): p is Professional => !!p?.mssante);
  const seen = new Set<string>();
  for (const p of o.flags.mssProfessionals ? pros : []) {
    if (seen.has(p.mssante!)) continue;
    seen.add(p.mssante!);
    const rct = prt(msg, 'RCT');
    xcn(rct, '5', p, 'IDNPS');
    mailbox(rct, p.mssante!);
  }
  const ins = o.report.patient.ins;
  if (patientMail && ins) {
    const rct = prt(msg, 'RCT');
    rct.set('5.1', ins.matricule);
    rct.set('5.2', o.report.patient.birthFamily);
    rct.set('5.3', o.report.patient.firstBirthGiven);
    rct.set('5.9', ins.oid);
    rct.set('5.10', 'L');
    rct.set('5.13', 'INS');
    mailbox(rct, `${ins.matricule}@patient.mssante.fr`);
  }
  if (o.replyTo) mailbox(prt(msg, 'REPLY'), o.replyTo);
}

function prt(msg: Message, role: string): Segment {
  const seg = msg.addSegment('PRT');
  seg.set('2', 'UC');
  seg.set('4.1', role);
  seg.set('4.3', 'participation');
  return seg;
}

function mailbox(seg: Segment, address: string): void {
  seg.set('15.3', 'X.400');
  seg.set('15.4', address);
}

/**
 * CDA header shared by N3 and N1 (the N1 repeats the full header, ANS N1 example): patient,
 * author, custodian, recipients, legal authenticator, validating biologists, prescriber,
 * order, documented acts, replacement link and encounter.
 *
 * INS rule (SGL.INS.37, RNIV rule 28): the INS goes in only when report.patient.ins is set
 * (qualified identity). No other INS root is ever written: local identifiers carrying an INS
 * OID or the received matricule are dropped.
 */
import type { Patient, Professional, Report } from '../lab/report';
import type { LabProfile } from '../lab/profile';
import { PasserelleError } from '../errors';
import { type El, NS, addr, cd, ii, isTs, maxTs, minTs, organization, personName, professionalId, professionalLabel, telecomUrl, telecoms, ts } from './xml';
import { type DocumentIds, isValidOid } from './ids';
import { OID, genderOf } from './vocab';
import { chapterList } from './sections';

export interface HeaderParams {
  templateIds: Array<{ root: string; extension?: string }>;
  ids: DocumentIds;
  replaces?: string;
  effectiveTime: string;
}

const SECTOR_SYSTEM = '1.2.250.1.213.1.1.4.9';

function labSector(lab: LabProfile) {
  return { code: lab.sectorCode.code, display: lab.sectorCode.display, system: SECTOR_SYSTEM };
}

function authorSpecialty(lab: LabProfile) {
  return { code: lab.authorSpecialty.code, display: lab.authorSpecialty.display, system: lab.authorSpecialty.system };
}

function labOrg(lab: LabProfile) {
  return { ...lab.lab, address: lab.lab.address ?? lab.address, telecom: lab.lab.telecom?.length ? lab.lab.telecom : lab.telecom };
}

/** The identifiers that may be written for this patient. */
export function patientIds(p: Patient, lab: LabProfile, dossier: string): Array<{ root: string; extension: string }> {
  const ins = new Set<string>(OID.INS_ROOTS);
  const matricules = new Set([p.insReceived?.matricule, p.ins?.matricule].filter((m): m is string => !!m));
  const out: Array<{ root: string; extension: string }> = [];
  if (p.ins && ins.has(p.ins.oid)) out.push({ root: p.ins.oid, extension: p.ins.matricule });
  for (const id of p.identifiers) {
    if (!id.id || matricules.has(id.id)) continue;
    const root = id.authorityOid && isValidOid(id.authorityOid) ? id.authorityOid : lab.patientIdRoot;
    if (ins.has(root) || out.some((o) => o.root === root && o.extension === id.id)) continue;
    out.push({ root, extension: id.id });
  }
  if (!out.some((o) => !ins.has(o.root))) out.push({ root: lab.patientIdRoot, extension: dossier });
  return out;
}

function recordTarget(doc: El, report: Report, lab: LabProfile): void {
  const p = report.patient;
  const role = doc.ele('recordTarget').ele('patientRole');
  for (const id of patientIds(p, lab, report.dossier)) role.ele('id', id);
  addr(role, p.address);
  telecoms(role, p.telecom);
  const pat = role.ele('patient', { classCode: 'PSN' });
  const name = pat.ele('name');
  // INS traits: birth name (BR), all birth given names, first birth given name (BR); used names (CL).
  if (p.birthFamily) name.ele('family', { qualifier: 'BR' }).txt(p.birthFamily);
  else name.ele('family', { nullFlavor: 'UNK' });
  const givens = p.birthGivens || p.firstBirthGiven;
  if (givens) name.ele('given').txt(givens);
  if (p.firstBirthGiven) name.ele('given', { qualifier: 'BR' }).txt(p.firstBirthGiven);
  if (p.usedFamily) name.ele('family', { qualifier: 'CL' }).txt(p.usedFamily);
  if (p.usedGiven) name.ele('given', { qualifier: 'CL' }).txt(p.usedGiven);
  const g = genderOf(p.sex);
  cd(pat, 'administrativeGenderCode', { code: g.code, display: g.display, system: OID.GENDER });
  // Structuration minimale requires a valued birthTime: without one no valid CR-BIO exists.
  if (!p.birthDate || !isTs(p.birthDate)) {
    throw new PasserelleError('PSL_DOCUMENT_INCOMPLETE', 'the patient has no birth date (PID-7): the CI-SIS rules require one in every CR-BIO');
  }
  ts(pat, 'birthTime', p.birthDate);
  if (p.birthplaceCode) pat.ele('birthplace').ele('place').ele('addr').ele('county').txt(p.birthplaceCode);
}

function author(doc: El, report: Report, lab: LabProfile, time: string): void {
  const a = doc.ele('author');
  ts(a, 'time', time);
  const aa = a.ele('assignedAuthor');
  const v = report.validator;
  if (v && identified(v)) {
    professionalId(aa, v);
    cd(aa, 'code', authorSpecialty(lab));
    addr(aa, v.address ?? lab.address);
    telecoms(aa, v.telecom?.length ? v.telecom : lab.telecom);
    personName(aa.ele('assignedPerson'), v);
  } else {
    // No named biologist: the document is authored by the lab's software (ANS TSH_2 example).
    ii(aa, lab.lab.idRoot ?? OID.FINESS_LIKE, lab.lab.id);
    cd(aa, 'code', { code: 'DISPOSITIF', display: 'Dispositif médical', system: OID.AUTHOR_ROLE });
    addr(aa, lab.address);
    telecoms(aa, lab.telecom);
    const dev = aa.ele('assignedAuthoringDevice');
    dev.ele('manufacturerModelName').txt(`${lab.software.name} ${lab.software.version}`);
    dev.ele('softwareName').txt(lab.software.name);
  }
  organization(aa, 'representedOrganization', labOrg(lab));
}

/** The CI-SIS header names professionals by a national id (RPPS); others cannot sign or author. */
function identified(p: Professional): boolean {
  return !!p.family && !!p.id;
}

function recipient(doc: El, p: Professional): void {
  const r = doc.ele('informationRecipient').ele('intendedRecipient');
  r.ele('templateId', { root: '1.3.6.1.4.1.19376.1.3.3.1.4' });
  if (p.id) professionalId(r, p);
  const tel = [...(p.mssante ? [`mailto:${p.mssante}`] : []), ...(p.telecom ?? [])];
  if (tel.length) telecoms(r, tel);
  personName(r.ele('informationRecipient'), p);
}

/** Biologist entity (legalAuthenticator / authenticator / performer / responsibleParty). */
function biologist(parent: El, p: Professional, lab: LabProfile, opts: { code: boolean; sector: boolean }): El {
  const ae = parent.ele('assignedEntity');
  professionalId(ae, p);
  if (opts.code) cd(ae, 'code', authorSpecialty(lab));
  addr(ae, p.address ?? lab.address);
  telecoms(ae, p.telecom?.length ? p.telecom : lab.telecom);
  personName(ae.ele('assignedPerson'), p);
  return ae;
}

function sameProfessional(a: Professional, b: Professional): boolean {
  return (!!a.id && a.id === b.id) || (!a.id && !b.id && professionalLabel(a) === professionalLabel(b));
}

/** Validating biologists of the reporting lab (subcontracted requests have their own). */
function validators(report: Report): Array<{ p: Professional; at?: string }> {
  const out: Array<{ p: Professional; at?: string }> = [];
  const add = (p: Professional | undefined, at: string | undefined) => {
    if (!p || !identified(p)) return;
    const seen = out.find((o) => sameProfessional(o.p, p));
    if (seen) seen.at = maxTs([seen.at, at]);
    else out.push({ p, at });
  };
  add(report.validator, report.validatedAt);
  for (const r of report.requests) if (!r.performer) add(r.validator, r.reportedAt);
  return out;
}

function prescriber(doc: El, report: Report): void {
  const p = report.prescriber;
  // Without an identifier the prescriber stays a recipient (and in the narrative), not a REF participant.
  if (!p || !p.id) return;
  const part = doc.ele('participant', { typeCode: 'REF' });
  part.ele('templateId', { root: '1.3.6.1.4.1.19376.1.3.3.1.6' });
  // Prescription date: not in the model (StrucMin wants a valued high when one is written).
  part.ele('time', { nullFlavor: 'UNK' });
  const ae = part.ele('associatedEntity', { classCode: 'PROV' });
  professionalId(ae, p);
  addr(ae, p.address ?? report.prescriberOrganization?.address);
  // DOC.11: the prescriber's MSSanté address as a mailto: telecom.
  telecoms(ae, [...(p.telecom ?? []), ...(p.mssante ? [telecomUrl(`mailto:${p.mssante}`)] : [])]);
  personName(ae.ele('associatedPerson'), p);
  if (report.prescriberOrganization) organization(ae, 'scopingOrganization', report.prescriberOrganization);
}

function documentationOf(doc: El, report: Report, lab: LabProfile, signedAt: string): void {
  const chapters = chapterList(report);
  const first = chapters[0] ?? { code: '26436-6', display: 'Examens de laboratoire' };
  const se = doc.ele('documentationOf').ele('serviceEvent');
  se.ele('id', { root: lab.orderIdRoot, extension: report.orderId });
  cd(se, 'code', { code: first.code, display: first.display, system: OID.LOINC, systemName: 'LOINC' });
  // Partial report = active, complete = completed (SGL.DMP.04).
  se.ele(NS.LAB, 'lab:statusCode', { code: report.completeness === 'complete' ? 'completed' : 'active' });
  const et = se.ele('effectiveTime');
  const low = report.receivedAt ?? minTs(report.requests.flatMap((r) => [r.collectedAt, ...r.specimens.map((s) => s.receivedAt)]));
  // Both bounds are required: the report's own times first, then the signing time.
  ts(et, 'low', isTs(low) ? low : signedAt);
  ts(et, 'high', isTs(report.validatedAt) ? report.validatedAt : signedAt);
  const perf = se.ele('performer', { typeCode: 'PRF' });
  perf.ele('templateId', { root: '1.3.6.1.4.1.19376.1.3.3.1.7' });
  ts(perf.ele('time'), 'high', isTs(report.validatedAt) ? report.validatedAt : signedAt);
  const ae = biologist(perf, lab.director, lab, { code: true, sector: false });
  organization(ae, 'representedOrganization', labOrg(lab), { sector: labSector(lab) });
  for (const c of chapters.slice(1)) {
    cd(doc.ele('documentationOf').ele('serviceEvent'), 'code', { code: c.code, display: c.display, system: OID.LOINC, systemName: 'LOINC' });
  }
}

function componentOf(doc: El, report: Report, lab: LabProfile, signedAt: string): void {
  const enc = doc.ele('componentOf').ele('encompassingEncounter');
  // The lab file (dossier) is the encounter; numbered under the lab's order OID.
  enc.ele('id', { root: lab.orderIdRoot, extension: report.dossier });
  cd(enc, 'code', { code: 'AMB', display: 'Ambulatoire (hors établissement)', system: OID.ACT_CODE });
  const low = minTs(report.requests.flatMap((r) => [r.collectedAt, ...r.specimens.map((s) => s.collectedAt)])) ?? report.receivedAt;
  ts(enc.ele('effectiveTime'), 'low', isTs(low) ? low : signedAt);
  const ae = biologist(enc.ele('responsibleParty'), lab.director, lab, { code: true, sector: false });
  organization(ae, 'representedOrganization', labOrg(lab), {
    extraIds: lab.cofrac ? (o) => o.ele('id', { root: OID.COFRAC, extension: lab.cofrac!.number, assigningAuthorityName: 'COFRAC' }) : undefined,
  });
  const hcf = enc.ele('location').ele('healthCareFacility');
  cd(hcf, 'code', { code: lab.facilityCode.code, display: lab.facilityCode.display, system: '1.2.250.1.71.4.2.4' });
  const loc = hcf.ele('location');
  loc.ele('name').txt(lab.lab.name);
  addr(loc, lab.lab.address ?? lab.address);
}

export function writeHeader(doc: El, report: Report, lab: LabProfile, p: HeaderParams): void {
  doc.ele('realmCode', { code: 'FR' });
  doc.ele('typeId', { root: '2.16.840.1.113883.1.3', extension: 'POCD_HD000040' });
  for (const t of p.templateIds) doc.ele('templateId', t.extension ? { root: t.root, extension: t.extension } : { root: t.root });
  doc.ele('id', { root: p.ids.documentId });
  cd(doc, 'code', { code: '11502-2', display: "CR d'examens biologiques", system: OID.LOINC, systemName: 'LOINC' });
  doc.ele('title').txt("Compte rendu d'examens biologiques");
  doc.ele('effectiveTime', { value: p.effectiveTime });
  // DMP masking/visibility (DOC.15/16) travel as XDS metadata, not here: the document stays N.
  cd(doc, 'confidentialityCode', { code: 'N', display: 'Normal', system: OID.CONFIDENTIALITY });
  doc.ele('languageCode', { code: 'fr-FR' });
  doc.ele('setId', { root: p.ids.setId });
  doc.ele('versionNumber', { value: String(p.ids.versionNumber) });
  recordTarget(doc, report, lab);
  const signedAt = isTs(report.validatedAt) ? report.validatedAt : p.effectiveTime;
  author(doc, report, lab, signedAt);
  const cust = doc.ele('custodian').ele('assignedCustodian');
  organization(cust, 'representedCustodianOrganization', labOrg(lab), { singleTelecom: true });
  // DOC.07: every recipient (prescriber and copies) is named in the header too.
  for (const r of [...(report.prescriber ? [report.prescriber] : []), ...report.copiesTo]) recipient(doc, r);
  const legal = doc.ele('legalAuthenticator');
  legal.ele('time', { value: signedAt });
  legal.ele('signatureCode', { code: 'S' });
  const signer = report.validator && identified(report.validator) ? report.validator : lab.director;
  const lae = biologist(legal, signer, lab, { code: true, sector: false });
  organization(lae, 'representedOrganization', labOrg(lab), { sector: labSector(lab) });
  for (const v of validators(report)) {
    const au = doc.ele('authenticator');
    au.ele('templateId', { root: '1.3.6.1.4.1.19376.1.3.3.1.5' });
    au.ele('time', { value: isTs(v.at) ? v.at : signedAt });
    au.ele('signatureCode', { code: 'S' });
    const ae = biologist(au, v.p, lab, { code: false, sector: true });
    organization(ae, 'representedOrganization', labOrg(lab), { sector: labSector(lab) });
  }
  prescriber(doc, report);
  doc.ele('inFulfillmentOf').ele('order').ele('id', { root: lab.orderIdRoot, extension: report.orderId });
  documentationOf(doc, report, lab, signedAt);
  if (p.replaces) doc.ele('relatedDocument', { typeCode: 'RPLC' }).ele('parentDocument').ele('id', { root: p.replaces });
  componentOf(doc, report, lab, signedAt);
}

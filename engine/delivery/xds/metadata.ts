/**
 * The XDS metadata of a report version (ITI-41 for the DMP, METADATA.XML of an IHE_XDM.ZIP for
 * MSSanté): an ebRS 3.0 `lcm:SubmitObjectsRequest` with the submission set, one DocumentEntry
 * per CDA (the N3 CR-BIO, the N1 with the PDF), their HasMember associations, and an RPLC
 * association per document that replaces an earlier one. Values per
 * ../shared/docs/dmp-mss-ins.md §1.5 and the value sets of ../shared/jdv (JDV_J57 classCode,
 * J66 typeCode, J60 formatCode, J58 confidentialityCode, J61 healthcareFacilityTypeCode, J04
 * practiceSettingCode, J59 contentTypeCode). Pure: facts come from the typed report, the lab
 * profile and the documents' own headers.
 */
import { createHash } from 'node:crypto';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import type { LabProfile, Patient, Professional, Report } from '../../lab';

const NS = { LCM: 'urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0', RIM: 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0' } as const;

/** Classification / identification schemes (IHE ITI TF-3 §4.2.5). */
const SCHEME = {
  submissionSet: 'urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd',
  documentEntry: 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1',
  ssAuthor: 'urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d',
  ssContentType: 'urn:uuid:aa543740-bdda-424e-8c96-df4873be8500',
  ssPatientId: 'urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446',
  ssSourceId: 'urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832',
  ssUniqueId: 'urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8',
  deAuthor: 'urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d',
  deClass: 'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a',
  deConfidentiality: 'urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f',
  deFormat: 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d',
  deFacility: 'urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1',
  dePractice: 'urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead',
  deType: 'urn:uuid:f0306f51-975f-434e-a61c-c59651d33983',
  dePatientId: 'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427',
  deUniqueId: 'urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab',
  deEventCode: 'urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4',
} as const;

const ASSOCIATION = {
  hasMember: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember',
  replace: 'urn:ihe:iti:2007:AssociationType:RPLC',
  signs: 'urn:ihe:iti:2007:AssociationType:signs',
} as const;

interface Code {
  code: string;
  display: string;
  scheme: string;
}

const CLASS_CR: Code = { code: '10', display: 'Compte rendu', scheme: '1.2.250.1.213.1.1.4.1' };
const TYPE_CRBIO: Code = { code: '11502-2', display: "CR d'examens biologiques", scheme: '2.16.840.1.113883.6.1' };
const FORMAT: Record<'n3' | 'n1', Code> = {
  n3: { code: 'urn:ihe:lab:xd-lab:2008', display: "Compte rendu structuré d'examens de biologie médicale", scheme: '1.3.6.1.4.1.19376.1.2.3' },
  n1: { code: 'urn:ihe:iti:xds-sd:pdf:2008', display: 'Document à corps non structuré en Pdf/A-1', scheme: '1.3.6.1.4.1.19376.1.2.3' },
};
const NORMAL: Code = { code: 'N', display: 'Normal', scheme: '2.16.840.1.113883.5.25' };
/** The submission set's signature document (§1.6): the codes both clients known to pass the DMP send. */
const SIGNATURE = {
  class: { code: 'urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1', display: 'Digital Signature', scheme: 'URN' },
  type: { code: 'E1762', display: 'Full Document', scheme: 'ASTM' },
  format: { code: 'http://www.w3.org/2000/09/xmldsig#', display: 'Default Signature Style', scheme: 'URN' },
  event: { code: '1.2.840.10065.1.12.1.14', display: 'Source', scheme: '1.2.840.10065.1.12' },
} satisfies Record<string, Code>;
const MASKED: Code = { code: 'MASQUE_PS', display: 'Masqué aux professionnels de santé', scheme: '1.2.250.1.213.1.1.4.13' };
const NOT_FOR_PATIENT: Code = { code: 'INVISIBLE_PATIENT', display: 'Non visible par le patient', scheme: '1.2.250.1.213.1.1.4.13' };
const VISIBILITY_SCHEME = '1.2.250.1.213.1.1.4.13';
const CONTENT_BIOLOGY: Code = { code: '26', display: 'Analyses médicales biologiques', scheme: '1.2.250.1.213.2.2' };
const PRACTICE: Record<'AMBULATOIRE' | 'ETABLISSEMENT', Code> = {
  AMBULATOIRE: { code: 'AMBULATOIRE', display: 'Ambulatoire', scheme: '1.2.250.1.213.1.1.4.9' },
  ETABLISSEMENT: { code: 'ETABLISSEMENT', display: 'Etablissement de santé', scheme: '1.2.250.1.213.1.1.4.9' },
};
const RPPS_OID = '1.2.250.1.71.4.2.1';
const FINESS_OID = '1.2.250.1.71.4.2.2';

export interface XdsDocument {
  /** Symbolic id in this submission (`Document01`…) or a `urn:uuid:` entryUUID. */
  entryId: string;
  /** A CDA (N3, N1), or the submission set's XAdES signature (DMP). */
  kind: 'n3' | 'n1' | 'signature';
  xml: string;
  /** A signature's uniqueId and signing time (a CDA's come from its header). */
  signature?: { uniqueId: string; time: Date };
  /** XDM only: the file's name in SUBSET01 (`DOC0001.XML`); hash and size are then written too. */
  uri?: string;
  /** entryUUID of the document it replaces, as known from its own submission (RPLC). */
  replaces?: string;
}

/** Who the documents are about and who signed them: from the typed report, or read back from an N3 (xdsFactsOfCda). */
export interface XdsFacts {
  patient: Pick<Patient, 'ins' | 'identifiers' | 'birthFamily' | 'firstBirthGiven' | 'birthDate' | 'sex'>;
  author: Professional;
}

export function xdsFactsOfReport(report: Report, lab: LabProfile): XdsFacts {
  return { patient: report.patient, author: report.validator ?? lab.director };
}

const INS_ROOTS = new Set(['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11']);

/** The same facts read back from a CR-BIO N3 of ours (recordTarget, legalAuthenticator): for documents given as files. */
export function xdsFactsOfCda(n3: string): XdsFacts {
  const rt = /<recordTarget>[\s\S]*?<\/recordTarget>/.exec(n3)?.[0];
  const la = /<legalAuthenticator>[\s\S]*?<\/legalAuthenticator>/.exec(n3)?.[0];
  if (!rt || !la) throw new Error('not a CR-BIO N3: no recordTarget or legalAuthenticator');
  const ids = [...rt.matchAll(/<id root="([^"]+)" extension="([^"]+)"\/>/g)].map((m) => ({ root: m[1]!, ext: unescapeXml(m[2]!) }));
  const ins = ids.find((i) => INS_ROOTS.has(i.root));
  const patient: XdsFacts['patient'] = {
    identifiers: ids.filter((i) => !INS_ROOTS.has(i.root)).map((i) => ({ id: i.ext, authorityOid: i.root, type: 'PI' })),
    birthFamily: unescapeXml(/<family qualifier="BR">([^<]*)</.exec(rt)?.[1] ?? ''),
    firstBirthGiven: unescapeXml(/<given>([^<]*)</.exec(rt)?.[1] ?? ''),
    sex: (/<administrativeGenderCode code="([FMU])"/.exec(rt)?.[1] ?? 'U') as 'F' | 'M' | 'U',
  };
  if (ins) patient.ins = { matricule: ins.ext, oid: ins.root, nature: ins.root === '1.2.250.1.213.1.4.9' ? 'NIA' : 'NIR' };
  const birth = /<birthTime value="(\d+)"/.exec(rt)?.[1];
  if (birth) patient.birthDate = birth;
  const author: Professional = {};
  const aid = /<id root="1\.2\.250\.1\.71\.4\.2\.1" extension="([^"]+)"/.exec(la)?.[1];
  if (aid) author.id = aid;
  const fam = /<family>([^<]*)</.exec(la)?.[1];
  const giv = /<given>([^<]*)</.exec(la)?.[1];
  if (fam) author.family = unescapeXml(fam);
  if (giv) author.given = unescapeXml(giv);
  return { patient, author };
}

export interface SubmissionInput {
  facts: XdsFacts;
  lab: LabProfile;
  documents: XdsDocument[];
  /** New OID per submission. */
  submissionUniqueId: string;
  /** OID of the sending system. */
  sourceId: string;
  submissionTime: Date;
  visibility: { maskedFromProfessionals: boolean; invisibleToPatient: boolean; invisibleToLegalRepresentatives: boolean };
  /** City lab (default) or hospital lab (JDV_J04). */
  practiceSetting?: 'AMBULATOIRE' | 'ETABLISSEMENT';
}

/** `<matricule>^^^&<oid>&ISO^NH` for a qualified INS, else the first local id `<id>^^^&<oid>&ISO^PI`. */
export function patientIdOf(facts: XdsFacts, lab: LabProfile): string {
  const ins = facts.patient.ins;
  if (ins) return `${ins.matricule}^^^&${ins.oid}&ISO^NH`;
  const ipp = facts.patient.identifiers.find((i) => (i.type ?? 'PI').toUpperCase() === 'PI');
  return `${ipp?.id ?? 'UNKNOWN'}^^^&${ipp?.authorityOid ?? lab.patientIdRoot}&ISO^PI`;
}

export function buildSubmitObjectsRequest(o: SubmissionInput): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.LCM, 'lcm:SubmitObjectsRequest').att('xmlns:rim', NS.RIM);
  const list = root.ele(NS.RIM, 'rim:RegistryObjectList');
  const patientId = patientIdOf(o.facts, o.lab);
  const author = authorSlots(o.facts.author, o.lab);
  let n = 0;
  const id = (p: string): string => `${p}${++n}`;

  for (const d of o.documents) {
    if (d.kind === 'signature') {
      signatureEntry(list, d, o, author, patientId, id);
      continue;
    }
    const h = headerOf(d.xml);
    const eo = list.ele(NS.RIM, 'rim:ExtrinsicObject').att({ id: d.entryId, mimeType: 'text/xml', objectType: SCHEME.documentEntry });
    slot(eo, 'creationTime', [h.effectiveTime.slice(0, 14)]);
    if (d.uri) {
      slot(eo, 'hash', [createHash('sha1').update(d.xml, 'utf8').digest('hex')]);
      slot(eo, 'size', [String(Buffer.byteLength(d.xml, 'utf8'))]);
      slot(eo, 'URI', [d.uri]);
    }
    slot(eo, 'languageCode', ['fr-FR']);
    slot(eo, 'legalAuthenticator', [author.person]);
    if (h.serviceStart) slot(eo, 'serviceStartTime', [h.serviceStart.slice(0, 14)]);
    if (h.serviceStop) slot(eo, 'serviceStopTime', [h.serviceStop.slice(0, 14)]);
    slot(eo, 'sourcePatientId', [sourcePatientId(o.facts, o.lab)]);
    slot(eo, 'sourcePatientInfo', sourcePatientInfo(o.facts));
    name(eo, h.title);
    const a = classification(eo, SCHEME.deAuthor, d.entryId, '', id('cl'));
    slot(a, 'authorPerson', [author.person]);
    slot(a, 'authorInstitution', [author.institution]);
    slot(a, 'authorSpecialty', [author.specialty]);
    coded(eo, SCHEME.deClass, d.entryId, CLASS_CR, id('cl'));
    coded(eo, SCHEME.deConfidentiality, d.entryId, NORMAL, id('cl'));
    const v = o.visibility;
    if (v.maskedFromProfessionals) coded(eo, SCHEME.deConfidentiality, d.entryId, MASKED, id('cl'));
    if (v.invisibleToPatient) coded(eo, SCHEME.deConfidentiality, d.entryId, NOT_FOR_PATIENT, id('cl'));
    if (v.invisibleToLegalRepresentatives) coded(eo, SCHEME.deConfidentiality, d.entryId, { code: 'INVISIBLE_REPRESENTANTS_LEGAUX', display: 'Non visible par les représentants légaux du patient', scheme: VISIBILITY_SCHEME }, id('cl'));
    coded(eo, SCHEME.deFormat, d.entryId, FORMAT[d.kind as 'n3' | 'n1'], id('cl'));
    coded(eo, SCHEME.deFacility, d.entryId, { code: o.lab.facilityCode.code, display: o.lab.facilityCode.display, scheme: '1.2.250.1.71.4.2.4' }, id('cl'));
    coded(eo, SCHEME.dePractice, d.entryId, PRACTICE[o.practiceSetting ?? 'AMBULATOIRE'], id('cl'));
    coded(eo, SCHEME.deType, d.entryId, TYPE_CRBIO, id('cl'));
    external(eo, SCHEME.dePatientId, d.entryId, patientId, 'XDSDocumentEntry.patientId', id('ei'));
    external(eo, SCHEME.deUniqueId, d.entryId, h.uniqueId, 'XDSDocumentEntry.uniqueId', id('ei'));
  }

  submissionSet(list, o, author, patientId, id);

  for (const d of o.documents) {
    const as = list.ele(NS.RIM, 'rim:Association').att({ id: id('as'), associationType: ASSOCIATION.hasMember, sourceObject: 'SubmissionSet01', targetObject: d.entryId });
    slot(as, 'SubmissionSetStatus', ['Original']);
    if (d.replaces) list.ele(NS.RIM, 'rim:Association').att({ id: id('as'), associationType: ASSOCIATION.replace, sourceObject: d.entryId, targetObject: d.replaces });
    if (d.kind === 'signature') {
      const signs = list.ele(NS.RIM, 'rim:Association').att({ id: id('as'), associationType: ASSOCIATION.signs, sourceObject: d.entryId, targetObject: 'SubmissionSet01' });
      slot(signs, 'SubmissionSetStatus', ['Original']);
    }
  }
  return root.end({ prettyPrint: true });
}

type SubmissionSetInput = Pick<SubmissionInput, 'facts' | 'lab' | 'submissionUniqueId' | 'sourceId' | 'submissionTime'>;

/** The RegistryPackage `SubmissionSet01` and its classification node. */
function submissionSet(list: XMLBuilder, o: SubmissionSetInput, author: ReturnType<typeof authorSlots>, patientId: string, id: (p: string) => string): void {
  const ss = list.ele(NS.RIM, 'rim:RegistryPackage').att('id', 'SubmissionSet01');
  slot(ss, 'submissionTime', [utc(o.submissionTime)]);
  name(ss, "CR d'examens biologiques");
  const sa = classification(ss, SCHEME.ssAuthor, 'SubmissionSet01', '', id('cl'));
  slot(sa, 'authorPerson', [author.person]);
  slot(sa, 'authorInstitution', [author.institution]);
  slot(sa, 'authorSpecialty', [author.specialty]);
  coded(ss, SCHEME.ssContentType, 'SubmissionSet01', CONTENT_BIOLOGY, id('cl'));
  external(ss, SCHEME.ssPatientId, 'SubmissionSet01', patientId, 'XDSSubmissionSet.patientId', id('ei'));
  external(ss, SCHEME.ssSourceId, 'SubmissionSet01', o.sourceId, 'XDSSubmissionSet.sourceId', id('ei'));
  external(ss, SCHEME.ssUniqueId, 'SubmissionSet01', o.submissionUniqueId, 'XDSSubmissionSet.uniqueId', id('ei'));
  list.ele(NS.RIM, 'rim:Classification').att({ id: id('cl'), classifiedObject: 'SubmissionSet01', classificationNode: SCHEME.submissionSet });
}

/**
 * ITI-57 Update Document Set: the documents' availability changed to Deleted
 * (urn:asip:ci-sis:2010:StatusType:Deleted, ../shared/docs/dmp-mss-ins.md §1.8), one
 * UpdateAvailabilityStatus association per entryUUID, in a submission set of their own.
 */
export function buildDeletionRequest(o: SubmissionSetInput & { entries: string[] }): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.LCM, 'lcm:SubmitObjectsRequest').att('xmlns:rim', NS.RIM);
  const list = root.ele(NS.RIM, 'rim:RegistryObjectList');
  let n = 0;
  const id = (p: string): string => `${p}${++n}`;
  submissionSet(list, o, authorSlots(o.facts.author, o.lab), patientIdOf(o.facts, o.lab), id);
  for (const entry of o.entries) {
    const as = list.ele(NS.RIM, 'rim:Association').att({
      id: id('as'),
      objectType: 'urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association',
      associationType: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
      sourceObject: 'SubmissionSet01',
      targetObject: entry,
    });
    slot(as, 'OriginalStatus', ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved']);
    slot(as, 'NewStatus', [DELETED_STATUS]);
  }
  return root.end({ prettyPrint: true });
}

export const DELETED_STATUS = 'urn:asip:ci-sis:2010:StatusType:Deleted';

/** The signature document's entry: never shown (masked, invisible to the patient), language `art`, times = signing time. */
function signatureEntry(list: XMLBuilder, d: XdsDocument, o: SubmissionInput, author: ReturnType<typeof authorSlots>, patientId: string, id: (p: string) => string): void {
  const sig = d.signature;
  if (!sig) throw new Error('a signature document needs its uniqueId and signing time');
  const at = utc(sig.time);
  const eo = list.ele(NS.RIM, 'rim:ExtrinsicObject').att({ id: d.entryId, mimeType: 'text/xml', objectType: SCHEME.documentEntry });
  slot(eo, 'creationTime', [at]);
  slot(eo, 'languageCode', ['art']);
  slot(eo, 'legalAuthenticator', [author.person]);
  slot(eo, 'serviceStartTime', [at]);
  slot(eo, 'serviceStopTime', [at]);
  slot(eo, 'sourcePatientId', [sourcePatientId(o.facts, o.lab)]);
  name(eo, 'Source');
  const a = classification(eo, SCHEME.deAuthor, d.entryId, '', id('cl'));
  slot(a, 'authorPerson', [author.person]);
  slot(a, 'authorInstitution', [author.institution]);
  slot(a, 'authorSpecialty', [author.specialty]);
  coded(eo, SCHEME.deClass, d.entryId, SIGNATURE.class, id('cl'));
  for (const c of [NORMAL, MASKED, NOT_FOR_PATIENT]) coded(eo, SCHEME.deConfidentiality, d.entryId, c, id('cl'));
  coded(eo, SCHEME.deEventCode, d.entryId, SIGNATURE.event, id('cl'));
  coded(eo, SCHEME.deFormat, d.entryId, SIGNATURE.format, id('cl'));
  coded(eo, SCHEME.deFacility, d.entryId, { code: o.lab.facilityCode.code, display: o.lab.facilityCode.display, scheme: '1.2.250.1.71.4.2.4' }, id('cl'));
  coded(eo, SCHEME.dePractice, d.entryId, PRACTICE[o.practiceSetting ?? 'AMBULATOIRE'], id('cl'));
  coded(eo, SCHEME.deType, d.entryId, SIGNATURE.type, id('cl'));
  external(eo, SCHEME.dePatientId, d.entryId, patientId, 'XDSDocumentEntry.patientId', id('ei'));
  external(eo, SCHEME.deUniqueId, d.entryId, sig.uniqueId, 'XDSDocumentEntry.uniqueId', id('ei'));
}

/** What the DocumentEntry takes from the CDA's own header (our builder writes it, so its shape is known). */
function headerOf(xml: string): { uniqueId: string; effectiveTime: string; title: string; serviceStart?: string; serviceStop?: string } {
  const id = /<id root="([^"]+)"(?: extension="([^"]+)")?/.exec(xml);
  const eff = /<effectiveTime value="([^"]+)"/.exec(xml);
  if (!id || !eff) throw new Error('not a CDA document of ours: no ClinicalDocument id / effectiveTime');
  const se = /<serviceEvent[\s\S]*?<\/serviceEvent>/.exec(xml)?.[0] ?? '';
  const out: ReturnType<typeof headerOf> = {
    uniqueId: id[2] ? `${id[1]}^${id[2]}` : id[1]!,
    effectiveTime: eff[1]!,
    title: unescapeXml(/<title>([^<]*)<\/title>/.exec(xml)?.[1] ?? "CR d'examens biologiques"),
  };
  const low = /<low value="([^"]+)"/.exec(se)?.[1];
  const high = /<high value="([^"]+)"/.exec(se)?.[1];
  if (low) out.serviceStart = low;
  if (high) out.serviceStop = high;
  return out;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** authorPerson (XCN, RPPS as IDNPS), authorInstitution (XON, Struct_IdNat = 1 + FINESS), authorSpecialty. */
function authorSlots(p: Professional, lab: LabProfile): { person: string; institution: string; specialty: string } {
  const rpps = p.id ?? '';
  const person = `${rpps}^${p.family ?? ''}^${p.given ?? ''}^^^^^^&${RPPS_OID}&ISO^D^^^IDNPS`;
  const finess = lab.lab.finess ?? lab.lab.id ?? '';
  const institution = `${lab.lab.name}^^^^^&${FINESS_OID}&ISO^IDNST^^^1${finess}`;
  const s = lab.authorSpecialty;
  return { person, institution, specialty: `${s.code}^${s.display}^${s.system}` };
}

function sourcePatientId(facts: XdsFacts, lab: LabProfile): string {
  const ipp = facts.patient.identifiers.find((i) => (i.type ?? 'PI').toUpperCase() === 'PI');
  return ipp ? `${ipp.id}^^^&${ipp.authorityOid ?? lab.patientIdRoot}&ISO^PI` : patientIdOf(facts, lab);
}

function sourcePatientInfo(facts: XdsFacts): string[] {
  const p = facts.patient;
  const out = [`PID-5|${p.birthFamily}^${p.firstBirthGiven}^^^^^L`];
  if (p.birthDate) out.push(`PID-7|${p.birthDate}`);
  out.push(`PID-8|${p.sex}`);
  return out;
}

function utc(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function slot(parent: XMLBuilder, slotName: string, values: string[]): void {
  const list = parent.ele(NS.RIM, 'rim:Slot').att('name', slotName).ele(NS.RIM, 'rim:ValueList');
  for (const v of values) list.ele(NS.RIM, 'rim:Value').txt(v);
}

function name(parent: XMLBuilder, text: string): void {
  parent.ele(NS.RIM, 'rim:Name').ele(NS.RIM, 'rim:LocalizedString').att({ value: text, charset: 'UTF-8', 'xml:lang': 'fr-FR' });
}

function classification(parent: XMLBuilder, scheme: string, object: string, node: string, clId: string): XMLBuilder {
  return parent.ele(NS.RIM, 'rim:Classification').att({ id: clId, classificationScheme: scheme, classifiedObject: object, nodeRepresentation: node });
}

function coded(parent: XMLBuilder, scheme: string, object: string, c: Code, clId: string): void {
  const cl = classification(parent, scheme, object, c.code, clId);
  slot(cl, 'codingScheme', [c.scheme]);
  name(cl, c.display);
}

function external(parent: XMLBuilder, scheme: string, object: string, value: string, label: string, eiId: string): void {
  parent
    .ele(NS.RIM, 'rim:ExternalIdentifier')
    .att({ id: eiId, registryObject: object, identificationScheme: scheme, value })
    .ele(NS.RIM, 'rim:Name')
    .ele(NS.RIM, 'rim:LocalizedString')
    .att('value', label);
}

/**
 * The DMP requests of a version (../shared/docs/dmp-mss-ins.md §1.3–1.6): the ITI-41 filing
 * (N3, N1, the XAdES signature of the submission set, RPLC to the entries the DMP holds, the
 * VIHF) and what it needs. Pure work on the version's files: DmpDelivery runs it in a worker
 * thread (filing-pool.ts), the benchmark's ceiling calls it directly.
 */
import { randomUUID } from 'node:crypto';
import type { LabProfile } from '../../lab';
import type { DmpConfig } from '../../config/channel-schema';
import { PasserelleError } from '../../errors';
import type { WrittenVersion } from '../version-folder';
import { buildSubmitObjectsRequest, xdsFactsOfCda, type XdsDocument, type XdsFacts } from '../xds/metadata';
import { entryUuidOf } from '../xds/xdm';
import type { Seal } from './signer';
import { provideAndRegister, type SoapRequest } from './soap';
import { buildVihf } from './vihf';
import { buildXades } from './xades';

/** `2.25.<uuid as an integer>`: an OID nobody else issues (ITU-T X.667), for submission sets and signatures. */
export function newOid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

export function cdaUniqueId(xml: string): string {
  const m = /<id root="([^"]+)"(?: extension="([^"]+)")?/.exec(xml);
  if (!m) throw new PasserelleError('PSL_MESSAGE_MISSING', 'a document of the version has no ClinicalDocument id');
  return m[2] ? `${m[1]}^${m[2]}` : m[1]!;
}

export interface FilingInput {
  seal: Seal;
  lab: LabProfile;
  config: Pick<DmpConfig, 'responsible' | 'structureId' | 'activitySector' | 'software' | 'practiceSetting' | 'sourceId'>;
  /** The version to file, and the last one the DMP holds of the report (its entries are replaced). */
  shown: WrittenVersion;
  holds?: WrittenVersion;
  /** `<url>/repository`: WS-Addressing To. */
  endpoint: string;
  now?: Date;
}

/** The ITI-41 request of a version: N3, N1 and the XAdES of the submission set, RPLC to what the DMP holds, the VIHF. */
export interface Filing {
  request: SoapRequest;
  n3Entry: string;
  n1Entry?: string;
  n3UniqueId: string;
  submissionUniqueId: string;
}

export function filingRequest(o: FilingInput): Filing {
  const facts = xdsFactsOfCda(o.shown.n3);
  const now = o.now ?? new Date();
  const n3UniqueId = cdaUniqueId(o.shown.n3);
  const docs: XdsDocument[] = [{ entryId: entryUuidOf(n3UniqueId), kind: 'n3', xml: o.shown.n3, ...(o.holds ? { replaces: entryUuidOf(cdaUniqueId(o.holds.n3)) } : {}) }];
  if (o.shown.n1) docs.push({ entryId: entryUuidOf(cdaUniqueId(o.shown.n1)), kind: 'n1', xml: o.shown.n1, ...(o.holds?.n1 ? { replaces: entryUuidOf(cdaUniqueId(o.holds.n1)) } : {}) });
  const submissionUniqueId = newOid();
  const signatureId = newOid();
  const signature = buildXades({ seal: o.seal, signatureId, submissionUniqueId, documents: docs.map((d) => ({ uniqueId: cdaUniqueId(d.xml), xml: d.xml })), now });
  const cdas = docs.length;
  docs.push({ entryId: entryUuidOf(signatureId), kind: 'signature', xml: signature, signature: { uniqueId: signatureId, time: now } });
  const submitObjects = buildSubmitObjectsRequest({
    facts,
    lab: o.lab,
    documents: docs,
    submissionUniqueId,
    sourceId: sourceIdOf(o.config, o.lab),
    submissionTime: now,
    visibility: o.shown.visibility,
    practiceSetting: o.config.practiceSetting,
  });
  const request = provideAndRegister({ to: o.endpoint, vihf: vihfFor(o.seal, o.lab, o.config, facts), submitObjects, documents: docs.map((d) => ({ id: d.entryId, content: Buffer.from(d.xml, 'utf8') })) });
  return { request, n3Entry: docs[0]!.entryId, ...(cdas > 1 ? { n1Entry: docs[1]!.entryId } : {}), n3UniqueId, submissionUniqueId };
}

export function sourceIdOf(config: Pick<DmpConfig, 'sourceId'>, lab: LabProfile): string {
  return config.sourceId ?? lab.documentIdRoot;
}

/** The VIHF of a request about the patient of `facts` (qualified INS required). */
export function vihfFor(seal: Seal, lab: LabProfile, c: FilingInput['config'], facts: XdsFacts): string {
  const structureId = c.structureId ?? `1${lab.lab.finess ?? lab.lab.id ?? ''}`;
  const ins = facts.patient.ins;
  if (!ins) throw new PasserelleError('PSL_INS_NOT_QUALIFIED', 'the DMP is fed only for a qualified INS');
  return buildVihf({
    seal,
    responsible: c.responsible ?? `${structureId}/${lab.director.id ?? ''}`,
    structureId,
    activitySector: c.activitySector ?? `${lab.facilityCode.code}^1.2.250.1.71.4.2.4`,
    subjectId: `${c.software.name}, ${lab.lab.name}`,
    patient: { matricule: ins.matricule, oid: ins.oid },
    software: c.software,
  });
}

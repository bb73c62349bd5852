/**
 * What a lab configures once per channel and every document repeats: who the lab is, its
 * Cofrac accreditation, its mentions (DOC.07–DOC.10), its OIDs. Read from the channel file's
 * `documents.lab` block (engine/config/channel-schema.ts); defaults in DEFAULT_LAB_PROFILE.
 */
import type { Address, Organization, Professional } from './report';

export type CrBioVersion = '2024.01' | '2021.01';

/** Which audience a document is for (DOC.02). */
export type DocumentProfile = 'pro' | 'patient';

export interface LabProfile {
  /** The reporting lab (custodian, author organization, header performer). */
  lab: Organization & { finess?: string };
  /** Lab director / responsible biologist (componentOf responsibleParty, performer). */
  director: Professional;
  /** Cofrac accreditation number and scope reference; undefined when not accredited. */
  cofrac?: { number: string; scope?: string };
  /** Codes (LOINC or local) of accredited tests; marked `*` with the legend (DOC.10). */
  accreditedCodes: string[];
  /** Printed at the bottom of every report (DOC.08). */
  rgpdText: string;
  /** Printed when any result was auto-validated (DOC.09). */
  autoValidationText: string;
  /**
   * OID under which this lab numbers its documents: document ids are `<root>.<n>` and
   * set ids `<root>.<m>`, never reused (engine/cda/ids.ts).
   */
  documentIdRoot: string;
  /** OID of the lab's order numbers (inFulfillmentOf/order/id root). */
  orderIdRoot: string;
  /** OID of the lab's patient identifiers (IPP) when PID-3 sends none. */
  patientIdRoot: string;
  /** Software that authors the document (author/assignedAuthoringDevice). */
  software: { name: string; version: string };
  /** Cadre d'exercice (standardIndustryClassCode, JDV_J162 / 1.2.250.1.213.1.1.4.9). */
  sectorCode: { code: string; display: string };
  /** healthCareFacility code (JDV_J02 / 1.2.250.1.71.4.2.4), e.g. SA25. */
  facilityCode: { code: string; display: string };
  /** Author's professional role code (JDV_J01 / 1.2.250.1.71.4.2.7), e.g. SM26 Biologie médicale. */
  authorSpecialty: { code: string; display: string; system: string };
  /** Lab address/telecom used wherever the CDA asks one and the message gave none. */
  address: Address;
  telecom: string[];
}

/** How one document set is requested. */
export interface RenderOptions {
  version: CrBioVersion;
  profile: DocumentProfile;
  /** Document id (OID). Defaults to one derived from the lab root and source message. */
  documentId?: string;
  /** Set id shared by every version of this report; versionNumber increments on replacement. */
  setId?: string;
  versionNumber?: number;
  /** Id of the document this one replaces (relatedDocument RPLC). */
  replaces?: string;
  /** Document creation time, CDA TS; defaults to now. */
  effectiveTime?: string;
  /** DMP masking / visibility choices kept as metadata (DOC.15/16). */
  visibility?: { maskedFromProfessionals?: boolean; invisibleToPatient?: boolean; invisibleToLegalRepresentatives?: boolean };
}

/** Metadata that travels with a document set to delivery (DMP, MSSanté). */
export interface DocumentMetadata {
  documentId: string;
  setId: string;
  versionNumber: number;
  version: CrBioVersion;
  profile: DocumentProfile;
  effectiveTime: string;
  /** True only for a qualified identity; otherwise no INS is in any document. */
  insQualified: boolean;
  /** Why the INS was left out (non-qualified identity, bad key, unknown OID). */
  insRefusedReason?: string;
  /** Patient MSSanté and DMP feeding need a qualified INS. */
  patientMssAllowed: boolean;
  dmpAllowed: boolean;
  confidentiality: { maskedFromProfessionals: boolean; invisibleToPatient: boolean; invisibleToLegalRepresentatives: boolean };
  completeness: 'partial' | 'complete';
  pdfFileName: string;
  /** Prescriber and copies, with their MSSanté addresses when known (DOC.07, DOC.11). */
  recipients: Array<{ name: string; mssante?: string; role: 'prescriber' | 'copy' }>;
}

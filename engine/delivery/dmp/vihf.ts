/**
 * The VIHF: the SAML 2.0 assertion that says who feeds the DMP, signed with the organisation
 * seal (../shared/docs/dmp-mss-ins.md §1.3, "Mapping VIHF pour le DMP", automated case):
 * Issuer = the seal's subject DN, an enveloped XMLDSig right after it (exc-c14n, rsa-sha256),
 * Subject/NameID = the person responsible for the processing, and the attributes the DMP reads
 * (VIHF_Version 3.0, INDIRECTE, structure, sector, patient INS, role AUTOMATE, purpose normal,
 * software). One per request: its ID and instants are fresh.
 */
import { randomUUID } from 'node:crypto';
import { create } from 'xmlbuilder2';
import { SignedXml } from 'xml-crypto';
import type { Seal } from './signer';

export const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const HL7_NS = 'urn:hl7-org:v3';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

export interface VihfInput {
  seal: Seal;
  /** Subject/NameID: the person responsible for the automated processing (`<structure>/<id>`). */
  responsible: string;
  /** Identifiant_Structure (Struct_IdNat, e.g. `1` + FINESS). */
  structureId: string;
  /** Secteur_Activite, `<code>^<OID>` from JDV_J61 (a lab: `SA25^1.2.250.1.71.4.2.4`). */
  activitySector: string;
  /** subject-id of an automated processing: software, model, service. */
  subjectId: string;
  patient: { matricule: string; oid: string };
  software: { name: string; version: string; id?: string; homologation?: string };
  now?: Date;
}

export function buildVihf(o: VihfInput): string {
  const now = (o.now ?? new Date()).toISOString();
  const id = `_${randomUUID()}`;
  const a = create().ele(SAML_NS, 'Assertion').att({ 'xmlns:xsi': XSI_NS, ID: id, IssueInstant: now, Version: '2.0' });
  a.ele(SAML_NS, 'Issuer').att('Format', 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName').txt(o.seal.subjectDn);
  a.ele(SAML_NS, 'Subject').ele(SAML_NS, 'NameID').txt(o.responsible);
  a.ele(SAML_NS, 'AuthnStatement').att('AuthnInstant', now).ele(SAML_NS, 'AuthnContext').ele(SAML_NS, 'AuthnContextClassRef').txt('urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified');
  const st = a.ele(SAML_NS, 'AttributeStatement');
  const attr = (name: string, value: string): void => void st.ele(SAML_NS, 'Attribute').att('Name', name).ele(SAML_NS, 'AttributeValue').txt(value);
  attr('VIHF_Version', '3.0');
  attr('Authentification_Mode', 'INDIRECTE');
  attr('Identifiant_Structure', o.structureId);
  attr('Secteur_Activite', o.activitySector);
  attr('urn:oasis:names:tc:xspa:1.0:subject:subject-id', o.subjectId);
  attr('urn:oasis:names:tc:xacml:2.0:resource:resource-id', `${o.patient.matricule}^^^&${o.patient.oid}&ISO^NH`);
  attr('Ressource_URN', 'urn:dmp');
  st.ele(SAML_NS, 'Attribute')
    .att('Name', 'urn:oasis:names:tc:xspa:1.0:subject:purposeofuse')
    .ele(SAML_NS, 'AttributeValue')
    .ele(HL7_NS, 'PurposeOfUse')
    .att({ code: 'normal', codeSystem: '1.2.250.1.213.1.1.4.248', codeSystemName: 'mode acces VIHF 1.0', displayName: 'Accès normal', 'xsi:type': 'CE' });
  st.ele(SAML_NS, 'Attribute')
    .att('Name', 'urn:oasis:names:tc:xacml:2.0:subject:role')
    .ele(SAML_NS, 'AttributeValue')
    .ele(HL7_NS, 'Role')
    .att({ code: 'AUTOMATE', codeSystem: '1.2.250.1.213.1.1.4.6', displayName: 'AUTOMATE', 'xsi:type': 'CE' });
  if (o.software.id) attr('LPS_ID', o.software.id);
  attr('LPS_Nom', o.software.name);
  attr('LPS_Version', o.software.version);
  if (o.software.homologation) attr('LPS_ID_HOMOLOGATION_DMP', o.software.homologation);

  const sig = new SignedXml({
    privateKey: o.seal.keyPem,
    publicCert: o.seal.certPem,
    canonicalizationAlgorithm: EXC_C14N,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
  sig.addReference({
    xpath: `/*[local-name(.)='Assertion']`,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  // SAML wants the signature right after the Issuer.
  sig.computeSignature(a.end({ headless: true }), { location: { reference: `/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

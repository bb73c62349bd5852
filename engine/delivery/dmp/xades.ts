/**
 * The signature document of a DMP submission set (IHE DSG style, XAdES; ../shared/docs/
 * dmp-mss-ins.md §1.6): a detached XMLDSig whose SignedInfo covers an `IHEManifest` (one
 * Reference per item: the submission set by `urn:oid:` with the conventional dummy digest, each
 * document by `urn:oid:<uniqueId>` with the SHA-1 of its C14N-with-comments form) and the XAdES
 * SignedProperties (signing time, the seal's certificate digest and issuer/serial, implied
 * policy). C14N with comments and RSA-SHA1 as both clients known to pass the DMP send; the seal
 * signs. Its uniqueId is the signature's Id.
 */
import { createHash } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { C14nCanonicalizationWithComments, SignedXml } from 'xml-crypto';
import type { Seal } from './signer';

const DS = 'http://www.w3.org/2000/09/xmldsig#';
const XADES = 'http://uri.etsi.org/01903/v1.3.2#';
const C14N_WITH_COMMENTS = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
export const PURPOSE_SOURCE = '1.2.840.10065.1.12.1.14';

export interface XadesInput {
  seal: Seal;
  /** The signature document's uniqueId (an OID): the Signature's Id. */
  signatureId: string;
  submissionUniqueId: string;
  documents: { uniqueId: string; xml: string }[];
  now?: Date;
}

/** SHA-1 (base64) of a document in its C14N-with-comments form: what the manifest says of it. */
export function manifestDigest(xml: string): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const c14n = new C14nCanonicalizationWithComments().process(doc.documentElement as unknown as Node, {}) as string;
  return createHash('sha1').update(c14n, 'utf8').digest('base64');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function buildXades(o: XadesInput): string {
  const id = o.signatureId;
  const ref = (uri: string, digest: string): string =>
    `<ds:Reference URI="${escapeXml(uri)}"><ds:Transforms><ds:Transform Algorithm="${C14N_WITH_COMMENTS}"/></ds:Transforms><ds:DigestMethod Algorithm="${SHA1}"/><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;
  const manifest =
    `<ds:Manifest xmlns:ds="${DS}" Id="IHEManifest">` +
    `<ds:Reference URI="urn:oid:${escapeXml(o.submissionUniqueId)}"><ds:DigestMethod Algorithm="${SHA1}"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference>` +
    o.documents.map((d) => ref(`urn:oid:${d.uniqueId}`, manifestDigest(d.xml))).join('') +
    `</ds:Manifest>`;
  const purpose = `<ds:SignatureProperties xmlns:ds="${DS}"><ds:SignatureProperty Id="purposeOfSignature" Target="#${escapeXml(id)}">${PURPOSE_SOURCE}</ds:SignatureProperty></ds:SignatureProperties>`;
  const cert = o.seal.cert;
  const certDigest = createHash('sha1').update(cert.raw).digest('base64');
  const issuer = cert.issuer.split('\n').reverse().join(',');
  const serial = BigInt(`0x${cert.serialNumber}`).toString();
  const qualifying =
    `<xades:QualifyingProperties xmlns:xades="${XADES}" xmlns:ds="${DS}" Target="#${escapeXml(id)}">` +
    `<xades:SignedProperties Id="SignedProperties"><xades:SignedSignatureProperties>` +
    `<xades:SigningTime>${(o.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z')}</xades:SigningTime>` +
    `<xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="${SHA1}"/><ds:DigestValue>${certDigest}</ds:DigestValue></xades:CertDigest>` +
    `<xades:IssuerSerial><ds:X509IssuerName>${escapeXml(issuer)}</ds:X509IssuerName><ds:X509SerialNumber>${serial}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate>` +
    `<xades:SignaturePolicyIdentifier><xades:SignaturePolicyImplied/></xades:SignaturePolicyIdentifier>` +
    `</xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties>`;

  const sig = new SignedXml({
    privateKey: o.seal.keyPem,
    publicCert: o.seal.certPem,
    canonicalizationAlgorithm: C14N_WITH_COMMENTS,
    signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    objects: [{ content: manifest }, { content: purpose }, { content: qualifying }],
  });
  sig.addReference({ xpath: `//*[@Id='IHEManifest']`, transforms: [C14N_WITH_COMMENTS], digestAlgorithm: SHA1, type: 'http://www.w3.org/2000/09/xmldsig#Manifest' });
  sig.addReference({ xpath: `//*[@Id='SignedProperties']`, transforms: [C14N_WITH_COMMENTS], digestAlgorithm: SHA1, type: 'http://uri.etsi.org/01903#SignedProperties' });
  // A detached signature: the document is the Signature alone.
  sig.computeSignature('<SignatureDocument/>', { prefix: 'ds', attrs: { Id: id }, location: { reference: '/*', action: 'append' } });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${sig.getSignatureXml()}`;
}

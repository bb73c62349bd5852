/**
 * A DMP test double (issue 9, item 3): an HTTPS server that requires a client certificate from
 * the test CA and checks every request before it answers, as the DMP would:
 *
 *  - SOAP 1.2 envelope, WS-Addressing MessageID / To / Action (the action the endpoint serves);
 *  - the VIHF: its XML signature verifies with the certificate it carries, that certificate is
 *    issued by the test CA, Issuer = its subject, the attributes the DMP reads are there and the
 *    patient named is the submission's;
 *  - ITI-41 (`/repository`): MTOM parts resolved, the body valid against
 *    XDS.b_DocumentRepository.xsd of ../shared/xds, every code in its value set of
 *    ../shared/jdv, each `xdsb:Document` matching an ExtrinsicObject, the XAdES signature
 *    document verifying and its manifest digesting the documents sent, an RPLC pointing at an
 *    entry it holds, no uniqueId filed twice (XDSDuplicateUniqueIdInRegistry);
 *  - ITI-57 (`/registry`): valid against lcm.xsd, each UpdateAvailabilityStatus naming an entry
 *    it holds; the entry becomes Deleted.
 *
 * A request that fails a check is answered with a registry Failure and the problem is kept in
 * `problems` (tests assert it stays empty). `outage` makes it answer an HTTP status instead;
 * `refuseNext` a registry error (e.g. DMPClosed); `dropAnswers` files and then cuts the
 * connection, as an answer lost on the way.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { DOMParser } from '@xmldom/xmldom';
import { C14nCanonicalizationWithComments, SignedXml } from 'xml-crypto';
import type { TestPki } from './pki';
import { lcmSchema, lx, repositorySchema, sharedDir } from './xds';

const RIM = { rim: 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0' };
const SCHEME = {
  class: 'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a',
  type: 'urn:uuid:f0306f51-975f-434e-a61c-c59651d33983',
  format: 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d',
  confidentiality: 'urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f',
  facility: 'urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1',
  practice: 'urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead',
  patientId: 'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427',
  uniqueId: 'urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab',
  ssPatientId: 'urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446',
  ssUniqueId: 'urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8',
};
const ACTION = { repository: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b', registry: 'urn:ihe:iti:2010:UpdateDocumentSet' };

export interface HeldEntry {
  entryUuid: string;
  uniqueId: string;
  patientId: string;
  status: 'Approved' | 'Deprecated' | 'Deleted';
  format: string;
  xml: string;
}

export interface DmpRequest {
  service: 'repository' | 'registry';
  clientCn?: string;
  /** What the request did when accepted: entries filed (with RPLC targets), or deleted. */
  filed: { entryUuid: string; uniqueId: string; replaces?: string }[];
  deleted: string[];
  answer: 'success' | 'failure' | string;
}

function csvCodes(file: string): Set<string> {
  return new Set(readFileSync(join(sharedDir('jdv'), 'dmp', file), 'utf8').split('\n').slice(1).map((l) => l.split(',')[0]!).filter(Boolean));
}

/** The DMP's value sets by classification scheme (read when a checking double starts). */
function valueSets(): Record<string, Set<string>> {
  return {
    [SCHEME.class]: csvCodes('JDV_J57-ClassCode-DMP.csv'),
    [SCHEME.type]: csvCodes('JDV_J66-TypeCode-DMP.csv'),
    [SCHEME.format]: csvCodes('JDV_J60-FormatCode-DMP.csv'),
    [SCHEME.confidentiality]: csvCodes('JDV_J58-ConfidentialityCode-DMP.csv'),
    [SCHEME.facility]: csvCodes('JDV_J61-HealthcareFacilityTypeCode-DMP.csv'),
    [SCHEME.practice]: new Set([...readFileSync(join(sharedDir('jdv'), 'cisis-svs', 'JDV_J04_XdsPracticeSettingCode_CISIS.xml'), 'utf8').matchAll(/code="([^"]+)"/g)].map((m) => m[1]!)),
  };
}

type XmlDoc = ReturnType<typeof lx.parseXml>;
type XmlEl = { getAttribute(n: string): { value(): string } | null; text(): string; find(x: string, ns?: Record<string, string>): XmlEl[]; get(x: string, ns?: Record<string, string>): XmlEl | null };

const attrOf = (e: XmlEl | null, n: string): string => e?.getAttribute(n)?.value() ?? '';

class Refusal extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export class DmpDouble {
  readonly entries = new Map<string, HeldEntry>();
  readonly requests: DmpRequest[] = [];
  /** Checks a request failed: a test asserts this stays empty. */
  readonly problems: string[] = [];
  /** While set, every request is answered with this HTTP status (e.g. 503). */
  outage?: number;
  /** The next requests are answered with these registry errors (e.g. `DMPClosed`), one each. */
  refuseNext: { code: string; context: string }[] = [];
  /** The next requests are processed (filed) but their answer is lost: the connection is cut. */
  dropAnswers = 0;
  private server?: Server;
  private readonly repository?: ReturnType<typeof repositorySchema>;
  private readonly lcm?: ReturnType<typeof lcmSchema>;
  private readonly valueSets: Record<string, Set<string>> = {};
  private readonly ca: X509Certificate;

  /** Requests answered Success without checks (light mode). */
  accepted = 0;

  /**
   * @param light answer Success without checking nor keeping anything (benchmarks: the double
   *   must not be the bottleneck; the tests keep every check).
   */
  constructor(
    readonly port: number,
    private readonly pki: TestPki,
    private readonly light = false,
  ) {
    this.ca = new X509Certificate(pki.caCert);
    if (!light) {
      this.repository = repositorySchema();
      this.lcm = lcmSchema();
      this.valueSets = valueSets();
    }
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}/si-dmp-server/v2/services`;
  }

  async listen(): Promise<void> {
    this.server = createServer({ key: this.pki.serverKey, cert: this.pki.serverCert, ca: this.pki.caCert, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const service = req.url?.endsWith('/repository') ? 'repository' : req.url?.endsWith('/registry') ? 'registry' : undefined;
        const answer = (status: number, xml: string): void => {
          res.writeHead(status, { 'Content-Type': 'application/soap+xml; charset=UTF-8' });
          res.end(xml);
        };
        if (this.outage) {
          res.writeHead(this.outage, { 'Content-Type': 'text/plain' });
          res.end('service unavailable');
          return;
        }
        if (!service) return answer(404, fault('Sender', `no service at ${req.url}`));
        if (this.light) {
          this.accepted++;
          return answer(200, registryResponse());
        }
        const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
        const record: DmpRequest = { service, ...(cn ? { clientCn: Array.isArray(cn) ? cn[0]! : cn } : {}), filed: [], deleted: [], answer: 'failure' };
        this.requests.push(record);
        try {
          const refused = this.refuseNext.shift();
          if (refused) throw new Refusal(refused.code, refused.context);
          if (service === 'repository') this.provideAndRegister(String(req.headers['content-type'] ?? ''), Buffer.concat(chunks), record);
          else this.updateDocumentSet(String(req.headers['content-type'] ?? ''), Buffer.concat(chunks), record);
          record.answer = 'success';
          if (this.dropAnswers > 0) {
            this.dropAnswers--;
            record.answer = 'success (answer lost)';
            req.socket.destroy();
            return;
          }
          answer(200, registryResponse());
        } catch (e) {
          const r = e instanceof Refusal ? e : new Refusal('XDSRegistryMetadataError', (e as Error).message);
          if (!(e instanceof Refusal)) this.problems.push(r.message);
          else if (r.errorCode === 'XDSRegistryMetadataError') this.problems.push(r.message);
          record.answer = r.errorCode;
          answer(200, registryResponse(r));
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The entries of one patient, by status. */
  held(status?: HeldEntry['status']): HeldEntry[] {
    return [...this.entries.values()].filter((e) => !status || e.status === status);
  }

  private envelope(xml: string, service: 'repository' | 'registry'): XmlDoc {
    const env = lx.parseXml(xml);
    const ns = { s: 'http://www.w3.org/2003/05/soap-envelope', a: 'http://www.w3.org/2005/08/addressing', w: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd' };
    const need = (x: string, what: string): XmlEl => {
      const n = env.get(x, ns) as unknown as XmlEl | null;
      if (!n) throw new Error(`SOAP: ${what} missing`);
      return n;
    };
    need('/s:Envelope/s:Body', 'SOAP 1.2 Envelope/Body');
    if (!/^urn:uuid:[0-9a-f-]{36}$/.test(need('/s:Envelope/s:Header/a:MessageID', 'WS-Addressing MessageID').text())) throw new Error('SOAP: MessageID is not a urn:uuid');
    if (!need('/s:Envelope/s:Header/a:To', 'WS-Addressing To').text().endsWith(`/${service}`)) throw new Error('SOAP: To names another service');
    const action = need('/s:Envelope/s:Header/a:Action', 'WS-Addressing Action');
    if (action.text() !== ACTION[service]) throw new Error(`SOAP: action ${action.text()} on ${service}`);
    need('/s:Envelope/s:Header/w:Security', 'WS-Security header');
    return env;
  }

  /** The VIHF: signed by a seal of the test CA, naming the patient `patientId`. */
  private checkVihf(xml: string, patientId: string): void {
    const assertion = /<(?:\w+:)?Assertion\b[\s\S]*<\/(?:\w+:)?Assertion>/.exec(xml)?.[0];
    if (!assertion) throw new Error('VIHF: no SAML Assertion in the Security header');
    const doc = new DOMParser().parseFromString(assertion, 'text/xml');
    const sigNode = doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
    if (!sigNode) throw new Error('VIHF: not signed');
    const certB64 = /<(?:\w+:)?X509Certificate>([^<]+)</.exec(assertion)?.[1];
    if (!certB64) throw new Error('VIHF: no certificate in KeyInfo');
    const cert = new X509Certificate(Buffer.from(certB64, 'base64'));
    if (!cert.checkIssued(this.ca) || !cert.verify(this.ca.publicKey)) throw new Error('VIHF: the seal is not issued by the trusted CA');
    const sig = new SignedXml({ publicCert: cert.toString() });
    sig.loadSignature(sigNode as unknown as Node);
    if (!sig.checkSignature(assertion)) throw new Error('VIHF: the signature does not verify');
    const a = lx.parseXml(assertion);
    const S = { s: 'urn:oasis:names:tc:SAML:2.0:assertion' };
    const value = (name: string): string => (a.get(`//s:Attribute[@Name='${name}']/s:AttributeValue`, S) as unknown as XmlEl | null)?.text() ?? '';
    const issuer = (a.get('/s:Assertion/s:Issuer', S) as unknown as XmlEl | null)?.text() ?? '';
    if (issuer !== cert.subject.split('\n').join(', ')) throw new Error(`VIHF: Issuer ${issuer} is not the seal's subject`);
    if ((a.get('/s:Assertion/*[2]', S) as unknown as { name(): string } | null)?.name() !== 'Signature') throw new Error('VIHF: the signature is not right after the Issuer');
    for (const [n, v] of [['VIHF_Version', '3.0'], ['Authentification_Mode', 'INDIRECTE'], ['Ressource_URN', 'urn:dmp']] as const) if (value(n) !== v) throw new Error(`VIHF: ${n} is ${value(n) || 'absent'}, ${v} expected`);
    for (const n of ['Identifiant_Structure', 'Secteur_Activite', 'urn:oasis:names:tc:xspa:1.0:subject:subject-id', 'LPS_Nom', 'LPS_Version']) if (!value(n)) throw new Error(`VIHF: ${n} missing`);
    if (!/^SA\d+\^1\.2\.250\.1\.71\.4\.2\.4$/.test(value('Secteur_Activite'))) throw new Error('VIHF: Secteur_Activite is not a JDV_J61 code');
    if (value('urn:oasis:names:tc:xacml:2.0:resource:resource-id') !== patientId) throw new Error('VIHF: resource-id is not the submission patient');
    if (!/code="AUTOMATE"/.test(assertion)) throw new Error('VIHF: role AUTOMATE missing');
    if (!(a.get('//s:Subject/s:NameID', S) as unknown as XmlEl | null)?.text()) throw new Error('VIHF: Subject/NameID missing');
  }

  private provideAndRegister(contentType: string, body: Buffer, record: DmpRequest): void {
    const parts = mtomParts(contentType, body);
    const root = parts.root.toString('utf8');
    this.envelope(root, 'repository');
    // The logical body: each xop:Include replaced by its part, in base64 (what the XSD types say).
    const request = /<xdsb:ProvideAndRegisterDocumentSetRequest\b[\s\S]*<\/xdsb:ProvideAndRegisterDocumentSetRequest>/.exec(root)?.[0];
    if (!request) throw new Error('ITI-41: no ProvideAndRegisterDocumentSetRequest in the Body');
    const documents = new Map<string, Buffer>();
    const logical = request.replace(/<xdsb:Document id="([^"]+)">\s*<xop:Include [^>]*href="cid:([^"]+)"\s*\/>\s*<\/xdsb:Document>/g, (_m, id: string, cid: string) => {
      const part = parts.byId.get(decodeURIComponent(cid));
      if (!part) throw new Error(`MTOM: no part ${cid}`);
      documents.set(id, part);
      return `<xdsb:Document id="${id}">${part.toString('base64')}</xdsb:Document>`;
    });
    const x = lx.parseXml(logical);
    if (!x.validate(this.repository!)) throw new Error(`ITI-41 body not valid against XDS.b_DocumentRepository.xsd: ${x.validationErrors.map((e) => e.message.trim()).join('; ')}`);

    const ssPatient = attrOf(x.get(`//rim:RegistryPackage/rim:ExternalIdentifier[@identificationScheme='${SCHEME.ssPatientId}']`, RIM) as unknown as XmlEl, 'value');
    const ssUnique = attrOf(x.get(`//rim:RegistryPackage/rim:ExternalIdentifier[@identificationScheme='${SCHEME.ssUniqueId}']`, RIM) as unknown as XmlEl, 'value');
    this.checkVihf(root, ssPatient);
    const entries = x.find('//rim:ExtrinsicObject', RIM) as unknown as XmlEl[];
    if (entries.length !== documents.size) throw new Error(`ITI-41: ${entries.length} DocumentEntries for ${documents.size} documents`);
    const incoming: HeldEntry[] = [];
    let signature: { xml: string } | undefined;
    for (const e of entries) {
      const id = attrOf(e, 'id');
      const content = documents.get(id);
      if (!content) throw new Error(`ITI-41: no document for the entry ${id}`);
      for (const [scheme, set] of Object.entries(this.valueSets)) {
        const found = e.find(`rim:Classification[@classificationScheme='${scheme}']`, RIM).map((c) => attrOf(c, 'nodeRepresentation'));
        if (found.length === 0 && scheme !== SCHEME.confidentiality) throw new Error(`entry ${id}: no code of ${scheme}`);
        for (const c of found) if (!set.has(c)) throw new Error(`entry ${id}: ${c} is not in the value set of ${scheme}`);
      }
      const patientId = attrOf(e.get(`rim:ExternalIdentifier[@identificationScheme='${SCHEME.patientId}']`, RIM), 'value');
      if (patientId !== ssPatient) throw new Error(`entry ${id}: patientId differs from the submission set's`);
      const uniqueId = attrOf(e.get(`rim:ExternalIdentifier[@identificationScheme='${SCHEME.uniqueId}']`, RIM), 'value');
      const format = attrOf(e.get(`rim:Classification[@classificationScheme='${SCHEME.format}']`, RIM), 'nodeRepresentation');
      const xml = content.toString('utf8');
      lx.parseXml(xml);
      if (format === 'http://www.w3.org/2000/09/xmldsig#') signature = { xml };
      incoming.push({ entryUuid: id, uniqueId, patientId, status: 'Approved', format, xml });
    }
    if (!signature) throw new Error('ITI-41: no XAdES signature document of the submission set');
    this.checkXades(signature.xml, ssUnique, incoming.filter((d) => d.xml !== signature!.xml));

    for (const d of incoming) {
      if ([...this.entries.values()].some((h) => h.uniqueId === d.uniqueId)) throw new Refusal('XDSDuplicateUniqueIdInRegistry', `uniqueId ${d.uniqueId} is already filed`);
    }
    const replaced: [string, string][] = (x.find("//rim:Association[@associationType='urn:ihe:iti:2007:AssociationType:RPLC']", RIM) as unknown as XmlEl[]).map((a) => [attrOf(a, 'sourceObject'), attrOf(a, 'targetObject')]);
    for (const [, target] of replaced) {
      const held = this.entries.get(target);
      if (!held || held.status !== 'Approved') throw new Error(`RPLC: ${target} is not an approved entry of the DMP`);
      if (held.patientId !== ssPatient) throw new Error('RPLC: the replaced entry is another patient\'s');
    }
    if ((x.find("//rim:Association[@associationType='urn:ihe:iti:2007:AssociationType:signs']", RIM) as unknown[]).length !== 1) throw new Error('ITI-41: no signs association');
    for (const [, target] of replaced) this.entries.get(target)!.status = 'Deprecated';
    for (const d of incoming) {
      this.entries.set(d.entryUuid, d);
      const rplc = replaced.find(([s]) => s === d.entryUuid)?.[1];
      record.filed.push({ entryUuid: d.entryUuid, uniqueId: d.uniqueId, ...(rplc ? { replaces: rplc } : {}) });
    }
  }

  /** The XAdES: verifies with a seal of the CA; its manifest names the submission set and digests each document sent. */
  private checkXades(xml: string, submissionUniqueId: string, documents: HeldEntry[]): void {
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const certB64 = /<(?:\w+:)?X509Certificate>([^<]+)</.exec(xml)?.[1];
    if (!certB64) throw new Error('XAdES: no certificate');
    const cert = new X509Certificate(Buffer.from(certB64, 'base64'));
    if (!cert.checkIssued(this.ca) || !cert.verify(this.ca.publicKey)) throw new Error('XAdES: the seal is not issued by the trusted CA');
    const sig = new SignedXml({ publicCert: cert.toString() });
    sig.loadSignature(doc.documentElement as unknown as Node);
    if (!sig.checkSignature(xml)) throw new Error('XAdES: the signature does not verify');
    if (!/SignedProperties/.test(xml) || !/<xades:SigningCertificate>/.test(xml)) throw new Error('XAdES: no signed properties');
    const refs = new Map([...xml.matchAll(/<ds:Reference URI="urn:oid:([^"]+)">[\s\S]*?<ds:DigestValue>([^<]*)<\/ds:DigestValue>/g)].map((m) => [m[1]!, m[2]!]));
    if (!refs.has(submissionUniqueId)) throw new Error('XAdES: the manifest does not name the submission set');
    for (const d of documents) {
      const c14n = new C14nCanonicalizationWithComments().process(new DOMParser().parseFromString(d.xml, 'text/xml').documentElement as unknown as Node, {}) as string;
      if (refs.get(d.uniqueId) !== createHash('sha1').update(c14n, 'utf8').digest('base64')) throw new Error(`XAdES: the manifest's digest of ${d.uniqueId} is not the document's`);
    }
  }

  private updateDocumentSet(contentType: string, body: Buffer, record: DmpRequest): void {
    if (!contentType.startsWith('application/soap+xml')) throw new Error(`ITI-57: content type ${contentType}`);
    const root = body.toString('utf8');
    this.envelope(root, 'registry');
    const request = /<lcm:SubmitObjectsRequest\b[\s\S]*<\/lcm:SubmitObjectsRequest>/.exec(root)?.[0];
    if (!request) throw new Error('ITI-57: no SubmitObjectsRequest in the Body');
    const x = lx.parseXml(request);
    if (!x.validate(this.lcm!)) throw new Error(`ITI-57 body not valid against lcm.xsd: ${x.validationErrors.map((e) => e.message.trim()).join('; ')}`);
    const ssPatient = attrOf(x.get(`//rim:RegistryPackage/rim:ExternalIdentifier[@identificationScheme='${SCHEME.ssPatientId}']`, RIM) as unknown as XmlEl, 'value');
    this.checkVihf(root, ssPatient);
    const updates = x.find("//rim:Association[@associationType='urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus']", RIM) as unknown as XmlEl[];
    if (updates.length === 0) throw new Error('ITI-57: no UpdateAvailabilityStatus');
    for (const u of updates) {
      const target = attrOf(u, 'targetObject');
      const held = this.entries.get(target);
      if (!held) throw new Error(`ITI-57: ${target} is not an entry of the DMP`);
      if (held.patientId !== ssPatient) throw new Error('ITI-57: the entry is another patient\'s');
      const newStatus = u.get("rim:Slot[@name='NewStatus']/rim:ValueList/rim:Value", RIM)?.text();
      if (newStatus !== 'urn:asip:ci-sis:2010:StatusType:Deleted') throw new Error(`ITI-57: NewStatus ${newStatus}`);
    }
    for (const u of updates) {
      this.entries.get(attrOf(u, 'targetObject'))!.status = 'Deleted';
      record.deleted.push(attrOf(u, 'targetObject'));
    }
  }
}

/** The parts of a multipart/related body, by Content-ID; `root` is the `start` part. */
function mtomParts(contentType: string, body: Buffer): { root: Buffer; byId: Map<string, Buffer> } {
  if (!/^multipart\/related/i.test(contentType)) throw new Error(`ITI-41 must be MTOM (multipart/related), got ${contentType}`);
  if (!/type="application\/xop\+xml"/.test(contentType) || !/start-info="application\/soap\+xml"/.test(contentType)) throw new Error('MTOM: type / start-info missing');
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  const start = /start="<([^>]+)>"/.exec(contentType)?.[1];
  if (!boundary || !start) throw new Error('MTOM: no boundary or start');
  const byId = new Map<string, Buffer>();
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(at + delimiter.length + 2, next - 2); // after CRLF, before CRLF
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error('MTOM: a part without headers (CRLF line breaks?)');
    const head = part.subarray(0, headEnd).toString('latin1');
    const id = /Content-ID:\s*<([^>]+)>/i.exec(head)?.[1];
    if (!id) throw new Error('MTOM: a part without Content-ID');
    byId.set(id, part.subarray(headEnd + 4));
    at = next;
  }
  const root = byId.get(start);
  if (!root) throw new Error('MTOM: the start part is missing');
  return { root, byId };
}

function registryResponse(error?: { errorCode: string; message: string }): string {
  const ok = 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success';
  const ko = 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure';
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  const inner = error
    ? `<rs:RegistryErrorList highestSeverity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"><rs:RegistryError errorCode="${esc(error.errorCode)}" codeContext="${esc(error.message)}" severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"/></rs:RegistryErrorList>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="${error ? ko : ok}">${inner}</rs:RegistryResponse></soap:Body></soap:Envelope>`;
}

function fault(code: 'Sender' | 'Receiver', reason: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">${reason}</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>`;
}

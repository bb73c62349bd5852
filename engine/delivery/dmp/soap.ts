/**
 * The DMP's SOAP 1.2 requests on the wire (../shared/docs/dmp-mss-ins.md §1.2, §1.4, §1.8):
 * WS-Addressing MessageID / To / Action, WS-Security carrying the VIHF; ITI-41 as MTOM/XOP
 * (`multipart/related`, each `xdsb:Document` an `xop:Include` of its own binary part, CRLF
 * line breaks), ITI-57 as a plain `application/soap+xml` body. And the answer read back: the
 * `rs:RegistryResponse` status and errors, or a SOAP Fault.
 */
import { randomUUID } from 'node:crypto';

export const ACTION = {
  iti41: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b',
  iti57: 'urn:ihe:iti:2010:UpdateDocumentSet',
} as const;

const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  xdsb: 'urn:ihe:iti:xds-b:2007',
  lcm: 'urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0',
  rim: 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0',
  rs: 'urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0',
  xop: 'http://www.w3.org/2004/08/xop/include',
} as const;

export interface SoapRequest {
  action: string;
  /** WS-Addressing MessageID (`urn:uuid:…`). */
  messageId: string;
  contentType: string;
  body: Buffer;
}

function withoutDeclaration(xml: string): string {
  return xml.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
}

function envelope(action: string, to: string, vihf: string, body: string): { messageId: string; xml: string } {
  const messageId = `urn:uuid:${randomUUID()}`;
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="${NS.soap}"><soap:Header>` +
    `<wsa:MessageID xmlns:wsa="${NS.wsa}">${messageId}</wsa:MessageID>` +
    `<wsa:To xmlns:wsa="${NS.wsa}">${escapeXml(to)}</wsa:To>` +
    `<wsa:Action xmlns:wsa="${NS.wsa}" soap:mustUnderstand="true">${action}</wsa:Action>` +
    `<wsse:Security xmlns:wsse="${NS.wsse}">${withoutDeclaration(vihf)}</wsse:Security>` +
    `</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
  return { messageId, xml };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** ITI-41: the metadata and the documents (N3, N1, the XAdES signature), each document a MIME part. */
export function provideAndRegister(o: { to: string; vihf: string; submitObjects: string; documents: { id: string; content: Buffer }[] }): SoapRequest {
  const host = 'passerelle';
  const cid = (i: number): string => `${i + 2}.${randomUUID()}@${host}`;
  const cids = o.documents.map((_, i) => cid(i));
  const body =
    `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="${NS.xdsb}" xmlns:lcm="${NS.lcm}" xmlns:rim="${NS.rim}">` +
    withoutDeclaration(o.submitObjects) +
    o.documents.map((d, i) => `<xdsb:Document id="${escapeXml(d.id)}"><xop:Include xmlns:xop="${NS.xop}" href="cid:${cids[i]}"/></xdsb:Document>`).join('') +
    `</xdsb:ProvideAndRegisterDocumentSetRequest>`;
  const env = envelope(ACTION.iti41, o.to, o.vihf, body);
  const boundary = `MIMEBoundary_${randomUUID().replace(/-/g, '')}`;
  const start = `1.${randomUUID()}@${host}`;
  const parts: Buffer[] = [
    Buffer.from(
      `--${boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"; action="${ACTION.iti41}"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <${start}>\r\n\r\n`,
    ),
    Buffer.from(env.xml, 'utf8'),
  ];
  o.documents.forEach((d, i) => {
    parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <${cids[i]}>\r\n\r\n`), d.content);
  });
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return {
    action: ACTION.iti41,
    messageId: env.messageId,
    contentType: `multipart/related; boundary="${boundary}"; type="application/xop+xml"; start="<${start}>"; start-info="application/soap+xml"; action="${ACTION.iti41}"`,
    body: Buffer.concat(parts),
  };
}

/** ITI-57 Update Document Set (a deletion): a plain SOAP 1.2 body. */
export function updateDocumentSet(o: { to: string; vihf: string; submitObjects: string }): SoapRequest {
  const env = envelope(ACTION.iti57, o.to, o.vihf, withoutDeclaration(o.submitObjects));
  return { action: ACTION.iti57, messageId: env.messageId, contentType: `application/soap+xml; charset=UTF-8; action="${ACTION.iti57}"`, body: Buffer.from(env.xml, 'utf8') };
}

export interface RegistryError {
  errorCode: string;
  codeContext: string;
  location?: string;
  severity: string;
}

export type DmpAnswer =
  | { kind: 'registry'; status: 'success' | 'partial' | 'failure'; errors: RegistryError[] }
  | { kind: 'fault'; code: string; subcode?: string; reason: string }
  | { kind: 'unreadable'; excerpt: string };

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : undefined;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** The registry's answer, whether it came as MTOM or plain SOAP (only the root part's XML is read). */
export function readAnswer(body: Buffer): DmpAnswer {
  const text = body.toString('utf8');
  const response = /<(?:\w+:)?RegistryResponse\b[^>]*>/.exec(text);
  if (response) {
    const status = attr(response[0], 'status') ?? '';
    const errors = [...text.matchAll(/<(?:\w+:)?RegistryError\b[^>]*>/g)].map((m) => ({
      errorCode: attr(m[0], 'errorCode') ?? '',
      codeContext: attr(m[0], 'codeContext') ?? '',
      ...(attr(m[0], 'location') ? { location: attr(m[0], 'location')! } : {}),
      severity: attr(m[0], 'severity') ?? '',
    }));
    const kind = status.endsWith(':Success') ? 'success' : status.endsWith(':PartialSuccess') ? 'partial' : 'failure';
    return { kind: 'registry', status: kind, errors };
  }
  if (/<(?:\w+:)?Fault\b/.test(text)) {
    const values = [...text.matchAll(/<(?:\w+:)?Value>([^<]*)</g)].map((m) => m[1]!.trim());
    const reason = /<(?:\w+:)?Text\b[^>]*>([^<]*)</.exec(text)?.[1]?.trim() ?? '';
    return { kind: 'fault', code: values[0] ?? '', ...(values[1] ? { subcode: values[1] } : {}), reason: unescapeXml(reason) };
  }
  return { kind: 'unreadable', excerpt: text.slice(0, 200) };
}

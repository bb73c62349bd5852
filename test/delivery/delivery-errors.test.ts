/**
 * What a DMP or SMTP answer means for the line (issue 9, items 2 and 4): permanent refusals are
 * dead with the peer's words, outages and "busy" wait, a lost answer is ambiguous, and a
 * document already filed is done.
 */
import { judge } from '../../engine/delivery/dmp/dmp-client';
import { readAnswer } from '../../engine/delivery/dmp/soap';
import { smtpError } from '../../engine/delivery/mss/mss-delivery';
import { retryClassOf } from '../../engine/errors';

const response = (status: string, errors: [string, string][] = []): Buffer =>
  Buffer.from(
    `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="${status}">` +
      (errors.length ? `<rs:RegistryErrorList>${errors.map(([c, t]) => `<rs:RegistryError errorCode="${c}" codeContext="${t}" severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"/>`).join('')}</rs:RegistryErrorList>` : '') +
      `</rs:RegistryResponse></soap:Body></soap:Envelope>`,
  );
const FAILURE = 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure';
const fault = (code: string): Buffer =>
  Buffer.from(`<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="fr">VIHF invalide</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>`);

function outcome(status: number, body: Buffer): string {
  try {
    return judge(status, readAnswer(body)).status;
  } catch (e) {
    return `${retryClassOf(e)} ${(e as Error).message}`;
  }
}

test('DMP answers: success, partial success, already filed, refusals, busy, faults, HTTP errors', () => {
  expect(outcome(200, response('urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success'))).toBe('success');
  expect(outcome(200, response('urn:ihe:iti:2007:ResponseStatusType:PartialSuccess', [['XDSRegistryError', 'x']]))).toBe('partial');
  expect(outcome(200, response(FAILURE, [['XDSDuplicateUniqueIdInRegistry', 'déjà là']]))).toBe('duplicate');
  expect(outcome(200, response(FAILURE, [['DMPClosed', 'DMP fermé']]))).toBe('permanent DMP refused: DMPClosed (DMP fermé)');
  expect(outcome(200, response(FAILURE, [['XDSUnknownPatientId', '']]))).toBe('permanent DMP refused: XDSUnknownPatientId');
  expect(outcome(200, response(FAILURE, [['XDSRegistryBusy', 'later']]))).toMatch(/^transient DMP busy/);
  expect(outcome(500, fault('Receiver'))).toMatch(/^transient SOAP fault soap:Receiver: VIHF invalide/);
  expect(outcome(500, fault('Sender'))).toMatch(/^permanent SOAP fault soap:Sender/);
  expect(outcome(503, Buffer.from('Service Unavailable'))).toBe('transient DMP answered HTTP 503');
  expect(outcome(429, Buffer.from(''))).toBe('transient DMP answered HTTP 429');
  expect(outcome(403, Buffer.from('Forbidden'))).toMatch(/^permanent DMP answered HTTP 403/);
});

test('SMTP failures: 5xx refused, 4xx and connection trouble wait, a connection lost during DATA is ambiguous', () => {
  const cls = (e: object): string => `${retryClassOf(smtpError(e))} ${smtpError(e).code}`;
  expect(cls({ responseCode: 550, command: 'RCPT TO', response: '550 5.1.1 unknown user' })).toBe('permanent PSL_MSS_REFUSED');
  expect(cls({ responseCode: 452, command: 'RCPT TO', response: '452 4.2.2 mailbox full' })).toBe('transient PSL_MSS_UNAVAILABLE');
  expect(cls({ code: 'ECONNECTION', command: 'CONN', message: 'connect ECONNREFUSED' })).toBe('transient PSL_MSS_UNAVAILABLE');
  expect(cls({ code: 'ETLS', command: 'STARTTLS', message: 'no STARTTLS' })).toBe('transient PSL_MSS_UNAVAILABLE');
  expect(cls({ code: 'ETIMEDOUT', command: 'DATA', message: 'Timeout' })).toBe('ambiguous PSL_MSS_UNCERTAIN');
});

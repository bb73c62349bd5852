/**
 * Report versions by MSSanté to a real SMTP server (issue 9, items 1, 4, 6): STARTTLS with the
 * lab's client certificate; one mail per recipient and version (the prescriber, ten copies from
 * the correspondents file, the patient with a qualified INS) carrying IHE_XDM.ZIP and the PDF;
 * a correction "annule et remplace" chained to the earlier mail; SMTP down, then back: every
 * mail once, in version order; a withdrawal: a notice to every earlier recipient; a refusal
 * (5xx) is dead with the server's words; a non-qualified identity: no patient mail, no INS.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { MllpClient } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { CREA, GLU, ltwResults } from '../support/sample-channels';
import { freePort } from '../support/redis';
import { waitFor } from '../support/wait';
import { makePki, type TestPki } from '../support/pki';
import { TestSmtpServer, type ReceivedMail } from '../support/smtp';
import { lcmSchema, lx } from '../support/xds';
import { TestImapServer } from '../support/imap';
import { deliveryRows, sendAccepted, type DeliveryRow } from '../support/deliveries';

jest.setTimeout(300_000);

const repo = join(__dirname, '../..');
const FROM = 'resultats@labo-demo.mssante.fr';
const PRESCRIBER = 'prescripteur.medecin@test.mssante.fr';
const COPIES = Array.from({ length: 10 }, (_, i) => ({ rpps: `100000001${String(i).padStart(2, '0')}`, address: `confrere.${i}@test.mssante.fr` }));
const PATIENT = '248092A20345642@patient.mssante.fr';
const OBR28 = COPIES.map((c) => `${c.rpps}^CONFRERE${c.rpps.slice(-2)}^Test^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS`).join('~');

let pki: TestPki;
let smtp: TestSmtpServer;
let imap: TestImapServer;
let te: TestEngine;
let mllp: MllpClient;

beforeAll(async () => {
  pki = makePki();
  smtp = new TestSmtpServer(await freePort(), pki);
  await smtp.listen();
  imap = new TestImapServer(await freePort(), pki);
  await imap.start();
  const dir = mkdtempSync(join(tmpdir(), 'psl-mss-'));
  const book = join(dir, 'correspondants.yaml');
  writeFileSync(
    book,
    'correspondents:\n' +
      `  - { rpps: '10003456789', name: Dr Prescripteur MEDECIN, mssante: ${PRESCRIBER} }\n` +
      COPIES.map((c) => `  - { rpps: '${c.rpps}', name: Dr Confrère ${c.rpps.slice(-2)}, mssante: ${c.address} }\n`).join(''),
  );
  te = await startTestEngine(
    {
      'ltw.yaml': channelYaml(
        'ltw',
        `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: documents\n    type: reports\n    directory: \${DIR}/out\n` +
          `    lab: ${join(repo, 'channels/labs/laboratoire-demo.yaml')}\n    ownFillers: [SIL-LABO]\n    correspondents: ${book}\n` +
          `    mss:\n      url: smtp://127.0.0.1:${smtp.port}\n      from: ${FROM}\n      replyTo: secretariat@labo-demo.mssante.fr\n` +
          `      tls:\n        ca: ${pki.dir}/ca.crt\n        cert: ${pki.dir}/client.crt\n        key: ${pki.dir}/client.key\n        servername: localhost\n` +
          `      receipts:\n        url: ${imap.url}\n        user: ${imap.user}\n        pass: ${imap.pass}\n        pollSeconds: 1\n` +
          `      connectTimeoutMs: 1000\n      responseTimeoutMs: 5000\n      retry:\n        maxAttempts: 200\n        backoffBaseMs: 200\n        backoffMaxMs: 1000\n`,
      ),
    },
    { ansKitDir: ANS_KIT_DIR },
  );
  mllp = new MllpClient({ host: '127.0.0.1', port: te.port('ltw') });
});

afterAll(async () => {
  await mllp?.close();
  await te?.stop();
  await smtp?.close();
  await imap?.stop();
  pki?.cleanup();
});

const send = (text: string): Promise<void> => sendAccepted(mllp, text);
type Row = DeliveryRow;
const deliveries = (filler = 'LAB-0001'): Row[] => deliveryRows(te.dir, filler);

const sent = (version: number, filler = 'LAB-0001'): number => deliveries(filler).filter((d) => d.version === version && d.state === 'sent').length;
const header = (m: ReceivedMail, name: string): string | undefined => {
  const v = m.parsed.headers.get(name.toLowerCase());
  return v === undefined ? undefined : String(v);
};
const attachment = (m: ReceivedMail, name: string): Buffer | undefined => m.parsed.attachments.find((a) => a.filename === name)?.content;

test('v1: one mail to the prescriber, to each of the ten copies and to the patient, with the XDM zip and the PDF, over STARTTLS with the lab certificate', async () => {
  await send(ltwResults('MS-1', `F|||${OBR28}`, [GLU('0.95', 'F', '20261125100500'), CREA('9.8', 'F', '20261125100500')]));
  expect(await waitFor(() => sent(1) === 12, 180_000)).toBe(true);
  expect(smtp.received).toHaveLength(12);
  expect(new Set(smtp.received.map((m) => m.rcptTo[0]!.address))).toEqual(new Set([PRESCRIBER, ...COPIES.map((c) => c.address), PATIENT]));

  const pro = smtp.to(PRESCRIBER)[0]!;
  expect(pro.clientCn).toBe('lab-analyzer');
  expect(pro.mailFrom).toBe(FROM);
  expect(pro.parsed.from?.text).toBe(FROM);
  expect(pro.parsed.replyTo?.text).toBe('secretariat@labo-demo.mssante.fr');
  expect(pro.parsed.subject).toBe("XDM/1.0/DDM+CR d'examens biologiques TEST-DEMO PATIENTE 20/09/1948");
  expect(header(pro, 'X-MSS-CODECDA')).toBe('11502-2');
  expect(header(pro, 'X-MSS-INS')).toBe('O');
  expect(header(pro, 'X-MSS-MES')).toBeUndefined();
  // DSN asked for the recipient, and the envelope id names the mail (MSS.22).
  expect(pro.rcptTo[0]!.notify).toEqual(['SUCCESS', 'FAILURE', 'DELAY']);
  expect(pro.parsed.messageId).toContain(pro.envid!);
  expect(pro.parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([
    ['IHE_XDM.ZIP', 'application/zip'],
    [expect.stringMatching(/\.pdf$/), 'application/pdf'],
  ]);
  const v1 = join(te.dir, 'out', 'LAB-0001', 'v1');
  const pdfName = pro.parsed.attachments[1]!.filename!;
  expect(attachment(pro, pdfName)!.equals(readFileSync(join(v1, pdfName)))).toBe(true);

  const zip = unzipSync(new Uint8Array(attachment(pro, 'IHE_XDM.ZIP')!));
  expect(Object.keys(zip).sort()).toEqual(['IHE_XDM/SUBSET01/DOC0001.XML', 'IHE_XDM/SUBSET01/DOC0002.XML', 'IHE_XDM/SUBSET01/METADATA.XML', 'INDEX.HTM', 'README.TXT']);
  expect(strFromU8(zip['IHE_XDM/SUBSET01/DOC0001.XML']!)).toBe(readFileSync(join(v1, 'pro.n3.xml'), 'utf8'));
  const metadata = lx.parseXml(strFromU8(zip['IHE_XDM/SUBSET01/METADATA.XML']!));
  const valid = metadata.validate(lcmSchema());
  expect(metadata.validationErrors.map((e) => e.message)).toEqual([]);
  expect(valid).toBe(true);

  const patient = smtp.to(PATIENT)[0]!;
  expect(header(patient, 'X-MSS-MES')).toBe('FIN');
  expect(patient.parsed.text).toContain('Votre laboratoire vous transmet');
  expect(deliveries().filter((d) => d.version === 1).map((d) => d.target)).toEqual([
    ...[...COPIES.map((c) => c.address), PATIENT, PRESCRIBER].map((a) => `mss:${a}`).sort(),
  ]);
});

test('a correction is mailed as "annule et remplace", chained to the first mail; SMTP down, then back: every mail once, in version order; a withdrawal sends a notice to every earlier recipient', async () => {
  await send(ltwResults('MS-2', `C|||${OBR28}`, [CREA('8.9', 'C', '20261125143000')]));
  expect(await waitFor(() => sent(2) === 12, 180_000)).toBe(true);
  const [m1, m2] = smtp.to(PRESCRIBER);
  expect(m2!.parsed.text).toMatch(/^Ce compte rendu annule et remplace le précédent\./);
  expect(m2!.parsed.inReplyTo).toBe(m1!.parsed.messageId);
  expect(m2!.parsed.references).toBe(m1!.parsed.messageId);

  // The SMTP server goes down; two corrections are published meanwhile and wait on their lines.
  await smtp.close();
  await send(ltwResults('MS-3', `C|||${OBR28}`, [CREA('8.7', 'C', '20261125150000')]));
  await send(ltwResults('MS-4', `C|||${OBR28}`, [CREA('8.5', 'C', '20261125153000')]));
  expect(await waitFor(() => deliveries().filter((d) => d.version === 4).length === 12, 120_000)).toBe(true);
  await new Promise((r) => setTimeout(r, 3000));
  expect(new Set(deliveries().filter((d) => d.version >= 3).map((d) => d.state))).toEqual(new Set(['queued']));
  const before = smtp.received.splice(0);
  smtp = Object.assign(new TestSmtpServer(smtp.port, pki), {});
  smtp.received.push(...before);
  await smtp.listen();
  expect(await waitFor(() => sent(3) === 12 && sent(4) === 12, 180_000)).toBe(true);

  // Every result withdrawn: a notice to each of the twelve, chained to what they got.
  await send(ltwResults('MS-5', `C|||${OBR28}`, [GLU('', 'D', '20261125160000'), CREA('', 'D', '20261125160000')]));
  expect(await waitFor(() => sent(5) === 12, 120_000)).toBe(true);

  for (const address of [PRESCRIBER, PATIENT, COPIES[9]!.address]) {
    // Once each: the outage cost no mail and doubled none.
    const mails = smtp.to(address);
    const versions = mails.map((m) => /\.v(\d+)\./.exec(m.parsed.messageId ?? '')?.[1]);
    expect(versions).toEqual(['1', '2', '3', '4', '5']);
    const notice = mails[4]!;
    expect(notice.parsed.subject).toMatch(/^Retrait : CR d'examens biologiques TEST-DEMO PATIENTE/);
    expect(notice.parsed.attachments).toHaveLength(0);
    expect(notice.parsed.text).toContain('a été retiré par le laboratoire');
    expect(notice.parsed.references).toEqual(mails.slice(0, 4).map((m) => m.parsed.messageId));
  }
  expect(deliveries().filter((d) => d.state !== 'sent')).toEqual([]);
});

test('the server refuses the recipients (550): those deliveries are dead with the server words, not retried', async () => {
  smtp.refuseWith = 550;
  const before = smtp.received.length;
  await send(ltwResults('MS-6', 'F', [GLU('1.01', 'F', '20261125170000'), CREA('9.0', 'F', '20261125170000')]).replace(/LAB-0001/g, 'LAB-0006'));
  expect(await waitFor(() => deliveries('LAB-0006').length === 2 && deliveries('LAB-0006').every((d) => d.state === 'dead'), 120_000)).toBe(true);
  smtp.refuseWith = undefined;
  for (const d of deliveries('LAB-0006')) expect(d.detail).toMatch(/^PSL_MSS_REFUSED: SMTP RCPT TO refused: 550 test server refuses/);
  expect(smtp.received.length).toBe(before);
});

test('a non-qualified identity: no patient mail, and no INS in any mail or attachment', async () => {
  const before = smtp.received.length;
  const prov = ltwResults('MS-7', 'F', [GLU('0.97', 'F', '20261125180000'), CREA('9.2', 'F', '20261125180000')])
    .replace(/LAB-0001/g, 'LAB-0007')
    .replace(/\|VALI(\r|$)/m, '|PROV$1');
  expect(prov).toContain('|PROV\r');
  await send(prov);
  expect(await waitFor(() => sent(1, 'LAB-0007') === 1, 120_000)).toBe(true);
  const rows = deliveries('LAB-0007');
  expect(rows.map((r) => [r.target, r.state])).toEqual([
    ['mss:(patient)', 'held'],
    [`mss:${PRESCRIBER}`, 'sent'],
  ]);
  expect(rows[0]!.detail).toMatch(/identity not qualified/);
  const mails = smtp.received.slice(before);
  expect(mails.map((m) => m.rcptTo[0]!.address)).toEqual([PRESCRIBER]);
  expect(header(mails[0]!, 'X-MSS-INS')).toBe('N');
  const zip = unzipSync(new Uint8Array(attachment(mails[0]!, 'IHE_XDM.ZIP')!));
  const everything = [mails[0]!.raw.toString('latin1'), ...Object.values(zip).map((f) => strFromU8(f))].join('\n');
  expect(everything).not.toContain('248092A20345642');
  expect(everything).not.toContain('1.2.250.1.213.1.4.10');
});

const dsn = (envid: string, recipient: string, action: string, status: string, diagnostic = ''): string =>
  [
    'From: MAILER-DAEMON@test.mssante.fr',
    `To: ${FROM}`,
    'Subject: Delivery Status Notification',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Delivery report.',
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.test.mssante.fr',
    `Original-Envelope-Id: ${envid}`,
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    `Action: ${action}`,
    `Status: ${status}`,
    ...(diagnostic ? [`Diagnostic-Code: smtp; ${diagnostic}`] : []),
    '',
    '--b1--',
    '',
  ].join('\r\n');

const mdn = (messageId: string, recipient: string, disposition: string): string =>
  [
    `From: ${recipient}`,
    `To: ${FROM}`,
    'Subject: Accusé de lecture',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=disposition-notification; boundary="b2"',
    '',
    '--b2',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Read.',
    '--b2',
    'Content-Type: message/disposition-notification',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    `Original-Message-ID: ${messageId}`,
    `Disposition: ${disposition}`,
    '',
    '--b2--',
    '',
  ].join('\r\n');

test("DSN and read receipts from the lab's mailbox (IMAP, STARTTLS) are recorded against the mail they answer; someone else's is left alone", async () => {
  const v1 = (address: string): ReceivedMail => smtp.to(address).find((m) => /\.v1\./.test(m.parsed.messageId ?? ''))!;
  await imap.deliver(dsn(v1(PRESCRIBER).envid!, PRESCRIBER, 'delivered', '2.0.0'));
  await imap.deliver(dsn(v1(COPIES[9]!.address).envid!, COPIES[9]!.address, 'failed', '5.1.1', '550 5.1.1 boîte inconnue'));
  await imap.deliver(mdn(v1(PATIENT).parsed.messageId!, PATIENT, 'automatic-action/MDN-sent-automatically; processed'));
  await imap.deliver(dsn('someone-else-1234', 'x@test.mssante.fr', 'failed', '5.0.0'));
  const receipts = (): Row[] => deliveries().filter((d) => d.target.startsWith('mss>'));
  expect(await waitFor(() => receipts().length === 3, 60_000)).toBe(true);
  expect(receipts().map((r) => [r.version, r.target, r.state, r.detail])).toEqual([
    [1, `mss>dsn:${COPIES[9]!.address}`, 'failed', 'failed 5.1.1 smtp; 550 5.1.1 boîte inconnue'],
    [1, `mss>dsn:${PRESCRIBER}`, 'acknowledged', 'delivered 2.0.0'],
    [1, `mss>read:${PATIENT.toLowerCase()}`, 'acknowledged', 'automatic-action/MDN-sent-automatically; processed'],
  ]);
  // Every message read is flagged, the stranger's too: a restart does not record them again.
  expect(await waitFor(async () => (await imap.seen()) === 4, 30_000)).toBe(true);
});

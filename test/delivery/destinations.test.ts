import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message } from '../../engine/hl7';
import { FileDestination, classifyAck, fileNameFor } from '../../engine/delivery';

const ack = (code: string, id: string, err = ''): string => `MSH|^~\\&|D|D|P|P|20261125||ACK^R01^ACK|K1|P|2.5\rMSA|${code}|${id}\r${err}`;

describe('MLLP answers map onto retry classes', () => {
  test.each([
    ['AA', 'done'],
    ['CA', 'done'],
  ])('%s is done', (code) => expect(classifyAck(ack(code, 'M1'), 'M1', 'eai')).toBe(code));

  test.each([
    ['AR', 'PSL_DEST_NAK_RETRY', 'transient'],
    ['CR', 'PSL_DEST_NAK_RETRY', 'transient'],
    ['AE', 'PSL_DEST_NAK_ERROR', 'permanent'],
    ['CE', 'PSL_DEST_NAK_ERROR', 'permanent'],
    ['ZZ', 'PSL_DEST_BAD_ACK', 'ambiguous'],
  ])('%s → %s (%s)', (code, errCode, retry) => {
    expect(() => classifyAck(ack(code, 'M1', 'ERR||||E|||||busy\r'), 'M1', 'eai')).toThrow(expect.objectContaining({ code: errCode, retry }));
  });

  test('an ACK for another message, or no HL7 at all, is ambiguous', () => {
    expect(() => classifyAck(ack('AA', 'OTHER'), 'M1', 'eai')).toThrow(expect.objectContaining({ code: 'PSL_DEST_BAD_ACK', message: 'eai: ACK is for OTHER, expected M1' }));
    expect(() => classifyAck('HTTP/1.1 400 Bad Request', 'M1', 'eai')).toThrow(expect.objectContaining({ code: 'PSL_DEST_BAD_ACK', retry: 'ambiguous' }));
  });
});

describe('file destination', () => {
  const msg = (id: string): Message => Message.parse(`MSH|^~\\&|A|B|C|D|20261125||ORU^R01|${id}|P|2.5\rPID|1||7^^^H^PI||ÉLODIE^TEST\r`);

  test('a control ID cannot escape the directory', () => {
    const m = msg('..\\S\\..\\S\\etc/passwd');
    const name = fileNameFor('${MSH-10}.hl7', { id: 'x', controlId: m.controlId, message: m });
    expect(name).toBe('__.._etc_passwd.hl7'); // separators replaced, no leading dot: stays in its directory
    expect(name).not.toMatch(/[/\\]|^\./);
  });

  test('writes through a temporary name; a re-delivery rewrites the same file; charset applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psl-file-'));
    const d = new FileDestination({ name: 'out', directory: join(dir, 'sub'), charset: 'iso-8859-15' });
    const m = msg('F1');
    expect(await d.deliver({ id: 'x', controlId: 'F1', message: m })).toBe('F1.hl7');
    expect(await d.deliver({ id: 'x', controlId: 'F1', message: m })).toBe('F1.hl7');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['F1.hl7']);
    const bytes = readFileSync(join(dir, 'sub', 'F1.hl7'));
    expect(bytes.includes(Buffer.from([0xc9]))).toBe(true); // É in ISO-8859-15
    // The forced charset is declared in MSH-18; the rest is the message as it was.
    const written = Message.parse(bytes.toString('latin1'));
    expect(written.get('MSH-18')).toBe('8859/15');
    expect(written.toString()).toBe(Message.parse(m.toString()).set('MSH-18', '8859/15').toString());
  });
});

/** ACK builder (hl7-lab.md §7), acceptance profile (§8), and node-hl7-client as an independent reader. */
import { Message as NhcMessage } from 'node-hl7-client';
import { accept, ackCodeFor, ackModeOf, buildAck, buildAckText, Message, nakFromRaw, shouldSendAck } from '../../engine/hl7';
import { convert, oru4k } from './fixtures';

const NOW = new Date(2025, 10, 24, 9, 30, 15);
const ORU = oru4k();
const withHeader = (m15: string, m16: string): Message => {
  const m = Message.parse(ORU);
  m.setRaw('MSH-15', m15).setRaw('MSH-16', m16);
  return Message.parse(m.toString());
};

describe('buildAck', () => {
  test('original mode AA: header swap, ACK^R01^ACK, MSA-2 = MSH-10, copies MSH-11/12/18', () => {
    const orig = Message.parse(ORU);
    const ack = buildAck(orig, { code: ackCodeFor(orig, 'accept'), controlId: 'ACK1', now: NOW });
    expect(ack.getRaw('MSH-3')).toBe(orig.getRaw('MSH-5'));
    expect(ack.getRaw('MSH-4')).toBe(orig.getRaw('MSH-6'));
    expect(ack.getRaw('MSH-5')).toBe(orig.getRaw('MSH-3'));
    expect(ack.getRaw('MSH-6')).toBe(orig.getRaw('MSH-4'));
    expect(ack.get('MSH-7')).toBe('20251124093015');
    expect(ack.getRaw('MSH-9')).toBe('ACK^R01^ACK');
    expect(ack.controlId).toBe('ACK1');
    expect(ack.processingId).toBe('P');
    expect(ack.version).toBe('2.5');
    expect(ack.get('MSH-18')).toBe('UNICODE UTF-8');
    expect(ack.get('MSA-1')).toBe('AA');
    expect(ack.get('MSA-2')).toBe('MSG00001');
    expect(ack.segment('ERR')).toBeUndefined();
    expect(ack.toString()).toBe(
      'MSH|^~\\&|DPI^1.2.250.1.999.3^ISO|CH EXEMPLE^750000002^FINESS|LABSYS^1.2.250.1.999.2^ISO|LABO EXEMPLE^750000001^FINESS|20251124093015||ACK^R01^ACK|ACK1|P|2.5||||||UNICODE UTF-8\rMSA|AA|MSG00001\r',
    );
  });

  test('buildAckText is the text of buildAck (what the intake sends without parsing it back)', () => {
    const orig = Message.parse(ORU);
    const warn = { hl7Code: 102, severity: 'W' as const, userMessage: 'bytes replaced |^~\\& \r\n', location: { segment: 'MSH', sequence: 1, field: 18 } };
    for (const opts of [
      { code: 'AA' as const, controlId: 'ACK1', now: NOW },
      { code: 'AA' as const, controlId: 'ACK1', now: NOW, errors: [warn] },
      { code: 'AA' as const, controlId: 'ACK1', now: NOW, errors: [warn], errLayout: 'v2.3' as const },
    ]) {
      const text = buildAckText(orig, opts);
      expect(text).toBe(buildAck(orig, opts).toString());
      expect(text.split('\r').filter(Boolean).map((l) => l.slice(0, 3))).toEqual(opts.errors ? ['MSH', 'MSA', 'ERR'] : ['MSH', 'MSA']);
    }
  });

  test('generated control ids are unique and ≤ 20 characters', () => {
    const orig = Message.parse(ORU);
    const ids = new Set(Array.from({ length: 200 }, () => buildAck(orig, { code: 'AA' }).controlId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(20);
  });

  test('ERR fields (v2.5): ERR-2 ERL, ERR-3 code^text^HL70357, ERR-4, ERR-5, ERR-7, ERR-8; MSA-3 text', () => {
    const orig = Message.parse(ORU);
    const ack = buildAck(orig, {
      code: 'AE',
      now: NOW,
      text: 'Patient inconnu',
      errors: [
        { hl7Code: 207, severity: 'E', location: { segment: 'PID', field: 3 }, appCode: '902^Patient inconnu^applicationErrorCode', diagnostic: 'no match for 1234567890123', userMessage: 'Patient inconnu | vérifier' },
        { hl7Code: 101, severity: 'W', location: { segment: 'OBX', sequence: 3, field: 11, component: 2 } },
      ],
    });
    expect(ack.get('MSA-1')).toBe('AE');
    expect(ack.get('MSA-3')).toBe('Patient inconnu');
    expect(ack.count('ERR')).toBe(2);
    expect(ack.getRaw('ERR-2')).toBe('PID^1^3');
    expect(ack.getRaw('ERR-3')).toBe('207^Application internal error^HL70357');
    expect(ack.get('ERR-4')).toBe('E');
    expect(ack.getRaw('ERR-5')).toBe('902^Patient inconnu^applicationErrorCode');
    expect(ack.get('ERR-7')).toBe('no match for 1234567890123');
    expect(ack.get('ERR-8')).toBe('Patient inconnu | vérifier');
    expect(ack.getRaw('ERR[2]-2')).toBe('OBX^3^11^1^2');
    expect(ack.get('ERR[2]-3.1')).toBe('101');
    expect(ack.get('ERR[2]-4')).toBe('W');
  });

  test('same delimiters as the original', () => {
    const orig = Message.parse(convert(ORU, { delimiters: '!@#$?' }));
    const ack = buildAck(orig, { code: 'AR', now: NOW, errors: [{ hl7Code: 203, severity: 'E', location: { segment: 'MSH', field: 12 } }] });
    expect(ack.toString().startsWith('MSH!@#$?!')).toBe(true);
    expect(ack.getRaw('MSH-9')).toBe('ACK@R01@ACK');
    expect(ack.getRaw('ERR-2')).toBe('MSH@1@12');
    expect(ack.get('MSA-2')).toBe('MSG00001');
  });

  test('enhanced mode: CA/CE/CR, and MSH-15 decides whether to answer', () => {
    const orig = Message.parse(ORU);
    expect(ackModeOf(orig)).toEqual({ mode: 'original', acceptAck: '', appAck: '' });
    expect(['accept', 'error', 'reject'].map((o) => ackCodeFor(orig, o as 'accept'))).toEqual(['AA', 'AE', 'AR']);
    expect(shouldSendAck(orig, 'accept')).toBe(true);

    const law = withHeader('NE', 'AL');
    expect(ackModeOf(law)).toEqual({ mode: 'enhanced', acceptAck: 'NE', appAck: 'AL' });
    expect(['accept', 'error', 'reject'].map((o) => ackCodeFor(law, o as 'accept'))).toEqual(['CA', 'CE', 'CR']);
    expect(shouldSendAck(law, 'accept')).toBe(false);
    const al = withHeader('AL', 'NE');
    expect(shouldSendAck(al, 'accept')).toBe(true);
    const er = withHeader('ER', '');
    expect([shouldSendAck(er, 'accept'), shouldSendAck(er, 'error')]).toEqual([false, true]);
    const su = withHeader('SU', '');
    expect([shouldSendAck(su, 'accept'), shouldSendAck(su, 'reject')]).toEqual([true, false]);
    const ack = buildAck(law, { code: ackCodeFor(law, 'accept'), now: NOW });
    expect(ack.get('MSA-1')).toBe('CA');
  });

  test('nakFromRaw on parseable-enough text keeps MSA-2 and the trigger', () => {
    const broken = ORU.replace('MSH|^~\\&|', 'MSH|^~\\|');
    const ack = Message.parse(nakFromRaw(broken, { hl7Code: 102, severity: 'E', location: { segment: 'MSH', field: 2 } }, { now: NOW }));
    expect(ack.get('MSA-1')).toBe('AR');
    expect(ack.get('MSA-2')).toBe('MSG00001');
    expect(ack.get('MSH-12')).toBe('2.5');
    // delimiters not sane: each recovered field is copied as one escaped leaf
    expect(ack.getRaw('MSH-3')).toBe('DPI\\S\\1.2.250.1.999.3\\S\\ISO');
    expect(ack.get('MSH-3')).toBe('DPI^1.2.250.1.999.3^ISO');
  });
});

describe('accept (acceptance profile)', () => {
  const oru = Message.parse(ORU);
  const refusal = (m: Message, p: Parameters<typeof accept>[1]) => {
    const r = accept(m, p);
    if (r.accepted) throw new Error('expected a refusal');
    return { outcome: r.outcome, code: r.errors[0].hl7Code, erl: r.errors[0].location };
  };

  test('accepts a matching message, by type^event or type only', () => {
    expect(accept(oru, { messageTypes: ['ORU^R01'], versions: ['2.5'] }).accepted).toBe(true);
    expect(accept(oru, { messageTypes: ['ORU'] }).accepted).toBe(true);
    const v251 = Message.parse(ORU.replace('|P|2.5|', '|P|2.5.1|'));
    expect(accept(v251, { messageTypes: ['ORU^R01'], versions: ['2.5'] }).accepted).toBe(true);
  });

  test('200 unsupported type → AR', () => {
    expect(refusal(oru, { messageTypes: ['OUL^R22', 'MDM'] })).toEqual({ outcome: 'reject', code: 200, erl: { segment: 'MSH', sequence: 1, field: 9, component: 1 } });
    const r = accept(oru, { messageTypes: ['OUL'] });
    const ack = buildAck(oru, { code: ackCodeFor(oru, 'reject'), errors: r.accepted ? [] : r.errors });
    expect(ack.get('MSA-1')).toBe('AR');
    expect(ack.getRaw('ERR-2')).toBe('MSH^1^9^1^1');
  });

  test('201 unsupported event → AR', () => {
    expect(refusal(oru, { messageTypes: ['ORU^R30'] })).toMatchObject({ outcome: 'reject', code: 201 });
  });

  test('202 unsupported processing id → AR', () => {
    const t = Message.parse(ORU.replace('|P|2.5|', '|T|2.5|'));
    expect(refusal(t, { messageTypes: ['ORU'], processingIds: ['P'] })).toMatchObject({ outcome: 'reject', code: 202, erl: { field: 11 } });
  });

  test('203 unsupported version → AR by default, AE for ANS partners', () => {
    const v23 = Message.parse(ORU.replace('|P|2.5|', '|P|2.3|'));
    expect(refusal(v23, { messageTypes: ['ORU'], versions: ['2.5', '2.6'] })).toMatchObject({ outcome: 'reject', code: 203, erl: { field: 12 } });
    expect(refusal(v23, { messageTypes: ['ORU'], versions: ['2.5'], versionRejectCode: 'AE' })).toMatchObject({ outcome: 'error', code: 203 });
    const ae = Message.parse(ORU.replace('|P|2.5|', '|P|2.5|'));
    expect(accept(ae, { messageTypes: ['ORU'], versions: ['2.5'] }).accepted).toBe(true);
  });

  test('101 missing MSH-10 → refused (unless the profile allows it)', () => {
    const none = Message.parse(ORU.replace('|MSG00001|', '||'));
    expect(refusal(none, { messageTypes: ['ORU'] })).toMatchObject({ outcome: 'reject', code: 101, erl: { field: 10 } });
    expect(accept(none, { messageTypes: ['ORU'], requireControlId: false }).accepted).toBe(true);
  });

  test('checks run in order: type before version before control id', () => {
    const bad = Message.parse(ORU.replace('|MSG00001|P|2.5|', '||T|2.1|'));
    expect(refusal(bad, { messageTypes: ['ADT'], versions: ['2.5'], processingIds: ['P'] }).code).toBe(200);
    expect(refusal(bad, { messageTypes: ['ORU'], versions: ['2.5'], processingIds: ['P'] }).code).toBe(202);
    expect(refusal(bad, { messageTypes: ['ORU'], versions: ['2.5'] }).code).toBe(203);
    expect(refusal(bad, { messageTypes: ['ORU'] }).code).toBe(101);
  });
});

describe('node-hl7-client 3.2.0 as an independent reader of our ACKs', () => {
  test.each(['AA', 'AE', 'AR', 'CA'] as const)('%s', (code) => {
    const orig = Message.parse(ORU);
    const ours = buildAck(orig, { code, now: NOW, errors: code === 'AA' || code === 'CA' ? [] : [{ hl7Code: 207, severity: 'E', diagnostic: 'x|y^z' }] });
    const peer = new NhcMessage({ text: ours.toString() });
    expect(peer.get('MSA.1').toString()).toBe(code);
    expect(peer.get('MSA.2').toString()).toBe('MSG00001');
    expect(peer.get('MSH.9.1').toString()).toBe('ACK');
    if (code === 'AE' || code === 'AR') expect(peer.get('ERR.7').toString()).toBe('x|y^z');
  });

  test('a NAK of garbage is readable too', () => {
    const nak = nakFromRaw('MSH|^~\\&|A|B|C|D|2025||ORU^R01|ID42|P|2.5\rPID|oops', { hl7Code: 100, severity: 'E' });
    const peer = new NhcMessage({ text: nak });
    expect(peer.get('MSA.1').toString()).toBe('AR');
    expect(peer.get('MSA.2').toString()).toBe('ID42');
  });
});

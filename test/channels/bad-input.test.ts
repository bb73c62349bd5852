/** Bounds under bad input, unit level: frame limits, the NAK budget, report limits, ACK bytes. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFrameLimits } from '../../engine/channels/frame-limits';
import { NakLimiter } from '../../engine/channels/nak-limiter';
import { Intake } from '../../engine/channels/intake';
import { channelSchema } from '../../engine/config/channel-schema';
import { checkReportLimits } from '../../engine/documents/limits';
import { PasserelleError } from '../../engine/errors';
import { Message, buildAck, nakFromRaw } from '../../engine/hl7';
import { silentLogger } from '../../engine/runtime/logger';
import { SqliteStore } from '../../engine/store/sqlite';

const HEAD = 'MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|CTL-1|P|2.5\rPID|1||123^^^HOSP^PI||DOE^JOHN\rOBR|1|ORD-9\r';

describe('frame limits (checked on the bytes)', () => {
  const limits = { maxSegments: 5, maxSegmentBytes: 50 };
  test('counts segments ended by CR, LF or CR LF, ignoring empty lines', () => {
    expect(checkFrameLimits(Buffer.from('MSH|a\r\nPID|b\n\nOBR|c\rOBX|d\r\n\r\nNTE|e'), limits)).toBeUndefined();
    expect(checkFrameLimits(Buffer.from('MSH|a\rPID|b\nOBR|c\r\nOBX|d\rNTE|e\rNTE|f'), limits)).toEqual({ kind: 'segments', limit: 5 });
  });
  test('a segment longer than the limit is named by its position', () => {
    expect(checkFrameLimits(Buffer.from(`MSH|a\rOBX|${'x'.repeat(60)}\r`), limits)).toEqual({ kind: 'segment-bytes', limit: 50, segment: 2 });
  });
});

describe('NAK budget per connection', () => {
  test('a burst goes at once, then one NAK per token, then the connection is closed', () => {
    let now = 0;
    const l = new NakLimiter({ perSecond: 10, burst: 3, maxDelayMs: 250 }, () => now);
    const conn = {};
    expect([l.take(conn), l.take(conn), l.take(conn)].map((d) => d.action)).toEqual(['now', 'now', 'now']);
    expect(l.take(conn)).toEqual({ action: 'delay', ms: 100 });
    expect(l.take(conn)).toEqual({ action: 'delay', ms: 200 });
    expect(l.take(conn)).toEqual({ action: 'close' }); // 300 ms > 250
    expect(l.take({}).action).toBe('now'); // another connection has its own budget
    now = 1000; // refilled: 10 tokens/s, capped at the burst
    expect(l.take(conn).action).toBe('now');
  });
});

describe('report limits before rendering', () => {
  test('more results than allowed: PSL_REPORT_TOO_LARGE, permanent', () => {
    const obx = Array.from({ length: 11 }, (_, i) => `OBX|${i + 1}|NM|1^A^L||1|g/L|||||F`).join('\r');
    const msg = Message.parse(HEAD + obx + '\r');
    expect(() => checkReportLimits(msg, { maxResults: 20, maxComments: 20, maxBytes: 100_000 })).not.toThrow();
    let err: unknown;
    try {
      checkReportLimits(msg, { maxResults: 10, maxComments: 20, maxBytes: 100_000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PasserelleError);
    expect([(err as PasserelleError).code, (err as PasserelleError).retry]).toEqual(['PSL_REPORT_TOO_LARGE', 'permanent']);
    expect((err as Error).message).toContain('more than 10 results');
  });
  test('comments and bytes are bounded too', () => {
    const nte = Array.from({ length: 30 }, (_, i) => `NTE|${i + 1}||x`).join('\r');
    const msg = Message.parse(HEAD + nte + '\r');
    expect(() => checkReportLimits(msg, { maxResults: 10, maxComments: 29, maxBytes: 100_000 })).toThrow(/more than 29 comments/);
    expect(() => checkReportLimits(msg, { maxResults: 10, maxComments: 100, maxBytes: 200 })).toThrow(/more than 200 bytes/);
  });
});

describe('ACK bytes never break MLLP framing (fuzzer findings)', () => {
  test('control bytes copied from the message are left out of the ACK', () => {
    const msg = Message.parse('MSH|^~\\&|A\x0bPP|SI\x1cTE|PSL|HOSP|20261125120000||ORU^R01|C\x0b1|P|2.5\r');
    const ack = buildAck(msg, { code: 'AR', errors: [{ hl7Code: 100, severity: 'E', diagnostic: 'bad \x1c\x0b here' }] }).toString();
    expect(ack).not.toMatch(/[\x0b\x1c]/);
    expect(nakFromRaw('MSH|^~\\&|A\x0bB\rX\x1c', { hl7Code: 100, severity: 'E', diagnostic: 'x\x0b\x1cy' })).not.toMatch(/[\x0b\x1c]/);
  });

  test('a NAK quoting characters above U+00FF (U+FF0B, U+FF1C) carries no VT or FS byte', async () => {
    const store = new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'psl-bad-')), 's.db') });
    await store.init();
    const channel = channelSchema.parse({ name: 't', source: { type: 'mllp', port: 0 }, acceptance: { messageTypes: ['ORU^R01'] } });
    const intake = new Intake(channel, store, () => undefined, silentLogger());
    // Segment 2 has no valid name: the diagnostic quotes it.
    const out = await intake.handle(Buffer.from('MSH|^~\\&|A|B|C|D|20261125||ORU^R01|X1|P|2.5\r\uff0b\uff1c\u010b\r', 'utf8'));
    expect(out.state).toBe('refused');
    expect([...out.response!].filter((b) => b === 0x0b || b === 0x1c)).toEqual([]);
    expect(Message.parse(out.response!.toString('latin1')).get('MSA-1')).toBe('AR');
    await store.close();
  });
});

describe('refusal log lines are bounded', () => {
  test('a burst of refusals logs at most 20 lines a second one by one, the rest as a count', async () => {
    const { createLogger } = await import('../../engine/runtime/logger');
    const { Writable } = await import('node:stream');
    const winston = (await import('winston')).default;
    const lines: { message: string; count?: number }[] = [];
    const logger = createLogger({ level: 'info' });
    logger.clear().add(new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) }));
    const store = new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'psl-bad-')), 's.db') });
    await store.init();
    const channel = channelSchema.parse({ name: 't', source: { type: 'mllp', port: 0 }, acceptance: { messageTypes: ['ORU^R01'] } });
    const intake = new Intake(channel, store, () => undefined, logger);
    const started = Date.now();
    for (let i = 0; i < 200; i++) await intake.handle(Buffer.from(`XYZ|not hl7 ${i}\r`));
    const elapsedSeconds = Math.ceil((Date.now() - started) / 1000);
    await new Promise((r) => setTimeout(r, 1100));
    await intake.handle(Buffer.from('XYZ|one more\r')); // the next second: the count of the previous ones comes out
    await new Promise((r) => setImmediate(r));
    const oneByOne = lines.filter((l) => l.message === 'refused').length;
    const summed = lines.filter((l) => l.message === 'refused messages not logged one by one').reduce((a, l) => a + (l.count ?? 0), 0);
    expect(oneByOne).toBeLessThanOrEqual(20 * (elapsedSeconds + 1) + 1);
    expect(oneByOne + summed).toBe(201);
    await store.close();
  });
});

describe('ACK size is bounded (fuzzer finding: seed 1206, frame 80255)', () => {
  test('a 1.4 MB MSH-6 is not echoed into a 1.4 MB NAK: header values are cut at 200 characters', () => {
    const msh6 = '\ufffd'.repeat(700_000);
    const msg = Message.parse(`MSH|^~\\&|LAB|SITE|PF|${msh6}|20261125120000||ADT^A01|CTL-9|P|2.5\rPID|1\r`);
    const ack = buildAck(msg, { code: 'AR', errors: [{ hl7Code: 200, severity: 'E', diagnostic: 'x'.repeat(50_000) }] });
    expect(ack.toString().length).toBeLessThan(2000);
    expect([ack.get('MSH-3'), ack.get('MSH-4').length, ack.get('MSA-2'), ack.get('ERR-7').length]).toEqual(['PF', 200, 'CTL-9', 1000]);
  });
});

/** Rules every file of samples/ keeps: test identities only, HL7 v2.5, '\r' separators. */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { isValidIns } from '../../engine/lab/ins';

const SAMPLES = resolve(__dirname, '../../samples');
const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.hl7'));

test('there are samples', () => {
  expect(files.length).toBeGreaterThanOrEqual(13);
});

test.each(files)('%s: only the INS test OID (1.2.250.1.213.1.4.10), never a production or demo one', (f) => {
  const text = decode(readFileSync(join(SAMPLES, f))).text;
  const insOids = text.match(/1\.2\.250\.1\.213\.1\.4\.\d+/g) ?? [];
  expect(insOids.filter((o) => o !== '1.2.250.1.213.1.4.10')).toEqual([]);
});

test.each(files)('%s: INS matricules have valid keys, segments end with \\r, version 2.5', (f) => {
  const bytes = readFileSync(join(SAMPLES, f));
  expect(bytes.includes(0x0a)).toBe(false);
  const msg = Message.parse(decode(bytes).text);
  expect(msg.version).toBe('2.5');
  const pid = msg.segment('PID');
  expect(pid).toBeDefined();
  for (let i = 1; i <= (pid?.count('3') ?? 0); i++) {
    if (pid?.get(`3[${i}].5`) === 'INS') expect(isValidIns(pid.get(`3[${i}].1`))).toBe(true);
  }
});

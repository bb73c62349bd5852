/** The `passerelle` command as a user runs it (compiled CLI in a child process). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { runCli, type CliResult } from '../support/cli';

const cli = (...args: string[]): Promise<CliResult> => runCli(args);

test('check: the sample channels pass; a broken file is named with its line', async () => {
  const ok = await cli('check', 'channels');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/ok .*ltw-results\.yaml: ltw-results \(mllp port 2575/);
  const dir = mkdtempSync(join(tmpdir(), 'psl-cli-'));
  writeFileSync(join(dir, 'x.yaml'), 'name: x\nsource:\n  type: mllp\n  port: 99999\nacceptance:\n  messageTypes: [ORU^R01]\n');
  const bad = await cli('check', dir);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/x\.yaml:4:\d+: source\.port: Too big/);
});

test('parse: every value with its path, unescaped', async () => {
  const r = await cli('parse', 'samples/oru-r01_ltw_biochemistry.hl7');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('  PID-3[2].4.2 = 1.2.250.1.213.1.4.10');
  expect(r.stdout).toContain('  MSH-10 = SMP-ORU-0001');
  expect(r.stdout).toContain('NTE-3 = Résultat contrôlé\\.br\\Prélèvement à jeun : oui');
  expect(r.stdout).toMatch(/^OBX\[2\]$/m);
  const bad = mkdtempSync(join(tmpdir(), 'psl-cli-'));
  writeFileSync(join(bad, 'b.hl7'), 'NOT HL7');
  const e = await cli('parse', join(bad, 'b.hl7'));
  expect(e.code).toBe(1);
  expect(e.stderr).toMatch(/HL7_NO_MSH/);
});

describe('send', () => {
  let te: TestEngine;
  beforeAll(async () => {
    te = await startTestEngine({ 'ltw.yaml': channelYaml('ltw', 'acceptance:\n  messageTypes: [ORU^R01]\n') });
  });
  afterAll(() => te.stop());

  test('prints each ACK; exit status 1 when one is not AA', async () => {
    const ok = await cli('send', 'samples/oru-r01_ltw_biochemistry.hl7', '--to', `mllp://127.0.0.1:${te.port('ltw')}`);
    expect(ok.stdout).toBe('samples/oru-r01_ltw_biochemistry.hl7: AA SMP-ORU-0001\n');
    expect(ok.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'psl-cli-'));
    writeFileSync(join(dir, 'a.hl7'), 'MSH|^~\\&|A|B|C|D|20261125||ADT^A01|ADT1|P|2.5\rPID|1\r');
    const ar = await cli('send', dir, '--to', `mllp://127.0.0.1:${te.port('ltw')}`);
    expect(ar.code).toBe(1);
    expect(ar.stdout).toMatch(/a\.hl7: AR ADT1 — Unsupported message type/);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadChannelDir, loadChannelFile, ChannelConfigError } from '../../engine/config/load-channels';

const repo = resolve(__dirname, '../..');

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'psl-channels-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const minimal = (name: string, port: number, extra = ''): string =>
  `name: ${name}\nsource:\n  type: mllp\n  port: ${port}\nacceptance:\n  messageTypes: [ORU^R01]\n${extra}`;

describe('channel files', () => {
  test('the sample channels are valid and listen on their documented ports', () => {
    const loaded = loadChannelDir(join(repo, 'channels'));
    const ports = Object.fromEntries(loaded.map((l) => [l.config.name, l.config.source.type === 'mllp' ? l.config.source.port : 0]));
    expect(ports).toEqual({ 'ltw-results': 2575, 'ilw-results': 2576, orders: 2577, 'pfi-receipts': 2579 });
    const ltw = loaded.find((l) => l.config.name === 'ltw-results')!;
    expect(ltw.config.destinations[0]).toMatchObject({ type: 'file', directory: 'var/out/ltw-results', fileName: '${MSH-10}.hl7' });
    const kinds = new Set(loaded.flatMap((l) => l.config.destinations.map((d) => d.type)));
    expect([...kinds].sort()).toEqual(['file', 'mllp', 'orders', 'pfi-receipts', 'reports']);
  });

  test('defaults are applied once and the result is frozen', () => {
    const dir = dirWith({ 'a.yaml': minimal('a', 3000) });
    const ch = loadChannelFile(join(dir, 'a.yaml')).config;
    expect(ch.dedupe.windowMinutes).toBe(1440);
    expect(ch.ordering).toEqual({ key: 'placer-order', partitions: 8 });
    expect(ch.source).toMatchObject({ host: '0.0.0.0', maxFrameBytes: 16 * 1024 * 1024, idleTimeoutSeconds: 300 });
    expect(Object.isFrozen(ch) && Object.isFrozen(ch.source)).toBe(true);
  });

  test('a wrong value is reported with the file, line and path', () => {
    const dir = dirWith({ 'bad.yaml': minimal('bad', 3001, 'destinations:\n  - name: out\n    type: mllp\n    host: x\n    port: "ninety"\n') });
    expect.assertions(4);
    try {
      loadChannelFile(join(dir, 'bad.yaml'));
    } catch (e) {
      expect(e).toBeInstanceOf(ChannelConfigError);
      const p = (e as ChannelConfigError).problems[0]!;
      expect(p.file).toBe(join(dir, 'bad.yaml'));
      expect(p.line).toBe(11);
      expect((e as Error).message).toContain('bad.yaml:11:');
    }
  });

  test('a test sent to two subcontractors is refused, naming the line of the second', () => {
    const sub = (name: string, port: number): string => `      - name: ${name}\n        tests: ['1989-3']\n        host: 127.0.0.1\n        port: ${port}\n`;
    const body = `destinations:\n  - name: book\n    type: orders\n    authority: SIL-LABO\n    subcontractors:\n${sub('a', 2580)}${sub('b', 2581)}`;
    const dir = dirWith({ 'o.yaml': minimal('o', 3002, body).replace('[ORU^R01]', '[OML^O21]') });
    expect(() => loadChannelFile(join(dir, 'o.yaml'))).toThrow(/o\.yaml:17:\d+: .*test 1989-3 is already sent to a/);
  });

  test('the sample results channel: DMP, MSSanté and PFI deliveries off until their variables are set; on, a DMP without its seal is refused naming the variable', () => {
    const file = join(repo, 'channels', 'ltw-results.yaml');
    const reports = (env: NodeJS.ProcessEnv) => loadChannelFile(file, env).config.destinations.find((d) => d.type === 'reports') as { dmp: { enabled: boolean }; mss: { enabled: boolean; starttls: string }; pfi: { enabled: boolean } };
    const off = reports({});
    expect([off.dmp.enabled, off.mss.enabled, off.pfi.enabled]).toEqual([false, false, false]);
    const on = reports({ PASSERELLE_DMP_URL: 'https://dmp.test/si-dmp-server/v2/services', PASSERELLE_DMP_SEAL_CERT: 'seal.crt', PASSERELLE_DMP_SEAL_KEY: 'seal.key', PASSERELLE_MSS_SMTP_URL: 'smtp://127.0.0.1:2525', PASSERELLE_PFI_MLLP: 'mllp://127.0.0.1:2590' });
    expect([on.dmp.enabled, on.mss.enabled, on.mss.starttls, on.pfi.enabled]).toEqual([true, true, 'required', true]);
    expect(() => reports({ PASSERELLE_DMP_URL: 'https://dmp.test/si-dmp-server/v2/services' })).toThrow(/ltw-results\.yaml:\d+:\d+: .*seal.*PASSERELLE_DMP_SEAL_CERT/);
    expect(() => reports({ PASSERELLE_MSS_SMTP_URL: 'http://127.0.0.1:2525' })).toThrow(/ltw-results\.yaml:\d+:\d+: .*smtp:\/\/host:port/);
  });

  test('unknown keys and missing required ones are named', () => {
    const dir = dirWith({ 'x.yaml': 'name: x\nsource:\n  type: mllp\n  port: 1\n  prot: 2\n' });
    expect(() => loadChannelFile(join(dir, 'x.yaml'))).toThrow(/x\.yaml:5:\d+: source: Unrecognized key: "prot"[\s\S]*acceptance/);
  });

  test('YAML syntax errors name the line', () => {
    const dir = dirWith({ 's.yaml': 'name: s\nsource: [unclosed\n' });
    expect(() => loadChannelFile(join(dir, 's.yaml'))).toThrow(/s\.yaml:\d+:\d+:/);
  });

  test('secrets come from environment variables; a missing one is an error naming the line', () => {
    const text = minimal('sec', 3002, 'destinations:\n  - name: out\n    type: mllp\n    host: ${env:PSL_TEST_HOST}\n    port: 2600\n');
    const dir = dirWith({ 'sec.yaml': text });
    const ok = loadChannelFile(join(dir, 'sec.yaml'), { PSL_TEST_HOST: 'eai.example.test' });
    expect(ok.config.destinations[0]).toMatchObject({ host: 'eai.example.test' });
    expect(() => loadChannelFile(join(dir, 'sec.yaml'), {})).toThrow(/sec\.yaml:10:\d+: environment variable PSL_TEST_HOST is not set/);
  });

  test('two channels on one port, or with one name, are refused together', () => {
    const dir = dirWith({ 'a.yaml': minimal('a', 3100), 'b.yaml': minimal('a', 3100) });
    expect(() => loadChannelDir(dir)).toThrow(/b\.yaml:1:7: name: channel name "a" is also used by a\.yaml[\s\S]*b\.yaml:4:9: source\.port: port 3100 is also used/);
  });
});

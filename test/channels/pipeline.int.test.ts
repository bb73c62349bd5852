/** Channel behaviour an EAI engineer relies on, through a real engine (Redis, SQLite, sockets). */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Message } from '../../engine/hl7';
import { MllpClient, MllpServer } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { waitFor } from '../support/wait';

const oru = (id: string, extra = ''): string =>
  `MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5${extra}\rPID|1||7^^^HOSP^PI||TEST^PIPE\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`;

/** A downstream MLLP peer whose answer per message the test decides. */
function downstream(answer: (id: string, n: number) => 'AA' | 'AE' | 'AR'): { server: MllpServer; seen: string[] } {
  const seen: string[] = [];
  const server = new MllpServer({
    host: '127.0.0.1',
    port: 0,
    handler: async (payload) => {
      const m = Message.parse(payload.toString('utf8'));
      seen.push(m.controlId);
      const code = answer(m.controlId, seen.filter((s) => s === m.controlId).length);
      return Buffer.from(`MSH|^~\\&|DOWN|X|||20261125||ACK^R01^ACK|K${seen.length}|P|2.5\rMSA|${code}|${m.controlId}\r${code === 'AA' ? '' : `ERR||||E|||||refused by test\r`}`);
    },
  });
  return { server, seen };
}

let te: TestEngine;
let down: ReturnType<typeof downstream>;
const clients: MllpClient[] = [];
const client = (channel: string): MllpClient => {
  const c = new MllpClient({ host: '127.0.0.1', port: te.port(channel) });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  down = downstream((id, n) => (id.startsWith('AE') && n === 1 ? 'AE' : id.startsWith('AR') && n < 3 ? 'AR' : 'AA'));
  const { port } = await down.server.listen();
  const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'psl-pipe-'));
  mkdirSync(join(dir, 'mappings'));
  writeFileSync(join(dir, 'mappings', 'to-eai.yaml'), 'steps:\n  - set: { path: MSH-5, value: EAI }\n  - copy: { from: MSH-10, to: MSH-6 }\n');
  te = await startTestEngine(
    {
      'relay.yaml': channelYaml(
        'relay',
        `acceptance:\n  messageTypes: [ORU^R01]\ntransform:\n  mapping: \${DIR}/mappings/to-eai.yaml\n` +
          `destinations:\n  - name: file\n    type: file\n    directory: \${DIR}/relay-out\n  - name: eai\n    type: mllp\n    host: 127.0.0.1\n    port: ${port}\n    retry:\n      maxAttempts: 4\n      backoffBaseMs: 20\n      backoffMaxMs: 100\n`,
      ),
      'inbox.yaml':
        `name: inbox\nsource:\n  type: directory\n  path: \${DIR}/inbox\n  pollSeconds: 0.2\nacceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: \${DIR}/inbox-out\n`,
      'small.yaml': channelYaml('small', `  maxFrameBytes: 2048\nacceptance:\n  messageTypes: [ORU^R01]\nack:\n  honourMsh15: true\n`),
    },
    { dir },
  );
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
  await down?.server.close({ drainDeadlineMs: 100 });
});

const stateOf = async (channel: string, controlId: string): Promise<string | undefined> =>
  (await te.engine.messageStore.list(channel, undefined, 500)).find((m) => m.controlId === controlId)?.state;

test('transform mapping applied; file and MLLP destinations both delivered', async () => {
  const c = client('relay');
  expect((await c.send(Buffer.from(oru('OK1')))).toString()).toContain('MSA|AA|OK1');
  expect(await waitFor(async () => (await stateOf('relay', 'OK1')) === 'done', 10_000)).toBe(true);
  const written = Message.parse(readFileSync(join(te.dir, 'relay-out', 'OK1.hl7'), 'utf8'));
  expect([written.get('MSH-5'), written.get('MSH-6'), written.controlId]).toEqual(['EAI', 'OK1', 'OK1']);
  expect(down.seen).toContain('OK1');
});

test('a destination answering AE is dead-lettered with the reason; AR is retried until AA', async () => {
  const c = client('relay');
  await c.send(Buffer.from(oru('AE1')));
  await c.send(Buffer.from(oru('AR1')));
  expect(await waitFor(async () => (await stateOf('relay', 'AE1')) === 'dead', 10_000)).toBe(true);
  expect(await waitFor(async () => (await stateOf('relay', 'AR1')) === 'done', 10_000)).toBe(true);
  const dead = (await te.engine.messageStore.list('relay', 'dead', 10)).find((m) => m.controlId === 'AE1')!;
  expect(dead.reason).toMatch(/^eai: PSL_DEST_NAK_ERROR: .*AE/);
  expect(down.seen.filter((s) => s === 'AE1')).toHaveLength(1); // permanent: never retried
  expect(down.seen.filter((s) => s === 'AR1')).toHaveLength(3); // AR, AR, AA
  const deliveries = await te.engine.messageStore.deliveries(dead.id);
  expect(deliveries.find((d) => d.destination === 'file')?.state).toBe('delivered');
});

test('a dead-lettered message is reprocessed from the CLI: only the dead destination runs again', async () => {
  const dead = (await te.engine.messageStore.list('relay', 'dead', 10)).find((m) => m.controlId === 'AE1')!;
  const env = {
    ...process.env,
    PASSERELLE_CHANNELS: te.config.channelsDir,
    PASSERELLE_STORE: te.config.store,
    PASSERELLE_PREFIX: te.config.prefix,
    PASSERELLE_EMBEDDED_REDIS: '0',
  };
  const cli = join(__dirname, '../../dist/engine/cli/main.js');
  const listed = execFileSync(process.execPath, [cli, 'messages', 'relay', '--state', 'dead'], { env, cwd: te.dir }).toString();
  expect(listed).toMatch(new RegExp(`${dead.id}\tdead\tAE1\tORU\\^R01\t.*PSL_DEST_NAK_ERROR`));
  const requeued = execFileSync(process.execPath, [cli, 'reprocess', 'relay', dead.id], { env, cwd: te.dir }).toString();
  expect(requeued).toBe(`${dead.id}: requeued (eai)\n`);
  expect(await waitFor(async () => (await stateOf('relay', 'AE1')) === 'done', 10_000)).toBe(true);
  expect(down.seen.filter((s) => s === 'AE1')).toHaveLength(2);
  const deliveries = await te.engine.messageStore.deliveries(dead.id);
  expect(deliveries.find((d) => d.destination === 'file')?.attempts).toBe(1); // the file was not written again
  await expect(te.engine.channel('relay')!.pipeline.reprocess(dead.id)).rejects.toMatchObject({ code: 'PSL_REPROCESS_REFUSED' });
});

test('a resent message gets the original ACK back and is processed once', async () => {
  const c = client('relay');
  const first = await c.send(Buffer.from(oru('DUP1')));
  const again = await c.send(Buffer.from(oru('DUP1')));
  expect(again.equals(first)).toBe(true);
  await waitFor(async () => (await stateOf('relay', 'DUP1')) === 'done', 10_000);
  const rows = (await te.engine.messageStore.list('relay', undefined, 500)).filter((m) => m.controlId === 'DUP1');
  expect(rows).toHaveLength(1);
  expect(down.seen.filter((s) => s === 'DUP1')).toHaveLength(1);
});

test('watched directory: batch files are split, each message stored, the file moved away', async () => {
  const inbox = join(te.dir, 'inbox');
  mkdirSync(inbox, { recursive: true });
  const batch = `FHS|^~\\&|LAB\rBHS|^~\\&|LAB\r${oru('F1')}${oru('F2')}BTS|2\rFTS|1\r`;
  writeFileSync(join(inbox, 'b1.hl7'), batch);
  writeFileSync(join(inbox, 'junk.hl7'), 'this is not HL7');
  // F1 and F2 are different orders (OBR-2), so different lines: no order between them.
  expect(await waitFor(() => existsSync(join(te.dir, 'inbox-out', 'F1.hl7')) && existsSync(join(te.dir, 'inbox-out', 'F2.hl7')), 10_000)).toBe(true);
  expect(await waitFor(() => existsSync(join(inbox, 'processed', 'b1.hl7')) && existsSync(join(inbox, 'refused', 'junk.hl7')), 5000)).toBe(true);
  expect(readdirSync(inbox).filter((f) => f.endsWith('.hl7'))).toEqual([]);
});

test('an oversize frame gets an AR NAK with ERR, then the connection is closed', async () => {
  const c = client('small');
  const big = oru('BIG1').replace('OBX|1|NM', `NTE|1||${'x'.repeat(4000)}\rOBX|1|NM`);
  const nak = Message.parse((await c.send(Buffer.from(big))).toString('latin1'));
  expect(nak.get('MSA-1')).toBe('AR');
  expect(nak.get('ERR-8')).toMatch(/exceeds 2048 bytes/);
  expect(nak.get('MSA-2')).toBe('BIG1');
});

test('enhanced mode: CA when MSH-15 is AL; no answer at all when the channel honours NE', async () => {
  const c = client('small');
  const ca = Message.parse((await c.send(Buffer.from(oru('ENH1', '|||AL|NE')))).toString());
  expect([ca.get('MSA-1'), ca.get('MSA-2')]).toEqual(['CA', 'ENH1']);
  const silent = new MllpClient({ host: '127.0.0.1', port: te.port('small'), responseTimeoutMs: 700 });
  clients.push(silent);
  await expect(silent.send(Buffer.from(oru('ENH2', '|||NE|NE')))).rejects.toMatchObject({ code: 'PSL_DEST_ACK_TIMEOUT' });
  expect(await waitFor(async () => (await stateOf('small', 'ENH2')) === 'done', 5000)).toBe(true);
});

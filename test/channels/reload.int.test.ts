/** A changed channel file is applied without dropping the connections of the other channels. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MllpClient } from '../../engine/mllp';
import { startTestEngine, channelYaml, type TestEngine } from '../support/engine-harness';
import { waitFor } from '../support/wait';

const oru = (id: string): Buffer =>
  Buffer.from(`MSH|^~\\&|LAB|SITE|PSL|HOSP|20261125120000||ORU^R01^ORU_R01|${id}|P|2.5\rPID|1||7^^^HOSP^PI||TEST^RELOAD\rOBR|1|O-${id}\rOBX|1|NM|2345-7^Glucose^LN||1|g/L|||||F\r`);
const fileChannel = (name: string, sub: string): string =>
  channelYaml(name, `acceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: out\n    type: file\n    directory: \${DIR}/${sub}\n`);

let te: TestEngine;
const clients: MllpClient[] = [];
afterAll(async () => {
  for (const c of clients) await c.close();
  await te?.stop();
});

test('editing one channel restarts it alone; a broken edit keeps the previous version', async () => {
  te = await startTestEngine({ 'a.yaml': fileChannel('a', 'out-a1'), 'b.yaml': fileChannel('b', 'out-b') }, { watchChannels: true });
  const b = new MllpClient({ host: '127.0.0.1', port: te.port('b') });
  clients.push(b);
  expect((await b.send(oru('B1'))).toString()).toContain('MSA|AA|B1');
  const bConnections = (): number => te.engine.channel('b')!.connectionCount();
  expect(bConnections()).toBe(1);
  const bRuntime = te.engine.channel('b');

  // Edit channel a: new output directory.
  writeFileSync(join(te.dir, 'channels', 'a.yaml'), fileChannel('a', 'out-a2').replace(/\$\{DIR\}/g, te.dir));
  const aDirectory = (): string | undefined => {
    const d = te.engine.channel('a')?.config.destinations[0];
    return d?.type === 'file' ? d.directory : undefined;
  };
  expect(await waitFor(() => aDirectory()?.endsWith('out-a2') === true, 10_000)).toBe(true);
  const a = new MllpClient({ host: '127.0.0.1', port: te.port('a') });
  clients.push(a);
  expect((await a.send(oru('A1'))).toString()).toContain('MSA|AA|A1');
  expect(await waitFor(() => existsSync(join(te.dir, 'out-a2', 'A1.hl7')), 10_000)).toBe(true);

  // Channel b was not touched: same runtime, same socket still answering.
  expect(te.engine.channel('b')).toBe(bRuntime);
  expect(bConnections()).toBe(1);
  expect((await b.send(oru('B2'))).toString()).toContain('MSA|AA|B2');

  // A broken edit is refused; the running version of a keeps working.
  const runningA = te.engine.channel('a');
  writeFileSync(join(te.dir, 'channels', 'a.yaml'), 'name: a\nsource:\n  type: mllp\n  port: banana\n');
  await new Promise((r) => setTimeout(r, 1500));
  expect(te.engine.channel('a')).toBe(runningA);
  expect((await a.send(oru('A2'))).toString()).toContain('MSA|AA|A2');
});

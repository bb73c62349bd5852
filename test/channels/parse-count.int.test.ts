/**
 * How often a message is parsed on its way (issue 8, item 7): once at intake, and once by each
 * destination's delivery, nowhere else — no re-parse in the pipeline when the channel has no
 * filter nor transform, none in the reports destination or the render worker (the typed report
 * travels). Counted on the sample ltw-results channel: an archive file and the reports.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message } from '../../engine/hl7';
import { MllpClient } from '../../engine/mllp';
import type { TestEngine } from '../support/engine-harness';
import { documentsDelivery, startSampleChannels } from '../support/sample-channels';

jest.setTimeout(120_000);

let te: TestEngine;
let ports: Record<number, number> = {};
let client: MllpClient;

beforeAll(async () => {
  ({ te, ports } = await startSampleChannels());
  client = new MllpClient({ host: '127.0.0.1', port: ports[2575]! });
});

afterAll(async () => {
  await client?.close();
  await te?.stop();
});

test('an ORU through ltw-results is parsed three times: intake, then the archive and the reports destinations', async () => {
  const raw = readFileSync(join(resolve(__dirname, '../..'), 'samples', 'oru-r01_ltw_biochemistry.hl7'));
  const parse = jest.spyOn(Message, 'parse');
  try {
    const ack = (await client.send(raw)).toString('utf8');
    expect(ack).toMatch(/\rMSA\|AA\|SMP-ORU-0001/);
    expect((await documentsDelivery(te, 'SMP-ORU-0001')).detail).toBe('report LAB-0001: v1 (completed)');
    const parsedOru = parse.mock.calls.filter(([text]) => /\|ORU\^R01\^ORU_R01\|SMP-ORU-0001\|/.test(text));
    expect(parsedOru).toHaveLength(3);
  } finally {
    parse.mockRestore();
  }
});

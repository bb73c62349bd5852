/**
 * 20,000 fuzzed frames (seed 20261206) through the real listener of a real engine process, and
 * through the parser in-process: no crash, no hang (every frame answered or its connection
 * closed), no answer that breaks MLLP framing, RSS under 500 MB, refusals within the channel's
 * quota, and a valid message ACKed AA at the end. `npm run fuzz` runs the same code at any size.
 */
import { runFuzz, formatReport } from '../../bench/fuzz/fuzzer';

jest.setTimeout(240_000);

test('20,000 fuzzed frames: 0 crashes, 0 hangs, RSS bounded, refusals within quota, AA at the end', async () => {
  const r = await runFuzz({ frames: 20_000, seed: 20261206, connections: 4, window: 8, timeoutMs: 30_000 });
  const report = formatReport(r);
  expect({ failures: r.failures, report }).toEqual({ failures: [], report });
  expect(r.tally.sent).toBe(20_000);
  expect(r.crashes).toBe(0);
  expect(r.tally.hangs).toBe(0);
  expect(r.tally.badAnswers).toBe(0);
  expect(r.parserFindings).toEqual([]);
  expect(r.maxRssMb).toBeLessThan(500);
  expect(r.finalAck).toBe('AA');
  // Mostly refusals, some taken: the run exercised both paths.
  expect(r.tally.answers.AR ?? 0).toBeGreaterThan(10_000);
  expect((r.tally.answers.AA ?? 0) + (r.tally.answers.CA ?? 0)).toBeGreaterThan(100);
  // Channel defaults: 10,000 refusals and 32 MiB kept; the rest dropped and counted.
  expect(r.refusals!.count).toBeLessThanOrEqual(10_000);
  expect(r.refusals!.bytes).toBeLessThanOrEqual(32 * 1024 * 1024);
  expect(r.refusals!.count + r.refusals!.dropped).toBe(r.counts.refused! + r.refusals!.dropped);
  expect(r.refusals!.dropped).toBeGreaterThan(0);
});

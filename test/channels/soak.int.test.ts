/**
 * The outage soak (bench/soak.ts, `npm run soak` runs it for 10 minutes) in its 60-second form:
 * a real engine takes 50 msg/s over MLLP on 200 ordering keys while its MLLP destination's peer
 * is closed from second 10 to second 35. Everything must reach both destinations once, in send
 * order per key, nothing dead-lettered, one "destination failing" and one "destination
 * recovered" event. RSS is reported; the bound asserted only catches a leak (2× over the run).
 */
import { runSoak } from '../../bench/soak';

test('60-second outage soak: one destination down then back, all delivered once and in order, one failing and one recovered event', async () => {
  const r = await runSoak({
    durationS: 60,
    rate: 50,
    connections: 4,
    keys: 200,
    downAtS: 10,
    upAtS: 35,
    drainTimeoutS: 120,
    rssWindowS: 15,
    rssFlatRatio: 2,
    print: (line) => void process.stdout.write(line + '\n'),
  });
  expect(r.sent).toBe(3000);
  const once = { delivered: 3000, duplicates: 0, missing: 0, keysOutOfOrder: 0 };
  expect(r.archive).toEqual(once);
  expect(r.eai).toEqual(once);
  expect(r.storeCounts).toEqual({ done: 3000 });
  expect(r.deadListed).toBe(0);
  expect(r.deadLetteredEvents).toBe(0);
  expect({ failing: r.failingEvents, recovered: r.recoveredEvents }).toEqual({ failing: 1, recovered: 1 });
  expect(r.rss.ratio).toBeLessThanOrEqual(2);
  expect(r.violations).toEqual([]);
}, 400_000);

import { Periodic } from '../../engine/runtime/periodic';
import { waitFor } from '../support/wait';

test('passes run one at a time, a failure is reported and the next pass still comes; stop waits for the pass running', async () => {
  const events: string[] = [];
  let active = 0;
  let n = 0;
  let release: (() => void) | undefined;
  const errors: unknown[] = [];
  const p = new Periodic(
    async () => {
      const i = ++n;
      active++;
      events.push(`start ${i} (active ${active})`);
      if (i === 2) {
        active--;
        throw new Error('second pass fails');
      }
      // The third pass is held until the test lets it go: stop() must wait for it.
      if (i === 3) await new Promise<void>((r) => (release = r));
      else await new Promise((r) => setTimeout(r, 5));
      active--;
      events.push(`end ${i}`);
    },
    (e) => errors.push(e),
  );
  p.start(1, 1);
  await waitFor(() => release !== undefined, 5000);
  let stopped = false;
  const stopping = p.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 20));
  expect(stopped).toBe(false);
  release!();
  await stopping;
  await new Promise((r) => setTimeout(r, 20));
  expect(events).toEqual(['start 1 (active 1)', 'end 1', 'start 2 (active 1)', 'start 3 (active 1)', 'end 3']);
  expect(errors.map((e) => (e as Error).message)).toEqual(['second pass fails']);
  expect(n).toBe(3);
});

/**
 * A runaway render hits its thread's heap limit, not the engine's: the request fails with
 * PSL_RENDER_OUT_OF_MEMORY (permanent: dead-lettered, not retried), the thread is replaced and
 * the next report renders.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decode } from '../../engine/hl7';
import { RenderPool } from '../../engine/documents/render-pool';
import { PasserelleError, retryClassOf } from '../../engine/errors';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { ANS_KIT_DIR } from '../support/ans-kit';

const SAMPLES = resolve(__dirname, '../../samples');
const OPTIONS = { version: '2024.01' as const, profile: 'pro' as const, effectiveTime: '20261125120000+0100' };

it('a render over the thread heap limit fails with PSL_RENDER_OUT_OF_MEMORY; the pool renders the next report', async () => {
  const pool = new RenderPool(ANS_KIT_DIR, { size: 1, memoryMb: Number(process.env.PSL_TEST_RENDER_MB ?? 160) });
  try {
    await pool.ready();
    const sample = decode(readFileSync(join(SAMPLES, 'oru-r01_biochemistry.hl7'))).text;
    const lines = sample.split(/\r\n|\r|\n/).filter((l) => l !== '');
    const at = lines.findIndex((l) => l.startsWith('OBX|'));
    // 60,000 more results after the first: far beyond any crbio limit (the destination would
    // refuse the message before rendering; the pool is called directly here).
    const copies = Array.from({ length: 60_000 }, (_, i) => lines[at]!.replace(/^OBX\|\d+\|/, `OBX|${i + 100}|`));
    const huge = [...lines.slice(0, at + 1), ...copies, ...lines.slice(at + 1)].join('\r') + '\r';
    let err: unknown;
    try {
      await pool.render(huge, TEST_LAB_PROFILE, OPTIONS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PasserelleError);
    expect((err as PasserelleError).code).toBe('PSL_RENDER_OUT_OF_MEMORY');
    expect(retryClassOf(err)).toBe('permanent');
    const set = await pool.render(sample, TEST_LAB_PROFILE, OPTIONS);
    expect(set.validation.n3.valid).toBe(true);
  } finally {
    await pool.close();
  }
}, 180_000);

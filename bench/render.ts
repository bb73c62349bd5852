/**
 * `npm run bench -- render`: CR-BIO document sets per second end to end on the samples
 * (HL7 → report model → PDF/A → N3 → N1 → inline validation of N3 and N1), the cost of each
 * stage, and the full ANS profile-set validation time per N3. Targets (issue 3): ≥ 15
 * validated sets/s end to end on a 2-core machine; full set ≤ 1 s per document. The
 * reference generic pipeline (ISO skeleton → SEF, shared/docs/ans-cda.md §7.3) took a median
 * 3.5 s per document for the full set: the ratio to it is printed.
 */
import { repoRootOf, resolveAnsKit } from '../engine/config/reference-data';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Message, decode } from '../engine/hl7';
import { reportFromMessage } from '../engine/lab';
import { renderDocumentSet } from '../engine/documents/document-set';
import { RenderPool } from '../engine/documents/render-pool';
import { loadLabProfile } from '../engine/config/lab-profile';
import { AnsKit } from '../engine/validation';

const ROOT = resolve(__dirname, '..', '..');
const REFERENCE_FULL_MEDIAN_MS = 3500;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

export async function benchRender(): Promise<void> {
  const kitDir = resolveAnsKit({ root: repoRootOf(__dirname) });
  const kit = AnsKit.open(kitDir, { cacheDir: process.env.PASSERELLE_CACHE_DIR });
  const lab = loadLabProfile(join(ROOT, 'channels', 'labs', 'laboratoire-demo.yaml'));
  const samplesDir = join(ROOT, 'samples');
  const messages = readdirSync(samplesDir)
    .filter((f) => /^o(ru|ul)-r\d\d.*\.hl7$/.test(f))
    .sort()
    .map((f) => ({ file: f, raw: readFileSync(join(samplesDir, f)) }));

  const t0 = performance.now();
  // Only the inline sets here, as in the engine's render threads: the full profile sets (a far
  // larger heap) live in their own validation thread and are measured at the end.
  await kit.prepare(['xsd', 'volet-2024.01']);
  process.stdout.write(`render: ${messages.length} sample messages, kit ${kitDir}\n  prepare inline rule sets: ${Math.round(performance.now() - t0)} ms\n`);

  const stages = { model: [] as number[], pdf: [] as number[], n3: [] as number[], n1: [] as number[], validate: [] as number[] };
  const n3s: { file: string; xml: string }[] = [];
  // Warm-up round (lazy XPath compilation, font loading), then timed rounds.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  let sets = 0;
  let wall = 0;
  for (let round = -1; round < rounds; round++) {
    const start = performance.now();
    for (const m of messages) {
      let t = performance.now();
      const report = reportFromMessage(Message.parse(decode(m.raw).text));
      const tModel = performance.now() - t;
      const set = await renderDocumentSet(report, lab, { version: '2024.01', profile: 'pro', effectiveTime: '20261125120000+0100' }, { kit });
      if (round < 0) {
        n3s.push({ file: m.file, xml: set.n3 });
        continue;
      }
      sets++;
      stages.model.push(tModel);
      stages.pdf.push(set.timings.pdf);
      stages.n3.push(set.timings.n3);
      stages.n1.push(set.timings.n1);
      stages.validate.push(set.timings.validate);
    }
    if (round >= 0) wall += performance.now() - start;
  }
  const perSet = (xs: number[]): string => `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)} ms mean, ${median(xs).toFixed(1)} median`;
  process.stdout.write(`  end to end in one thread: ${sets} validated document sets in ${(wall / 1000).toFixed(2)} s = ${(sets / (wall / 1000)).toFixed(1)} sets/s (target ≥ 15)\n`);
  for (const [k, v] of Object.entries(stages)) process.stdout.write(`    ${k.padEnd(9)} ${perSet(v)}\n`);

  // The engine's path: a RenderPool of worker threads (XSD on the main thread), fed like a
  // channel with several messages in flight.
  for (const size of [1, 2]) {
    const pool = new RenderPool(kitDir, { cacheDir: process.env.PASSERELLE_CACHE_DIR, size });
    await pool.ready();
    const texts = messages.map((m) => decode(m.raw).text);
    const opts = { version: '2024.01' as const, profile: 'pro' as const, effectiveTime: '20261125120000+0100' };
    await Promise.all(texts.map((t) => pool.render(t, lab, opts))); // warm-up
    const jobs = Array.from({ length: rounds }, () => texts).flat();
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 * size }, async () => {
        while (next < jobs.length) await pool.render(jobs[next++]!, lab, opts);
      }),
    );
    const s = (performance.now() - start) / 1000;
    process.stdout.write(`  render pool, ${size} worker thread(s): ${jobs.length} validated sets in ${s.toFixed(2)} s = ${(jobs.length / s).toFixed(1)} sets/s\n`);
    await pool.close();
  }

  const t1 = performance.now();
  await kit.prepare(['IHE', 'ModelesDeContenusCDA', 'Modeles_ANS', 'StrucMin', 'terminologie']);
  process.stdout.write(`  prepare the five profile sets: ${Math.round(performance.now() - t1)} ms\n`);
  const full: number[] = [];
  for (const d of n3s) {
    await kit.validate(d.xml, { full: true }); // warm
    const t = performance.now();
    const r = await kit.validate(d.xml, { full: true });
    full.push(performance.now() - t);
    if (!r.valid) process.stdout.write(`    ! ${d.file}: full set reports ${r.errors} error(s)\n`);
  }
  const med = median(full);
  process.stdout.write(
    `  full profile set per N3: median ${med.toFixed(0)} ms, max ${Math.max(...full).toFixed(0)} ms (target ≤ 1000; reference pipeline 3500 ms: ${(REFERENCE_FULL_MEDIAN_MS / med).toFixed(1)}× faster)\n`,
  );
}

/**
 * Directory benchmark (`npm run bench -- directory`, issue 11, item 6).
 *
 * Generates a PS_LibreAcces_Personne_activite file of BENCH_DIRECTORY_LINES lines (default
 * 2,000,000; the public format, 52 columns, test RPPS; kept under var/bench/directory/ for the
 * next run), then in this one process:
 *  1. the bare ceiling: the same file read through the same stream and readline, each line split
 *     on `|` (nothing decoded, nothing stored);
 *  2. the load into a fresh SQLite store (engine/directory/loader.ts, as `passerelle directory
 *     load` runs it);
 *  3. a reload of the same file over it (the daily case: a previous generation to replace).
 * Printed: time, lines/s, the ratio load / ceiling, peak RSS (process.resourceUsage().maxRSS,
 * the process's high-water mark so far) and the highest RSS sampled during each phase.
 * Memory must stay flat whatever the file size: the file is streamed, batches are bounded.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { SqliteStore } from '../engine/store';
import { loadDirectoryFile } from '../engine/directory/loader';
import { PERSON_HEADER as HEADER } from '../engine/directory/extraction-columns';
import { RssSampler } from './rss-sampler';

const LINES = Number(process.env.BENCH_DIRECTORY_LINES ?? 2_000_000);
const ROOT = resolve(__dirname, '..', '..', 'var', 'bench', 'directory');

/** Line i, of person p; `second`: their second activity (a hospital). */
function line(i: number, p: number, second: boolean): string {
  const rpps = String(10000000000 + p);
  const dept = String(1 + (p % 95)).padStart(2, '0');
  return [
    '8', rpps, `8${rpps}`, 'DR', 'Docteur', p % 2 ? 'M' : 'MME', p % 2 ? 'Monsieur' : 'Madame', `NOM${p}`, `PRÉNOM${p % 5000}`, '10', 'Médecin', 'C', 'Civil',
    'S', 'Spécialité ordinale', second ? 'SM26' : 'SM54', second ? 'Qualifié en Médecine Générale' : 'Médecine générale', second ? 'S' : 'L', second ? 'Salarié' : 'Libéral',
    String(30000000000000 + i), String(300000000 + (i % 1000000)), second ? String(750000000 + (p % 99999)) : '', '', `R10${i}`,
    second ? `CENTRE HOSPITALIER ${dept}` : `CABINET DU DOCTEUR NOM${p}`, '', '', '', String(1 + (i % 200)), '', 'R', 'Rue', `DE LA SANTÉ ${i % 300}`, '', '',
    `${dept}000`, `${dept}${String(i % 900).padStart(3, '0')}`, `VILLE ${dept}`, '99000', 'France', '0100000000', '', '', '', dept, `Département ${dept}`, '', 'CNOM/CNOM/CNOM', 'SA07', 'Cabinet individuel', '', '',
  ].join('|') + '|';
}

async function generate(file: string): Promise<void> {
  if (existsSync(file)) return;
  mkdirSync(ROOT, { recursive: true });
  const out = createWriteStream(file + '.tmp', { highWaterMark: 1 << 20 });
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(HEADER.join('|') + '|\r\n');
  let chunk = '';
  // Person p has two lines when p is a multiple of 3, else one.
  for (let i = 0, p = 0; i < LINES; p++) {
    for (let k = 0; k < (p % 3 === 0 ? 2 : 1) && i < LINES; k++, i++) chunk += line(i, p, k === 1) + '\r\n';
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
  renameSync(file + '.tmp', file);
}

async function ceiling(file: string): Promise<number> {
  const rl = createInterface({ input: createReadStream(file, { highWaterMark: 256 * 1024, encoding: 'latin1' }), crlfDelay: Infinity });
  let fields = 0;
  for await (const l of rl) fields += l.split('|').length;
  return fields;
}

async function phase<T>(name: string, lines: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const sampler = new RssSampler(process.pid, 100);
  sampler.start();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  sampler.stop();
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  const sampled = sampler.samples.reduce((m, s) => Math.max(m, s.mb), 0);
  console.log(`  ${name.padEnd(34)} ${(ms / 1000).toFixed(1).padStart(6)} s  ${Math.round(lines / (ms / 1000)).toLocaleString('en').padStart(9)} lines/s  RSS sampled max ${sampled.toFixed(0)} MB, process peak so far ${maxRssMb.toFixed(0)} MB`);
  return { ms, value };
}

export async function benchDirectory(): Promise<void> {
  const file = join(ROOT, `PS_LibreAcces_Personne_activite_${LINES}.txt`);
  console.log(`directory: ${LINES.toLocaleString('en')} lines of PS_LibreAcces_Personne_activite (${file})`);
  await generate(file);
  const dir = join(ROOT, `store-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const store = new SqliteStore({ path: join(dir, 'messages.db') });
  await store.init();
  try {
    const bare = await phase('bare ceiling (read + split)', LINES, () => ceiling(file));
    const first = await phase('load into a fresh SQLite store', LINES, () => loadDirectoryFile(store, file));
    const again = await phase('reload over it (switch + drop old)', LINES, () => loadDirectoryFile(store, file));
    for (const r of [first.value, again.value]) if (r.load.lines !== LINES || r.load.rejected !== 0) throw new Error(`load read ${r.load.lines} lines, ${r.load.rejected} rejected`);
    console.log(`  load / ceiling: ${(first.ms / bare.ms).toFixed(1)}× the time (reload ${(again.ms / bare.ms).toFixed(1)}×); ${first.value.load.lines} lines, ${first.value.load.rejected} rejected`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

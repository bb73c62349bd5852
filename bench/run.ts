/** `npm run bench [-- parser|ingest|ingest-cpu|render|validation|isolation|bad-input|scale|reports|delivery|console|directory]`: runs the named benchmarks (all by default). */
import { benchParser } from './parser';
import { benchIngest } from './ingest';
import { benchIngestCpu } from './ingest-cpu';
import { benchRender } from './render';
import { runValidationBench } from './validation';
import { benchIsolation } from './isolation';
import { benchBadInput } from './bad-input';
import { benchScale } from './scale';
import { benchReports } from './reports';
import { benchDelivery } from './delivery';
import { benchConsole } from './console';
import { benchDirectory } from './directory';

const all: Record<string, () => Promise<unknown>> = { parser: benchParser, ingest: benchIngest, 'ingest-cpu': benchIngestCpu, render: benchRender, validation: runValidationBench, isolation: benchIsolation, 'bad-input': benchBadInput, scale: benchScale, reports: benchReports, delivery: benchDelivery, console: benchConsole, directory: benchDirectory };

async function main(): Promise<void> {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(all);
  for (const n of names) {
    const run = all[n];
    if (!run) throw new Error(`unknown benchmark ${n}; known: ${Object.keys(all).join(', ')}`);
    await run();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String((e as Error).stack) + '\n');
    process.exit(1);
  },
);

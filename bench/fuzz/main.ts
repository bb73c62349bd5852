/** `npm run fuzz -- --frames N --seed S [--connections C] [--window W] [--timeout MS] [--rss-mb MB] [--dir D] [--crbio] [--nak-rate N] [--no-parser]` */
import { resolve } from 'node:path';
import { formatReport, runFuzz } from './fuzzer';
import { repoRootOf, resolveAnsKit } from '../../engine/config/reference-data';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<number> {
  const crbio = process.argv.includes('--crbio');
  // --crbio needs the kit: the same resolution as the engine (env, ../shared/ans, var/ans-kit, pinned fetch); one line when none.
  const kit = crbio ? resolveAnsKit({ root: repoRootOf(__dirname) }) : '';
  const report = await runFuzz({
    frames: Number(arg('frames', '10000')),
    seed: Number(arg('seed', '1')),
    connections: Number(arg('connections', '4')),
    window: Number(arg('window', '4')),
    timeoutMs: Number(arg('timeout', '30000')),
    rssLimitMb: Number(arg('rss-mb', '500')),
    dir: arg('dir'),
    parser: !process.argv.includes('--no-parser'),
    nakPerSecond: arg('nak-rate') ? Number(arg('nak-rate')) : undefined,
    crbio: crbio ? { kitDir: kit, lab: resolve(__dirname, '../../..', 'channels/labs/laboratoire-demo.yaml') } : undefined,
    progress: (l) => process.stderr.write(l + '\n'),
  });
  process.stdout.write(formatReport(report) + '\n');
  return report.failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(String((e as Error).stack) + '\n');
    process.exit(2);
  },
);

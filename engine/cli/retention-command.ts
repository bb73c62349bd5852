/**
 * `passerelle retention [--dry-run]` (engine/channels/retention.ts): one retention pass now with
 * the channel files' `retention` settings, or, with --dry-run, the report documents the rules
 * would archive and purge (SGL.DOC.20; the defaults of 5 and 20 years when no channel sets them).
 */
import { engineConfigFromEnv } from '../config/engine-config';
import { loadChannelDir } from '../config/load-channels';
import { storeSettings } from '../engine';
import { createStore } from '../store';
import { createLogger } from '../runtime/logger';
import { RetentionRunner, type DocumentsReport } from '../channels/retention';

const out = (s: string): void => void process.stdout.write(s + '\n');

export async function retentionCommand(opts: { dryRun?: boolean; channels?: string }): Promise<number> {
  const config = engineConfigFromEnv(process.env, opts.channels ? { channelsDir: opts.channels } : {});
  const channels = loadChannelDir(config.channelsDir).map((c) => c.config);
  const store = createStore(storeSettings(config));
  await store.init();
  try {
    const runner = new RetentionRunner({ store, channels, logger: createLogger({ level: 'warn' }), pauseMs: 0 });
    if (opts.dryRun) {
      printDocuments(await runner.documentsDryRun());
      return 0;
    }
    const r = await runner.runOnce();
    for (const m of r.messages) out(`${m.channel}\ttrimmed ${m.trimmed}\tdeleted ${m.deleted}`);
    if (r.documents) printDocuments(r.documents);
    else out('documents: no channel sets retention.documents (nothing archived or purged)');
    return 0;
  } finally {
    await store.close();
  }
}

function printDocuments(d: DocumentsReport): void {
  const verb = d.dryRun ? 'would be' : 'were';
  for (const [what, part] of [['archived', d.archive], ['purged', d.purge]] as const) {
    out(`reports that ${verb} ${what}: ${part.count}${part.count > part.reports.length ? ` (first ${part.reports.length} listed)` : ''}`);
    for (const r of part.reports) out(`  ${r.fillerOrder}\t${r.lab}\tlast activity ${r.lastActivity.toISOString().slice(0, 10)}\t${r.versions} version(s)`);
  }
  if (!d.dryRun) out(`folders archived ${d.foldersArchived}, deleted ${d.foldersDeleted}`);
}

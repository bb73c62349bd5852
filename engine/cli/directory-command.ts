/**
 * `passerelle directory load <file> [--kind persons|mssante] [--store url]`: loads one
 * extraction (.txt or .zip) into the store now, taking the loader lease like the engine does;
 * prints the lines read, refused (the first few with their line number) and the time.
 * `passerelle directory find <rpps>`: what the loaded directory says of a professional.
 * `passerelle directory loads`: the latest loads.
 */
import { randomUUID } from 'node:crypto';
import { engineConfigFromEnv } from '../config/engine-config';
import { storeSettings } from '../engine';
import { createStore, type DirectoryKind, type MessageStore } from '../store';
import { PasserelleError } from '../errors';
import { loadDirectoryFile } from '../directory/loader';
import { chosenMailbox, directoryNote } from '../directory/resolver';

const out = (s: string): void => void process.stdout.write(s + '\n');
const day = (d: Date): string => d.toISOString().slice(0, 10);

async function withStore<T>(storeUrl: string | undefined, fn: (s: MessageStore) => Promise<T>): Promise<T> {
  const store = createStore(storeSettings(engineConfigFromEnv(process.env, storeUrl ? { store: storeUrl } : {})));
  await store.init();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export async function directoryLoadCommand(file: string, opts: { kind?: string; store?: string }): Promise<number> {
  if (opts.kind !== undefined && opts.kind !== 'persons' && opts.kind !== 'mssante') {
    process.stderr.write(`--kind: persons or mssante, not ${opts.kind}\n`);
    return 2;
  }
  return withStore(opts.store, async (store) => {
    const holder = `cli:${process.pid}:${randomUUID().slice(0, 8)}`;
    if (!(await store.directoryLease(holder, 600_000))) {
      process.stderr.write('another process is loading the directory now: try again later\n');
      return 1;
    }
    let renewed = Date.now();
    try {
      const r = await loadDirectoryFile(store, file, {
        ...(opts.kind ? { kind: opts.kind as DirectoryKind } : {}),
        onBatch: async () => {
          if (Date.now() - renewed > 120_000) {
            renewed = Date.now();
            await store.directoryLease(holder, 600_000);
          }
        },
      });
      const l = r.load;
      out(`${r.name}: ${l.kind}, ${l.lines} lines, ${l.rejected} rejected, ${(r.ms / 1000).toFixed(1)} s${l.kind === 'persons' ? `, ${l.inactivated} no longer listed (inactive)` : ''}`);
      if (r.latin1Lines > 0) out(`${r.latin1Lines} lines read as latin-1 (windows-1252)`);
      for (const x of r.rejects) out(`  line ${x.line}: ${x.why}`);
      if (l.rejected > r.rejects.length) out(`  … ${l.rejected - r.rejects.length} more`);
      return 0;
    } catch (e) {
      if (!(e instanceof PasserelleError)) throw e;
      process.stderr.write(`${e.message}\nthe directory in place is unchanged\n`);
      return 1;
    } finally {
      await store.directoryReleaseLease(holder);
    }
  });
}

export async function directoryFindCommand(id: string, opts: { store?: string }): Promise<number> {
  return withStore(opts.store, async (store) => {
    const d = await store.directoryLookup(id);
    if (!d.persons && !d.mssante) {
      out('no directory loaded');
      return 1;
    }
    const e = d.entry;
    if (e) {
      out(`${e.idNat}\t${[e.civility, e.firstName, e.lastName].filter(Boolean).join(' ')}\t${e.professionLabel} (${e.professionCode})`);
      out(e.inactiveSince ? `inactive since ${day(e.inactiveSince)}` : 'active');
      for (const a of e.activities) {
        out(`  activity: ${[a.structureName, a.city, a.finess && `FINESS ${a.finess}`, a.siret && `SIRET ${a.siret}`, a.savoirFaireLabel].filter(Boolean).join(', ')}`);
      }
    } else if (d.persons) {
      out(directoryNote(d)!);
    }
    const chosen = chosenMailbox(d.mailboxes);
    for (const m of d.mailboxes) out(`  mssante: ${m.address} (${m.balType}${m.structureName ? `, ${m.structureName}` : ''})${m.address === chosen ? ' ← used' : ''}`);
    if (d.mssante && d.mailboxes.length === 0) out('  no MSSanté mailbox');
    if (!d.persons) out('(no persons extraction loaded)');
    if (!d.mssante) out('(no MSSanté extraction loaded)');
    return e || d.mailboxes.length > 0 ? 0 : 1;
  });
}

export async function directoryLoadsCommand(opts: { store?: string; limit?: string }): Promise<number> {
  return withStore(opts.store, async (store) => {
    for (const l of await store.directoryLoads(Number(opts.limit ?? 10))) {
      out(`${l.id}\t${l.kind}\t${l.state}\t${l.startedAt.toISOString()}\t${l.lines} lines, ${l.rejected} rejected, ${l.inactivated} inactivated\t${l.file}${l.error ? `\t${l.error}` : ''}`);
    }
    return 0;
  });
}

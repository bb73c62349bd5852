/**
 * Where a report version's documents are: `<directory>/<filler order>/v<n>/` of a reports
 * destination (engine/documents/report-publisher.ts). The console reads the directories from
 * the channel files the engine runs (their fingerprint tells when to read them again).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadChannelFile } from '../../config/load-channels';
import { safeName } from '../../documents/report-publisher';
import { readWrittenVersion, type WrittenVersion } from '../../delivery/version-folder';
import type { ConsoleContext } from '../context';
import { notFound } from './common';

interface ReportsDir {
  channel: string;
  directory: string;
  profiles: string[];
}

const cache = new Map<string, ReportsDir[]>();

/** The reports destinations of every channel the engine knows, with their document directories. */
export function reportsDirectories(ctx: ConsoleContext): ReportsDir[] {
  const out: ReportsDir[] = [];
  for (const ch of ctx.engine.channelStatuses()) {
    if (!ch.destinations.some((d) => d.type === 'reports')) continue;
    const key = `${ch.file}\0${ch.configVersion}`;
    let dirs = cache.get(key);
    if (!dirs) {
      try {
        const cfg = loadChannelFile(ch.file).config;
        dirs = cfg.destinations.flatMap((d) => (d.type === 'reports' ? [{ channel: cfg.name, directory: d.directory, profiles: [...d.profiles] }] : []));
      } catch {
        // The file changed since the engine loaded it and no longer validates: no documents to show from it.
        dirs = [];
      }
      cache.set(key, dirs);
    }
    out.push(...dirs);
  }
  return out;
}

/** The folder of a version (or of its deletion file), in the first reports directory that has it. */
export function versionFolder(ctx: ConsoleContext, fillerOrder: string, version: number): { dir: string; profiles: string[] } | undefined {
  for (const r of reportsDirectories(ctx)) {
    const dir = join(r.directory, safeName(fillerOrder), `v${version}`);
    if (existsSync(dir)) return { dir, profiles: r.profiles };
  }
  return undefined;
}

/** A written version's documents (profile `pro` first, else the destination's first profile). */
export function writtenVersion(ctx: ConsoleContext, fillerOrder: string, version: number): WrittenVersion {
  const folder = versionFolder(ctx, fillerOrder, version);
  if (!folder) throw notFound(`documents of ${fillerOrder} v${version}`);
  for (const profile of ['pro', ...folder.profiles]) {
    const v = readWrittenVersion(folder.dir, profile);
    if (v) return v;
  }
  throw notFound(`documents of ${fillerOrder} v${version}`);
}

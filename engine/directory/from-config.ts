/** The engine's directory runner, from its settings (engine/config/engine-config.ts); none without a source. */
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import type { EngineConfig } from '../config/engine-config';
import type { MessageStore } from '../store';
import type { Logger } from '../runtime/logger';
import { DirectoryRunner, type DirectorySource } from './runner';

export function directorySources(cfg: Pick<EngineConfig, 'directoryPersons' | 'directoryMssante'>): DirectorySource[] {
  const at = (s: string): string => (s.startsWith('https://') ? s : resolve(s));
  return [
    ...(cfg.directoryPersons ? [{ kind: 'persons' as const, source: at(cfg.directoryPersons) }] : []),
    ...(cfg.directoryMssante ? [{ kind: 'mssante' as const, source: at(cfg.directoryMssante) }] : []),
  ];
}

export function directoryRunnerFor(cfg: EngineConfig, store: MessageStore, logger: Logger): DirectoryRunner | undefined {
  const sources = directorySources(cfg);
  if (sources.length === 0 || cfg.directoryEveryMs === 0) return undefined;
  return new DirectoryRunner({
    store,
    sources,
    everyMs: cfg.directoryEveryMs,
    downloadDir: join(cfg.varDir, 'directory'),
    ...(cfg.directoryCaFile ? { ca: fs.readFileSync(cfg.directoryCaFile, 'utf8') } : {}),
    logger,
  });
}

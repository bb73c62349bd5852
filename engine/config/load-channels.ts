import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { channelSchema, type ChannelConfig } from './channel-schema';
import { ChannelConfigError, loadYamlFile, type ConfigProblem } from './yaml-file';

export { ChannelConfigError, type ConfigProblem } from './yaml-file';

/** A validated channel with where it came from. Frozen: config is validated once. */
export interface LoadedChannel {
  readonly file: string;
  readonly config: Readonly<ChannelConfig>;
  /** Text hash: lets a reload tell which channels changed. */
  readonly fingerprint: string;
  /** Line and column of a value in the file (for errors found after validation). */
  readonly locate: (path: (string | number)[]) => { line: number; column: number };
}

/** Parses and validates one channel file. `env` supplies `${env:NAME}` secrets. */
export function loadChannelFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedChannel {
  const loaded = loadYamlFile(file, channelSchema, env);
  return Object.freeze({ file, config: loaded.value, fingerprint: hash(loaded.text), locate: loaded.locate });
}

/** Loads every *.yaml / *.yml in a directory; all problems of all files are reported together. */
export function loadChannelDir(dir: string, env: NodeJS.ProcessEnv = process.env): LoadedChannel[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
  const loaded: LoadedChannel[] = [];
  const problems: ConfigProblem[] = [];
  for (const f of files) {
    try {
      loaded.push(loadChannelFile(f, env));
    } catch (e) {
      if (e instanceof ChannelConfigError) problems.push(...e.problems);
      else throw e;
    }
  }
  checkCrossChannel(loaded, problems);
  if (problems.length > 0) throw new ChannelConfigError(problems);
  return loaded;
}

function checkCrossChannel(loaded: LoadedChannel[], problems: ConfigProblem[]): void {
  const names = new Map<string, string>();
  const ports = new Map<number, string>();
  for (const ch of loaded) {
    const prev = names.get(ch.config.name);
    if (prev) problems.push({ file: ch.file, ...ch.locate(['name']), path: 'name', message: `channel name "${ch.config.name}" is also used by ${basename(prev)}` });
    names.set(ch.config.name, ch.file);
    if (ch.config.source.type === 'mllp' && ch.config.source.port !== 0 && ch.config.enabled) {
      const other = ports.get(ch.config.source.port);
      if (other) problems.push({ file: ch.file, ...ch.locate(['source', 'port']), path: 'source.port', message: `port ${ch.config.source.port} is also used by ${basename(other)}` });
      ports.set(ch.config.source.port, ch.file);
    }
    const dests = new Set<string>();
    ch.config.destinations.forEach((d, i) => {
      if (dests.has(d.name)) problems.push({ file: ch.file, ...ch.locate(['destinations', i, 'name']), path: `destinations.${i}.name`, message: `destination name "${d.name}" is used twice` });
      dests.add(d.name);
    });
  }
}

function hash(text: string): string {
  // FNV-1a: only to notice a changed file, not for security.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16) + ':' + text.length;
}

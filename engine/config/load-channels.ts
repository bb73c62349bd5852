import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument, isScalar, visit, type Document } from 'yaml';
import { channelSchema, type ChannelConfig } from './channel-schema';
import { PasserelleError } from '../errors';

/** A validated channel with where it came from. Frozen: config is validated once. */
export interface LoadedChannel {
  readonly file: string;
  readonly config: Readonly<ChannelConfig>;
  /** Text hash: lets a reload tell which channels changed. */
  readonly fingerprint: string;
  /** Line and column of a value in the file (for errors found after validation). */
  readonly locate: (path: (string | number)[]) => { line: number; column: number };
}

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path in the file, e.g. `destinations.0.port`. */
  path: string;
  message: string;
}

/** Thrown for an invalid channel file; its message names the file and line of every problem. */
export class ChannelConfigError extends PasserelleError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], code: 'PSL_CONFIG_INVALID' | 'PSL_CONFIG_SECRET_MISSING' = 'PSL_CONFIG_INVALID') {
    super(code, problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.path ? p.path + ': ' : ''}${p.message}`).join('\n'), {
      details: { problems },
    });
    this.problems = problems;
  }
}

const SECRET = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

function position(doc: Document, counter: LineCounter, path: (string | number)[]): { line: number; column: number } {
  // Walk up the path until a node exists (a missing key is reported on its parent).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const p = counter.linePos(node.range[0]);
      return { line: p.line, column: p.col };
    }
  }
  return { line: 1, column: 1 };
}

/** Parses and validates one channel file. `env` supplies `${env:NAME}` secrets. */
export function loadChannelFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedChannel {
  const text = readFileSync(file, 'utf8');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ChannelConfigError(
      doc.errors.map((e) => {
        const p = counter.linePos(e.pos[0]);
        return { file, line: p.line, column: p.col, path: '', message: e.message.split('\n')[0] ?? 'YAML syntax error' };
      }),
    );
  }

  // Secrets: substitute ${env:NAME} in scalar strings, remembering where each one sits.
  const missing: ConfigProblem[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${env:')) return;
      node.value = node.value.replace(SECRET, (_m, name: string) => {
        const v = env[name];
        if (v === undefined) {
          const p = counter.linePos(node.range?.[0] ?? 0);
          missing.push({ file, line: p.line, column: p.col, path: '', message: `environment variable ${name} is not set` });
          return '';
        }
        return v;
      });
    },
  });
  if (missing.length > 0) throw new ChannelConfigError(missing, 'PSL_CONFIG_SECRET_MISSING');

  const parsed = channelSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ChannelConfigError(
      parsed.error.issues.map((issue) => {
        const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
        // An unknown key is shown where it is written, not where its parent starts.
        const at = issue.code === 'unrecognized_keys' && issue.keys[0] ? [...path, issue.keys[0]] : path;
        return { file, ...position(doc, counter, at), path: path.join('.'), message: issue.message };
      }),
    );
  }
  return Object.freeze({ file, config: deepFreeze(parsed.data), fingerprint: hash(text), locate: (p: (string | number)[]) => position(doc, counter, p) });
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

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

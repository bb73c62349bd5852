import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isScalar, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { PasserelleError } from '../errors';

/**
 * Reading a YAML settings file against a zod schema, with every problem reported as
 * file:line:column. Channel files and lab profiles share it.
 */

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path in the file, e.g. `destinations.0.port`. */
  path: string;
  message: string;
}

/** Thrown for an invalid settings file; its message names the file and line of every problem. */
export class ChannelConfigError extends PasserelleError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], code: 'PSL_CONFIG_INVALID' | 'PSL_CONFIG_SECRET_MISSING' = 'PSL_CONFIG_INVALID') {
    super(code, problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.path ? p.path + ': ' : ''}${p.message}`).join('\n'), {
      details: { problems },
    });
    this.problems = problems;
  }
}

export interface LoadedYaml<T> {
  value: T;
  text: string;
  /** Line and column of a value in the file (for errors found after validation). */
  locate: (path: (string | number)[]) => { line: number; column: number };
}

/** `${env:NAME}` (required) or `${env:NAME:-default}` (the default, possibly empty, when NAME is unset). */
const SECRET = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

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

/** Parses `file`, substitutes `${env:NAME}` secrets, validates with `schema`. */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S, env: NodeJS.ProcessEnv = process.env): LoadedYaml<z.infer<S>> {
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

  const missing: ConfigProblem[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${env:')) return;
      node.value = node.value.replace(SECRET, (_m, name: string, fallback: string | undefined) => {
        const v = env[name] ?? fallback;
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

  const parsed = schema.safeParse(doc.toJS());
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
  return { value: deepFreeze(parsed.data as z.infer<S>), text, locate: (p) => position(doc, counter, p) };
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

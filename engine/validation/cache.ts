/**
 * On-disk cache of expanded rule sets (RuleSetModel JSON). Keyed by a hash of every source file
 * under the kit's schematrons/ and jeuxDeValeurs/ (plus the model format), so any edit of the kit
 * invalidates it. Lives outside the repository: $PASSERELLE_CACHE_DIR or ~/.cache/passerelle/schematron.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MODEL_FORMAT, type RuleSetModel } from './model';

const SOURCE_DIRS = ['schematrons', 'jeuxDeValeurs'];

export function defaultCacheDir(): string {
  return process.env.PASSERELLE_CACHE_DIR || path.join(os.homedir(), '.cache', 'passerelle', 'schematron');
}

/** sha256 over (format, relative path, content hash) of every source file, in sorted order. */
export function kitSourceHash(kitDir: string): string {
  const h = crypto.createHash('sha256');
  h.update(`format:${MODEL_FORMAT}\n`);
  const files: string[] = [];
  for (const d of SOURCE_DIRS) listFiles(path.join(kitDir, d), files);
  files.sort();
  for (const f of files) {
    const rel = path.relative(kitDir, f).split(path.sep).join('/');
    const content = crypto.createHash('sha1').update(fs.readFileSync(f)).digest('hex');
    h.update(`${rel}\0${content}\n`);
  }
  return h.digest('hex');
}

function listFiles(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
}

export class RuleSetCache {
  readonly dir: string;

  constructor(cacheRoot: string, sourceHash: string) {
    this.dir = path.join(cacheRoot, sourceHash.slice(0, 32));
  }

  private file(ruleSet: string): string {
    return path.join(this.dir, `${ruleSet}.json`);
  }

  read(ruleSet: string): RuleSetModel | null {
    try {
      const m = JSON.parse(fs.readFileSync(this.file(ruleSet), 'utf8')) as { format?: number; model?: RuleSetModel };
      return m.format === MODEL_FORMAT && m.model ? m.model : null;
    } catch {
      return null;
    }
  }

  /** Atomic write (temp file + rename); cache failures never fail validation. */
  write(model: RuleSetModel): boolean {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const tmp = `${this.file(model.name)}.${process.pid}.${Date.now()}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ format: MODEL_FORMAT, model }));
      fs.renameSync(tmp, this.file(model.name));
      return true;
    } catch {
      return false;
    }
  }
}

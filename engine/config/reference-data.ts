/**
 * Where the reference data that Passerelle does not ship comes from, for the quick start, the CLI
 * and the tests alike: the ANS CI-SIS kit (rules the documents are checked against) and the
 * third-party HL7 v2 sample corpus (tests and fuzzing).
 *
 * ANS kit: $PASSERELLE_ANS_KIT, else ../shared/ans beside the clone (our machines), else
 * var/ans-kit, else a pinned shallow git fetch of ANS's repository into var/ans-kit.
 * HL7 corpus: $PASSERELLE_HL7_SAMPLES, else ../shared/hl7/samples, else var/hl7-samples, else
 * assembled there from test/corpus/hl7-samples (the redistributable sources, vendored with their
 * licences) and a pinned fetch of ansforge/hl7V2-exemples (no licence: fetched, not vendored),
 * every file checked against the manifest's sha256.
 * When none can be had, one PasserelleError whose message is one line: what is missing, how to
 * provide it. Fetches are synchronous (git child processes): this runs once, before anything
 * starts; a fetch that failed is not tried again by the same process.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PasserelleError } from '../errors';

/** ANS's repository and the commit ../shared/ans was taken from (its SOURCES.md). */
export const ANS_KIT_REPO = 'https://github.com/ansforge/interop-outil-cda-testcontenucda3.0-outil-validation-documents-cda.git';
export const ANS_KIT_COMMIT = '61e148b6b83b532a3c743e7f6a5f988015eda007';
/**
 * Absent at that commit but read by StrucMin with doc() (document type codes): taken from the
 * later commit that added it, as ../shared/ans did; without it StrucMin flags every document.
 */
export const ANS_KIT_LATE_FILE = 'schematrons/profils/structurationMinimale/include/voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml';
export const ANS_KIT_LATE_COMMIT = '3471fafd09cd0d7010cb47d0d92cd7001c10b54b';

/** The only corpus source that states no licence, so it is fetched rather than vendored. */
export const HL7_FETCHED_REPO = 'ansforge/hl7V2-exemples';
export const HL7_FETCHED_URL = 'https://github.com/ansforge/hl7V2-exemples.git';
export const HL7_FETCHED_COMMIT = '60339877cf87ab36c2428dd84311ce7fcac4c33e';
/** Vendored part of the corpus, relative to the repository root. */
export const HL7_VENDORED_DIR = 'test/corpus/hl7-samples';

export interface ReferenceOptions {
  /** Repository root (../shared is looked for beside it, var/ under it). */
  root: string;
  env?: NodeJS.ProcessEnv;
  /** Fetch over git when nothing local is found (default true). */
  fetch?: boolean;
}

/** Fetches that failed in this process, by target and source: tried once, then the same message. */
const failedFetches = new Map<string, string>();

/** Runs fetch once per key and process; returns null on success, else the failure reason. */
function fetchOnce(key: string, fetch: () => void): string | null {
  const known = failedFetches.get(key);
  if (known !== undefined) return known;
  try {
    fetch();
    return null;
  } catch (e) {
    const reason = oneLine(e);
    failedFetches.set(key, reason);
    return reason;
  }
}

interface ManifestRow {
  file: string;
  repo: string;
  commit: string;
  path: string;
  sha256: string;
}

/** The repository root above dir (the nearest folder with a package.json): works from sources and from dist/. */
export function repoRootOf(dir: string): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && !d.endsWith(`${path.sep}dist`)) return d;
    if (path.dirname(d) === d) return path.resolve(dir);
  }
}

/** The ANS kit directory to use, fetched into var/ans-kit when needed. */
export function resolveAnsKit(opts: ReferenceOptions): string {
  const env = opts.env ?? process.env;
  const explicit = env.PASSERELLE_ANS_KIT;
  if (explicit) {
    const dir = path.resolve(opts.root, explicit);
    if (isKit(dir)) return dir;
    throw missing(`ANS kit: PASSERELLE_ANS_KIT=${explicit} is not an ANS kit (no schematrons/ and jeuxDeValeurs/ in ${dir}); point it at a checkout of ${ANS_KIT_REPO}`);
  }
  const shared = path.resolve(opts.root, '..', 'shared', 'ans');
  if (isKit(shared)) return shared;
  const target = path.join(opts.root, 'var', 'ans-kit');
  if (isKit(target)) return target;
  const repo = env.PASSERELLE_ANS_KIT_REPO || ANS_KIT_REPO;
  const commit = env.PASSERELLE_ANS_KIT_COMMIT || ANS_KIT_COMMIT;
  const lateCommit = env.PASSERELLE_ANS_KIT_LATE_COMMIT || ANS_KIT_LATE_COMMIT;
  let reason = 'fetching is off';
  if (fs.existsSync(target)) {
    reason = `${target} exists but is not a kit: remove it to fetch one`;
  } else if (opts.fetch !== false) {
    const failure = fetchOnce(`${target}\0${repo}\0${commit}\0${lateCommit}`, () =>
      publish(target, isKit, (tmp) => {
        shallowFetch(tmp, repo, [commit, lateCommit]);
        git(tmp, ['checkout', '--quiet', commit]);
        const late = path.join(tmp, ANS_KIT_LATE_FILE);
        if (!fs.existsSync(late)) {
          fs.mkdirSync(path.dirname(late), { recursive: true });
          fs.writeFileSync(late, git(tmp, ['show', `${lateCommit}:${ANS_KIT_LATE_FILE}`]));
        }
        if (!isKit(tmp)) throw new Error(`${repo}@${commit.slice(0, 12)} has no schematrons/ directory`);
      }),
    );
    if (failure === null) return target;
    reason = `fetching ${repo}@${commit.slice(0, 12)} failed: ${failure}`;
  }
  throw missing(
    `no ANS kit (not in PASSERELLE_ANS_KIT, ${shared} or ${target}; ${reason}): set PASSERELLE_ANS_KIT=<kit dir>, or run: git clone --depth 1 ${ANS_KIT_REPO} ${target}`,
  );
}

/** The HL7 sample corpus directory (its manifest.json lists every file), assembled when needed. */
export function resolveHl7Samples(opts: ReferenceOptions): string {
  const env = opts.env ?? process.env;
  const explicit = env.PASSERELLE_HL7_SAMPLES;
  if (explicit) {
    const dir = path.resolve(opts.root, explicit);
    if (isCorpus(dir)) return dir;
    throw missing(`HL7 sample corpus: PASSERELLE_HL7_SAMPLES=${explicit} has no manifest.json`);
  }
  const shared = path.resolve(opts.root, '..', 'shared', 'hl7', 'samples');
  if (isCorpus(shared)) return shared;
  const target = path.join(opts.root, 'var', 'hl7-samples');
  if (isCorpus(target)) return target;
  const vendored = path.join(opts.root, HL7_VENDORED_DIR);
  const repo = env.PASSERELLE_HL7_SAMPLES_REPO || HL7_FETCHED_URL;
  const commit = env.PASSERELLE_HL7_SAMPLES_COMMIT || HL7_FETCHED_COMMIT;
  let reason = 'fetching is off';
  if (fs.existsSync(target)) {
    reason = `${target} exists but has no manifest.json: remove it to assemble the corpus`;
  } else if (opts.fetch !== false && isCorpus(vendored)) {
    const failure = fetchOnce(`${target}\0${repo}\0${commit}`, () => publish(target, isCorpus, (tmp) => assembleCorpus(vendored, tmp, repo, commit)));
    if (failure === null) return target;
    reason = `fetching ${repo}@${commit.slice(0, 12)} failed: ${failure}`;
  } else if (!isCorpus(vendored)) {
    reason = `${vendored} is missing`;
  }
  throw missing(
    `no HL7 sample corpus (not in PASSERELLE_HL7_SAMPLES, ${shared} or ${target}; ${reason}): set PASSERELLE_HL7_SAMPLES=<dir with manifest.json>, or give git access to ${HL7_FETCHED_URL}`,
  );
}

/** Copies the vendored files, adds the fetched ones at their manifest paths, checks every sha256. */
function assembleCorpus(vendored: string, out: string, repo: string, commit: string): void {
  fs.cpSync(vendored, out, { recursive: true });
  const rows = JSON.parse(fs.readFileSync(path.join(vendored, 'manifest.json'), 'utf8')) as ManifestRow[];
  const fetched = rows.filter((r) => r.repo === HL7_FETCHED_REPO);
  if (fetched.length > 0) {
    const gitDir = path.join(out, '.fetch');
    shallowFetch(gitDir, repo, [commit]);
    for (const r of fetched) {
      const file = path.join(out, r.file);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, git(gitDir, ['show', `${commit}:${r.path}`]));
    }
    fs.rmSync(gitDir, { recursive: true, force: true });
  }
  for (const r of rows) {
    const file = path.join(out, r.file);
    const sum = fs.existsSync(file) ? crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') : 'absent';
    if (sum !== r.sha256) throw new Error(`${r.file}: sha256 ${sum.slice(0, 12)}, manifest says ${r.sha256.slice(0, 12)}`);
  }
}

/** Fetches only the named commits (depth 1) into a fresh repository at dir. */
function shallowFetch(dir: string, repo: string, commits: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, ['init', '--quiet']);
  git(dir, ['fetch', '--quiet', '--depth', '1', repo, ...new Set(commits)]);
}

function git(dir: string, args: string[]): Buffer {
  return execFileSync('git', ['-C', dir, '-c', 'advice.detachedHead=false', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Builds in a private temporary directory, then renames it into place (concurrent callers: first wins). */
function publish(target: string, valid: (dir: string) => boolean, build: (tmp: string) => void): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    build(tmp);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (valid(target)) return; // another process published it meanwhile
    if (fs.existsSync(target)) throw new Error(`${target} exists but is incomplete: remove it`);
    throw e;
  }
}

function isKit(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'schematrons')) && fs.existsSync(path.join(dir, 'jeuxDeValeurs'));
}

function isCorpus(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'manifest.json'));
}

function oneLine(e: unknown): string {
  const err = e as { stderr?: Buffer; message?: string };
  const text = (err.stderr && err.stderr.length > 0 ? err.stderr.toString() : err.message) ?? String(e);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // git's "fatal: unable to access '<url>': <cause>" names the URL a second time: keep the cause.
  return (lines[lines.length - 1] ?? 'unknown error').replace(/^fatal:\s*/, '').replace(/^unable to access '[^']*':\s*/, '');
}

function missing(message: string): PasserelleError {
  return new PasserelleError('PSL_REFERENCE_DATA_MISSING', message);
}

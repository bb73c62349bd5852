/**
 * Reference data for a clone anywhere (engine/config/reference-data.ts): the ANS kit and the HL7
 * corpus are taken from the environment, from ../shared beside the clone, from var/, or fetched at
 * a pinned commit; otherwise one line says what is missing and how to provide it. GitHub is out of
 * reach here, so local bare repositories (file://) stand in for ANS's, at commits of their own.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ANS_KIT_REPO, HL7_FETCHED_REPO, HL7_VENDORED_DIR, resolveAnsKit, resolveHl7Samples } from '../../engine/config/reference-data';
import { PasserelleError } from '../../engine/errors';
import { SAMPLES_DIR, loadManifest } from '../support/hl7-corpus';

const REPO_ROOT = path.resolve(__dirname, '../..');
const LATE_FILE = 'schematrons/profils/structurationMinimale/include/voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-refdata-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { encoding: 'utf8', stdio: 'pipe' }).trim();
}

/** Writes files (path → content) into a work tree and commits them; returns the commit id. */
function commit(work: string, files: Record<string, string | Buffer>, message: string): string {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
    fs.writeFileSync(path.join(work, rel), content);
  }
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', message);
  return git(work, 'rev-parse', 'HEAD');
}

function bare(work: string): string {
  const dir = `${work}.git`;
  execFileSync('git', ['clone', '--quiet', '--bare', work, dir]);
  return `file://${dir}`;
}

/** A clone of ours with no ../shared beside it (only what the code needs: the vendored corpus). */
function lonelyClone(): string {
  const root = path.join(tmp, 'elsewhere', 'clone');
  fs.mkdirSync(root, { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, HL7_VENDORED_DIR), path.join(root, HL7_VENDORED_DIR), { recursive: true });
  return root;
}

function missingMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PasserelleError);
    expect((e as PasserelleError).code).toBe('PSL_REFERENCE_DATA_MISSING');
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected PSL_REFERENCE_DATA_MISSING');
}

const KIT_FILES = { 'schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch': '<schema/>', 'jeuxDeValeurs/JDV_X.xml': '<ValueSet/>' };

describe('ANS kit', () => {
  test('PASSERELLE_ANS_KIT wins; one that is not a kit is named in the message', () => {
    const root = lonelyClone();
    const kit = path.join(tmp, 'my-kit');
    commitless(kit, KIT_FILES);
    expect(resolveAnsKit({ root, env: { PASSERELLE_ANS_KIT: kit } })).toBe(kit);
    const m = missingMessage(() => resolveAnsKit({ root, env: { PASSERELLE_ANS_KIT: path.join(tmp, 'nope') } }));
    expect(m).toContain(`PASSERELLE_ANS_KIT=${path.join(tmp, 'nope')} is not an ANS kit (no schematrons/ and jeuxDeValeurs/ in`);
  });

  test('../shared/ans beside the clone is used as it is (our machines)', () => {
    const root = lonelyClone();
    const shared = path.join(tmp, 'elsewhere', 'shared', 'ans');
    commitless(shared, KIT_FILES);
    expect(resolveAnsKit({ root, env: {} })).toBe(shared);
    expect(fs.existsSync(path.join(root, 'var'))).toBe(false);
  });

  test('else the pinned commit is fetched into var/ans-kit, with the file ANS added later', () => {
    const work = path.join(tmp, 'ans-upstream');
    fs.mkdirSync(work);
    git(work, 'init', '--quiet');
    const older = commit(work, { 'README.md': 'history' }, 'an older commit');
    const pinned = commit(work, { ...KIT_FILES, 'ExemplesCDA/BIO-CR-BIO_2024.01_TSH_1.xml': '<ClinicalDocument/>' }, 'the pinned kit');
    const late = commit(work, { [LATE_FILE]: '<valueSet name="471"/>', 'jeuxDeValeurs/JDV_X.xml': '<ValueSet changed="later"/>' }, 'a later commit');
    const url = bare(work);
    const root = lonelyClone();
    const env = { PASSERELLE_ANS_KIT_REPO: url, PASSERELLE_ANS_KIT_COMMIT: pinned, PASSERELLE_ANS_KIT_LATE_COMMIT: late };

    const kit = resolveAnsKit({ root, env });
    expect(kit).toBe(path.join(root, 'var', 'ans-kit'));
    expect(git(kit, 'rev-parse', 'HEAD')).toBe(pinned);
    expect(fs.readFileSync(path.join(kit, 'jeuxDeValeurs/JDV_X.xml'), 'utf8')).toBe('<ValueSet/>');
    expect(fs.readFileSync(path.join(kit, LATE_FILE), 'utf8')).toBe('<valueSet name="471"/>');
    expect(fs.readdirSync(path.join(root, 'var'))).toEqual(['ans-kit']); // no temporary left behind
    // Shallow: the commits asked for, not the history before them.
    expect(git(kit, 'rev-list', 'HEAD')).toBe(pinned);
    expect(() => git(kit, 'cat-file', '-e', older)).toThrow();

    // Found there next time, without the network.
    fs.rmSync(url.slice('file://'.length), { recursive: true });
    expect(resolveAnsKit({ root, env })).toBe(kit);
  });

  test('nothing available: one line saying what is missing and how to provide it', () => {
    const root = lonelyClone();
    const url = `file://${path.join(tmp, 'no-such-repo.git')}`;
    const m = missingMessage(() => resolveAnsKit({ root, env: { PASSERELLE_ANS_KIT_REPO: url } }));
    expect(m).toContain('no ANS kit');
    expect(m).toContain(`fetching ${url}@61e148b6b83b failed`);
    expect(m).toContain('set PASSERELLE_ANS_KIT=<kit dir>');
    expect(m).toContain(`git clone --depth 1 ${ANS_KIT_REPO} ${path.join(root, 'var', 'ans-kit')}`);
    expect(fs.readdirSync(path.join(root, 'var'))).toEqual([]);
    expect(missingMessage(() => resolveAnsKit({ root, env: {}, fetch: false }))).toContain('fetching is off');
    // A half-made var/ans-kit (an interrupted clone) is named, not fetched over.
    fs.mkdirSync(path.join(root, 'var', 'ans-kit', 'schematrons'), { recursive: true });
    expect(missingMessage(() => resolveAnsKit({ root, env: {} }))).toContain(`${path.join(root, 'var', 'ans-kit')} exists but is not a kit: remove it`);
  });

  test('`passerelle kit` prints the kit, or the one line and exit 1', () => {
    const root = lonelyClone();
    const cli = path.join(REPO_ROOT, 'dist/engine/cli/main.js');
    const run = (env: NodeJS.ProcessEnv) => {
      try {
        return { code: 0, out: execFileSync('node', [cli, 'kit', '--no-fetch'], { cwd: root, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', stdio: 'pipe' }), err: '' };
      } catch (e) {
        const x = e as { status: number; stdout: string; stderr: string };
        return { code: x.status, out: x.stdout, err: x.stderr };
      }
    };
    const none = run({});
    expect(none.code).toBe(1);
    expect(none.out).toBe('');
    expect(none.err.trim().split('\n')).toHaveLength(1);
    expect(none.err).toMatch(/^passerelle: no ANS kit .*set PASSERELLE_ANS_KIT=<kit dir>, or run: git clone --depth 1 /);
    const kit = path.join(tmp, 'k');
    commitless(kit, KIT_FILES);
    expect(run({ PASSERELLE_ANS_KIT: kit })).toEqual({ code: 0, out: `${kit}\n`, err: '' });
  });
});

describe('HL7 sample corpus', () => {
  const manifest = loadManifest() as unknown as Array<{ file: string; repo: string; path: string; sha256: string }>;
  const fetched = manifest.filter((e) => e.repo === HL7_FETCHED_REPO);

  /** A repository laid out like ansforge/hl7V2-exemples, holding the files at their original paths. */
  function ansExamplesRepo(alter?: string): { url: string; commit: string } {
    const work = path.join(tmp, 'hl7v2-exemples');
    fs.mkdirSync(work);
    git(work, 'init', '--quiet');
    const files: Record<string, Buffer> = {};
    for (const e of fetched) files[e.path] = e.file === alter ? Buffer.from('MSH|^~\\&|altered\r') : fs.readFileSync(path.join(SAMPLES_DIR, e.file));
    const c = commit(work, files, 'examples');
    return { url: bare(work), commit: c };
  }

  test('vendored: every source that allows it, with its licence; the unlicensed one is not', () => {
    const vendored = path.join(REPO_ROOT, HL7_VENDORED_DIR);
    expect(fetched.length).toBe(21);
    for (const e of manifest) expect(fs.existsSync(path.join(vendored, e.file))).toBe(e.repo !== HL7_FETCHED_REPO);
    const licences = fs.readdirSync(path.join(vendored, 'licences'));
    for (const repo of new Set(manifest.map((e) => e.repo).filter((r) => r !== HL7_FETCHED_REPO))) {
      expect(licences).toContain(`${repo.replace('/', '__')}.txt`);
    }
  });

  test('../shared/hl7/samples beside the clone is used as it is', () => {
    const root = lonelyClone();
    const shared = path.join(tmp, 'elsewhere', 'shared', 'hl7', 'samples');
    commitless(shared, { 'manifest.json': '[]' });
    expect(resolveHl7Samples({ root, env: {} })).toBe(shared);
  });

  test('else assembled in var/hl7-samples: vendored files plus the pinned fetch, every sha256 checked', () => {
    const { url, commit: c } = ansExamplesRepo();
    const root = lonelyClone();
    const dir = resolveHl7Samples({ root, env: { PASSERELLE_HL7_SAMPLES_REPO: url, PASSERELLE_HL7_SAMPLES_COMMIT: c } });
    expect(dir).toBe(path.join(root, 'var', 'hl7-samples'));
    for (const e of manifest) {
      expect(crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, e.file))).digest('hex')).toBe(e.sha256);
    }
    expect(fs.existsSync(path.join(dir, '.fetch'))).toBe(false);
    expect(fs.readdirSync(path.join(root, 'var'))).toEqual(['hl7-samples']);
  });

  test('a fetched file that differs from the manifest is refused, and nothing is left half-made', () => {
    const victim = fetched[0].file;
    const { url, commit: c } = ansExamplesRepo(victim);
    const root = lonelyClone();
    const m = missingMessage(() => resolveHl7Samples({ root, env: { PASSERELLE_HL7_SAMPLES_REPO: url, PASSERELLE_HL7_SAMPLES_COMMIT: c } }));
    expect(m).toContain(`${victim}: sha256`);
    expect(m).toContain('set PASSERELLE_HL7_SAMPLES=<dir with manifest.json>');
    expect(fs.readdirSync(path.join(root, 'var'))).toEqual([]);
  });

  test('nothing available: one line', () => {
    const root = lonelyClone();
    const url = `file://${path.join(tmp, 'no-such-repo.git')}`;
    const m = missingMessage(() => resolveHl7Samples({ root, env: { PASSERELLE_HL7_SAMPLES_REPO: url } }));
    expect(m).toContain(`no HL7 sample corpus`);
    expect(m).toContain(`fetching ${url}@60339877cf87 failed`);
  });
});

/** A plain directory with these files (no git). */
function commitless(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { readMessageFile } from './commands';
import { PasserelleError } from '../errors';
import { DocumentInvalidError, describeFinding, renderDocumentSet, type DocumentSet } from '../documents/document-set';
import { writeDocumentSet } from '../documents/document-writer';
import { loadLabProfile } from '../config/lab-profile';
import { resolveAnsKit } from '../config/reference-data';
import type { CrBioVersion, DocumentProfile } from '../lab/profile';
import { reportFromMessage } from '../lab';
import { AnsKit, compileKit, formatReport } from '../validation';

const out = (s: string): void => void process.stdout.write(s + '\n');
const err = (s: string): void => void process.stderr.write(s + '\n');

export interface KitChoice {
  kit?: string;
  cache?: string;
}

/** --kit, else PASSERELLE_ANS_KIT, else var/ans-kit; a missing directory is a clear error. */
export function openKit(choice: KitChoice): AnsKit {
  const dir = resolve(choice.kit ?? process.env.PASSERELLE_ANS_KIT ?? 'var/ans-kit');
  if (!existsSync(dir)) {
    throw new Error(`ANS kit not found at ${dir}: pass --kit <dir> or set PASSERELLE_ANS_KIT (README "ANS kit" says where to get it)`);
  }
  return AnsKit.open(dir, { cacheDir: choice.cache ?? process.env.PASSERELLE_CACHE_DIR });
}

/** `passerelle kit`: prints the ANS kit directory (fetched into var/ans-kit when none is found), or one line saying what is missing. */
export function kitCommand(opts: { fetch?: boolean }): number {
  try {
    out(resolveAnsKit({ root: process.cwd(), fetch: opts.fetch }));
    return 0;
  } catch (e) {
    if (!(e instanceof PasserelleError)) throw e;
    err(`passerelle: ${e.message}`);
    return 1;
  }
}

/** `passerelle validate <file.xml...> [--full]`: findings printed per file, exit 1 when any has an error. */
export async function validateCommand(files: string[], opts: KitChoice & { full?: boolean; json?: boolean }): Promise<number> {
  const kit = openKit(opts);
  let invalid = 0;
  const reports = [];
  for (const file of files) {
    const report = await kit.validate(readFileSync(file), { full: opts.full });
    if (!report.valid) invalid++;
    if (opts.json) reports.push({ file, ...report });
    else out(formatReport(report, file));
  }
  if (opts.json) out(JSON.stringify(reports, null, 2));
  else if (files.length > 1) out(`${files.length - invalid} of ${files.length} document(s) valid`);
  return invalid === 0 ? 0 : 1;
}

/** `passerelle schematron compile <kit>`: prepares every rule set into the cache. */
export async function schematronCompileCommand(kitDir: string, opts: { cache?: string; json?: boolean }): Promise<number> {
  const stats = await compileKit(resolve(kitDir), { cacheDir: opts.cache ?? process.env.PASSERELLE_CACHE_DIR });
  if (opts.json) {
    out(JSON.stringify(stats, null, 2));
    return 0;
  }
  out(`kit ${stats.kitDir}\ncache ${stats.cacheDir}`);
  out('rule set                 patterns  rules  asserts  prepared');
  for (const r of stats.ruleSets) {
    out(`${r.ruleSet.padEnd(24)} ${String(r.patterns).padStart(8)} ${String(r.rules).padStart(6)} ${String(r.asserts).padStart(8)}  ${r.fromCache ? 'from cache' : 'parsed'}, ${Math.round(r.ms + r.xpathMs)} ms`);
    for (const w of r.warnings) out(`  warning: ${w}`);
  }
  out(`total ${(stats.ms / 1000).toFixed(1)} s, ${stats.rssMb} MB resident`);
  return 0;
}

export interface RenderCommandOptions extends KitChoice {
  out: string;
  version: CrBioVersion;
  profile: DocumentProfile | 'both';
  lab?: string;
  /** Fixed document time (CDA TS), for reproducible output. */
  time?: string;
}

/**
 * `passerelle render <oru.hl7> --out DIR`: N3, N1, PDF, validation report and metadata. A set
 * that fails validation is still written (suffixed `.invalid`) so it can be inspected, and the
 * exit status is 1.
 */
export async function renderCommand(file: string, opts: RenderCommandOptions): Promise<number> {
  const msg = readMessageFile(file);
  if (!msg) return 1;
  const lab = loadLabProfile(resolve(opts.lab ?? 'channels/labs/laboratoire-demo.yaml'));
  const kit = openKit(opts);
  let report;
  try {
    report = reportFromMessage(msg);
  } catch (e) {
    if (e instanceof PasserelleError) {
      err(`${file}: ${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const base = basename(file).replace(/\.[^.]*$/, '');
  const profiles: DocumentProfile[] = opts.profile === 'both' ? ['pro', 'patient'] : [opts.profile];
  let status = 0;
  for (const profile of profiles) {
    const name = profiles.length > 1 ? `${base}.${profile}` : base;
    try {
      const set: DocumentSet = await renderDocumentSet(report, lab, { version: opts.version, profile, effectiveTime: opts.time }, { kit });
      const w = writeDocumentSet(opts.out, name, set);
      out(`${file}: ${profile} ${set.metadata.version}: N3 ${set.validation.n3.errors} error(s) ${set.validation.n3.warnings} warning(s); N1 ${set.validation.n1.errors} error(s)`);
      out(`  ${w.n3}\n  ${w.n1}\n  ${w.pdf}\n  ${w.validation}`);
    } catch (e) {
      if (!(e instanceof DocumentInvalidError)) throw e;
      status = 1;
      const w = writeDocumentSet(opts.out, `${name}.invalid`, e.partial);
      err(`${file}: ${profile}: ${e.which} INVALID, not for sending (${w.validation})`);
      for (const f of e.findings.filter((x) => x.severity === 'error')) err('  ' + describeFinding(f));
    }
  }
  return status;
}

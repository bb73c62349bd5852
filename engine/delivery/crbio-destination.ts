import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PasserelleError } from '../errors';
import { DocumentInvalidError, describeFinding, kitUnavailable, renderDocumentSet } from '../cda/document-set';
import type { RenderPool } from '../cda/render-pool';
import { reportFromMessage } from '../lab';
import type { CrBioVersion, DocumentProfile, LabProfile, RenderOptions } from '../lab/profile';
import type { AnsKit, ValidationPool } from '../validation';
import type { Logger } from '../ops/logger';
import type { Destination, OutboundMessage } from './destination';
import { writeDocumentSet } from './document-writer';

export interface CrBioDestinationOptions {
  name: string;
  /** Where document sets go: `<directory>/<MSH-10>/<profile>.*`; refused ones under `<directory>/quarantine/`. */
  directory: string;
  version: CrBioVersion;
  /** One set per profile (DOC.02: professional and/or patient version). */
  profiles: DocumentProfile[];
  lab: LabProfile;
  /** Shared by every channel of the engine; undefined when no kit is installed. */
  kit: AnsKit | undefined;
  /** Worker threads that render and validate (engine default); without it, this thread does. */
  renderPool?: Pick<RenderPool, 'render'>;
  /**
   * Runs the full profile set after the inline check, off the main thread (a ValidationPool);
   * its report is stored beside the set. Undefined: no full check.
   */
  fullValidator?: Pick<ValidationPool, 'validate'>;
  visibility?: RenderOptions['visibility'];
  /** What a report may hold before it is rendered (defaults: docs/channels.md); beyond: PSL_REPORT_TOO_LARGE. */
  limits?: ReportLimits;
  logger: Logger;
}

export interface ReportLimits {
  maxResults: number;
  maxComments: number;
  maxBytes: number;
}

export const DEFAULT_REPORT_LIMITS: Readonly<ReportLimits> = { maxResults: 2000, maxComments: 2000, maxBytes: 4 * 1024 * 1024 };

/**
 * Refuses, before any rendering, a message that would make a report beyond the limits: a PDF
 * of 1.8 M comment lines is no report anyone reads, and rendering it would hold a thread and
 * gigabytes. Counts segments only (no report is built).
 */
export function checkReportLimits(message: OutboundMessage['message'], limits: ReportLimits): void {
  let results = 0;
  let comments = 0;
  let bytes = 0;
  for (const seg of message.segments()) {
    if (seg.name === 'OBX') results++;
    else if (seg.name === 'NTE') comments++;
    bytes += seg.toString().length + 1;
    if (results > limits.maxResults || comments > limits.maxComments || bytes > limits.maxBytes) {
      const what = results > limits.maxResults ? `more than ${limits.maxResults} results (OBX)` : comments > limits.maxComments ? `more than ${limits.maxComments} comments (NTE)` : `more than ${limits.maxBytes} bytes`;
      throw new PasserelleError('PSL_REPORT_TOO_LARGE', `the report holds ${what}; not rendered (crbio limits)`, {
        details: { results, comments, bytes },
      });
    }
  }
}

/**
 * Turns each result message into its CR-BIO document set (N3, N1, PDF/A) and writes it once
 * the official rules passed. A document that fails them is written under quarantine/ with its
 * findings and the delivery fails permanently: the message is dead-lettered with the rule,
 * location and text, and nothing is sent (issue 3). Delivering twice rewrites the same files
 * with the same document ids (derived from the message); only the document time is the new
 * rendering's.
 */
export class CrBioDestination implements Destination {
  readonly name: string;
  private readonly background = new Set<Promise<void>>();
  private closing = false;

  constructor(private readonly o: CrBioDestinationOptions) {
    this.name = o.name;
  }

  async deliver(out: OutboundMessage): Promise<string> {
    checkReportLimits(out.message, this.o.limits ?? DEFAULT_REPORT_LIMITS);
    // Parsed here even with a pool: a message that is no report fails before any thread hop.
    const report = reportFromMessage(out.message);
    const folder = safeName(out.controlId || out.id);
    const written: string[] = [];
    for (const profile of this.o.profiles) {
      try {
        const options = { version: this.o.version, profile, visibility: this.o.visibility };
        if (!this.o.kit) throw kitUnavailable();
        const set = this.o.renderPool
          ? await this.o.renderPool.render(out.message, this.o.lab, options)
          : await renderDocumentSet(report, this.o.lab, options, { kit: this.o.kit });
        const w = writeDocumentSet(join(this.o.directory, folder), profile, set);
        written.push(`${folder}/${profile}`);
        if (this.o.fullValidator) this.track(this.fullCheck(this.o.fullValidator, set.n3, set.n1, w.dir, profile));
      } catch (e) {
        if (e instanceof DocumentInvalidError) {
          writeDocumentSet(join(this.o.directory, 'quarantine', folder), profile, e.partial);
          const first = e.findings.find((f) => f.severity === 'error');
          throw new PasserelleError('PSL_DOCUMENT_INVALID', `${profile} ${e.which} quarantined: ${first ? describeFinding(first) : e.message}`, { cause: e });
        }
        throw e;
      }
    }
    return `documents ${written.join(', ')}`;
  }

  /** The full profile set is slower (≈10× the inline check): its report is stored when done. */
  private async fullCheck(validator: Pick<ValidationPool, 'validate'>, n3: string, n1: string, dir: string, profile: string): Promise<void> {
    try {
      const [r3, r1] = await Promise.all([validator.validate(n3, { full: true }), validator.validate(n1, { full: true })]);
      writeFileSync(join(dir, `${profile}.validation-full.json`), JSON.stringify({ n3: r3, n1: r1 }, null, 2) + '\n');
      if (!r3.valid || !r1.valid) this.o.logger.warn('full ANS validation found errors', { destination: this.name, errors: r3.errors + r1.errors });
    } catch (e) {
      if (this.closing) return; // engine stopping: counted once in close()
      this.o.logger.warn('full ANS validation failed to run', { destination: this.name, error: (e as Error).message });
    }
  }

  private track(p: Promise<void>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Waits for the full validations still running (the caller bounds the wait: engine stop deadline). */
  async close(): Promise<void> {
    this.closing = true;
    const n = this.background.size;
    if (n > 0) this.o.logger.info('waiting for full ANS validations before stop; those unfinished at the deadline are abandoned', { destination: this.name, count: n });
    await Promise.all([...this.background]);
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'message';
}

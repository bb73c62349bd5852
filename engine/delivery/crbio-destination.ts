import { join } from 'node:path';
import { kitUnavailable, renderDocumentSet } from '../documents/document-set';
import type { RenderPool } from '../documents/render-pool';
import { reportFromMessage } from '../lab';
import type { CrBioVersion, DocumentProfile, LabProfile, RenderOptions } from '../lab/profile';
import type { AnsKit, ValidationPool } from '../validation';
import type { Logger } from '../runtime/logger';
import type { Destination, OutboundMessage } from './destination';
import { writeDocumentSet } from '../documents/document-writer';
import { checkReportLimits, DEFAULT_REPORT_LIMITS, type ReportLimits } from '../documents/limits';
import { FullChecks } from '../documents/full-checks';
import { quarantineOrRethrow } from '../documents/quarantine';

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
  renderPool?: Pick<RenderPool, 'renderReport'>;
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
  private readonly fullChecks: FullChecks | undefined;

  constructor(private readonly o: CrBioDestinationOptions) {
    this.name = o.name;
    this.fullChecks = o.fullValidator && new FullChecks(o.fullValidator, o.logger, o.name);
  }

  async deliver(out: OutboundMessage): Promise<string> {
    checkReportLimits(out.message, this.o.limits ?? DEFAULT_REPORT_LIMITS);
    // Parsed once, here: a message that is no report fails before any thread hop, and the
    // typed report is what travels to the render thread.
    const report = reportFromMessage(out.message);
    const folder = safeName(out.controlId || out.id);
    const written: string[] = [];
    for (const profile of this.o.profiles) {
      try {
        const options = { version: this.o.version, profile, visibility: this.o.visibility };
        if (!this.o.kit) throw kitUnavailable();
        const set = this.o.renderPool
          ? await this.o.renderPool.renderReport(report, this.o.lab, options)
          : await renderDocumentSet(report, this.o.lab, options, { kit: this.o.kit });
        const w = writeDocumentSet(join(this.o.directory, folder), profile, set);
        written.push(`${folder}/${profile}`);
        this.fullChecks?.start(set.n3, set.n1, w.dir, profile);
      } catch (e) {
        quarantineOrRethrow(e, join(this.o.directory, 'quarantine', folder), profile);
      }
    }
    return `documents ${written.join(', ')}`;
  }

  /** Waits for the full validations still running (the caller bounds the wait: engine stop deadline). */
  async close(): Promise<void> {
    await this.fullChecks?.close();
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'message';
}

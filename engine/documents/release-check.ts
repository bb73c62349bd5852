/**
 * Only a version that passed the **full** ANS set (every profile set, not only the inline XSD +
 * volet check done before writing) may leave for the DMP, MSSanté or a PFI (issue 9, item 1).
 * The verdict is kept beside the set (`<profile>.validation-full.json`): the first delivery of a
 * version runs the check, the others (and any retry) read it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeShared } from '../delivery/version-folder';
import { join } from 'node:path';
import type { ValidationPool, ValidationReport } from '../validation';
import { describeFinding } from './document-set';

export interface ReleaseVerdict {
  valid: boolean;
  /** The first error, for an operator, when not valid. */
  reason?: string;
}

type Reports = { n3: ValidationReport; n1: ValidationReport };

/** Checks running in this process, by verdict file: the DMP, MSSanté and PFI lines of one version wait for one check, not three. */
const running = new Map<string, Promise<Reports>>();

export async function fullCheck(dir: string, profile: string, validator: Pick<ValidationPool, 'validate'>): Promise<ReleaseVerdict> {
  const file = join(dir, `${profile}.validation-full.json`);
  let reports: Reports;
  if (existsSync(file)) {
    reports = JSON.parse(readFileSync(file, 'utf8')) as Reports;
  } else {
    let check = running.get(file);
    if (!check) {
      check = (async () => {
        const read = (kind: 'n3' | 'n1'): Buffer => readFileSync(join(dir, `${profile}.${kind}.xml`));
        const [n3, n1] = await Promise.all([validator.validate(read('n3'), { full: true }), validator.validate(read('n1'), { full: true })]);
        // Other processes may check the same version at once: the verdict is written as a shared cache.
        writeShared(file, JSON.stringify({ n3, n1 }, null, 2) + '\n');
        return { n3, n1 };
      })().finally(() => running.delete(file));
      running.set(file, check);
    }
    reports = await check;
  }
  if (reports.n3.valid && reports.n1.valid) return { valid: true };
  const which = reports.n3.valid ? 'N1' : 'N3';
  const first = (reports.n3.valid ? reports.n1 : reports.n3).findings.find((f) => f.severity === 'error');
  return { valid: false, reason: `${which} fails the full ANS set: ${first ? describeFinding(first) : 'see ' + file}` };
}

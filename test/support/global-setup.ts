/**
 * Runs once before the test workers: gets the ANS kit and the HL7 corpus (engine/config/
 * reference-data.ts) so that a clone without ../shared fetches them once, not once per worker.
 * Failing here stops nothing: each test file that needs what is missing fails with its one line.
 */
import * as path from 'node:path';
import { resolveAnsKit, resolveHl7Samples } from '../../engine/config/reference-data';

export default function globalSetup(): void {
  const root = path.resolve(__dirname, '../..');
  for (const resolve of [resolveAnsKit, resolveHl7Samples]) {
    try {
      resolve({ root });
    } catch {
      // reported by the test files that import test/support/ans-kit or test/support/hl7-corpus
    }
  }
}

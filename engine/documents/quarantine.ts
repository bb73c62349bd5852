import { PasserelleError } from '../errors';
import { DocumentInvalidError, describeFinding } from './document-set';
import { writeDocumentSet } from './document-writer';

/**
 * A document that failed the official rules is written to `dir` with its findings, and the
 * delivery fails for good (PSL_DOCUMENT_INVALID, naming the first rule): nothing is sent.
 * Any other error is rethrown as it is.
 */
export function quarantineOrRethrow(e: unknown, dir: string, profile: string): never {
  if (!(e instanceof DocumentInvalidError)) throw e;
  writeDocumentSet(dir, profile, e.partial);
  const first = e.findings.find((f) => f.severity === 'error');
  throw new PasserelleError('PSL_DOCUMENT_INVALID', `${profile} ${e.which} quarantined: ${first ? describeFinding(first) : e.message}`, { cause: e });
}

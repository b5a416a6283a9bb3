// A change held to the content its client named (an If-Match list, or the content a WebDAV request's conditions
// were judged on): checked when the request arrives and again in the change's transaction, under the row lock.
import { DomainError } from '../domain/errors.js';

export const CHANGED_SINCE_READ = 'The document has changed since you last read it.';
export const DESTINATION_CHANGED_SINCE_READ = 'The document at the destination has changed since you last read it.';

/**
 * The precondition of a change: the document's content is still one the client named (none named: anything goes).
 * 412 otherwise, with `message` (which document changed), and the caller writes nothing.
 */
export function requireContentMatches(ifMatch: readonly string[] | undefined, sha256: string, message = CHANGED_SINCE_READ): void {
  if (ifMatch !== undefined && !ifMatch.includes(sha256)) throw new DomainError('PRECONDITION_FAILED', message);
}

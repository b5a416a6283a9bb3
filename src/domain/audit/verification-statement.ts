// The signed statement that goes with a stored verification result of the whole audit log. Councils'
// integrity pages are served the last result from the database (recomputing reads every council's
// events), and whoever can write the database can write that row: unsigned, it could say "verified"
// of a log that is not. So the result is stored with a note signed by the log's key, over the digest
// of everything it claims (whether it verified, when, against how many events and checkpoints); a
// result whose note does not open with the log's key, or is over other claims, is no result. Pure.
import { createHash } from 'node:crypto';
import { DomainError } from '../errors.js';
import { canonicalJson } from './event.js';
import { openNote } from './signed-note.js';

/** The note text signed for a verification result: never reads as a checkpoint (its second line is not a size). */
export function verificationStatement(origin: string, result: Record<string, unknown>): string {
  const digest = createHash('sha256').update(canonicalJson(result), 'utf8').digest('hex');
  return `${origin}\naudit-verification-result\nsha256 ${digest}\n`;
}

/** Whether `signature` is the log's signed statement of exactly this result. */
export function isSignedVerification(result: Record<string, unknown>, signature: unknown, origin: string, verifierKey: string): boolean {
  if (typeof signature !== 'string') return false;
  try {
    return openNote(signature, verifierKey).text === verificationStatement(origin, result);
  } catch (err) {
    // Malformed, another key's, or a result canonical JSON cannot carry: not signed.
    if (err instanceof DomainError) return false;
    throw err;
  }
}

// Backup manifests and restore-drill reports are JSON documents carried in a C2SP signed note
// signed with the audit key: the first line names the kind, the second is the JSON on one line.
// Anyone with the audit public key can check them offline, and any edited byte fails.
import { IntegrityError } from '../errors.js';
import { openNote, signNote } from '../audit/signed-note.js';

export const MANIFEST_KIND = 'strongroom backup manifest v1';
export const DRILL_REPORT_KIND = 'strongroom restore drill report v1';

/** Signs a JSON value as a note of the given kind. JSON.stringify escapes every control character, so the note text stays well formed. */
export function signJson(kind: string, value: unknown, signerKey: string): string {
  return signNote(`${kind}\n${JSON.stringify(value)}\n`, signerKey);
}

/** Verifies the signature and the kind, and returns the JSON value; anything else is an IntegrityError. */
export function openJson<T>(kind: string, note: string, verifierKey: string): T {
  const { text } = openNote(note, verifierKey);
  const lines = text.split('\n');
  if (lines.length !== 3 || lines[0] !== kind || lines[2] !== '') throw new IntegrityError(`Not a ${kind}.`);
  try {
    return JSON.parse(lines[1]!) as T;
  } catch (cause) {
    throw new IntegrityError(`The ${kind} holds no readable JSON.`, { cause });
  }
}

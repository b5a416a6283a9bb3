// Rules for names of documents and collections: safe on every client (Windows Explorer, macOS,
// rclone) and never able to act as a path.
import { invalid } from './errors.js';

export const MAX_NAME_BYTES = 255;

// Windows refuses these in file names; refusing them here keeps mapped drives and rclone honest.
const FORBIDDEN = /[\u0000-\u001f\u007f/\\<>:"|?*]/;

export function validateName(raw: unknown, what: 'document' | 'collection' = 'document'): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid(`A ${what} name is required.`, { field: 'name' });
  const name = raw.normalize('NFC');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw invalid(`The ${what} name is too long: at most ${MAX_NAME_BYTES} bytes.`, { field: 'name' });
  }
  if (name === '.' || name === '..') throw invalid(`"${name}" is not a valid ${what} name.`, { field: 'name' });
  if (FORBIDDEN.test(name)) {
    throw invalid(`The ${what} name contains a character that is not allowed (control characters and / \\ < > : " | ? * are not).`, { field: 'name' });
  }
  if (name.trim() !== name || name.endsWith('.')) {
    throw invalid(`The ${what} name must not start or end with a space, or end with a full stop.`, { field: 'name' });
  }
  return name;
}

/** The extension of a name, lower case, without the dot ('' if none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

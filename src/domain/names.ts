// Rules for names of documents and collections: safe on every client (Windows Explorer, macOS,
// rclone) and never able to act as a path.
import { invalid } from './errors.js';

export const MAX_NAME_BYTES = 255;

// Windows refuses these in file names; refusing them here keeps mapped drives and rclone honest.
// C0 and C1 control characters (U+0085 NEXT LINE among them) break lines in logs, listings and CSV.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\<>:"|?*]/;

// Characters that change how a name looks without being seen: bidirectional overrides, embeddings
// and isolates (U+202E turns "invoice\u202Etxt.exe" into "invoiceexe.txt" on screen), marks,
// zero-width spaces and joiners, the word joiner and invisible operators, the byte-order mark,
// the soft hyphen, line and paragraph separators. Two names that look the same must be the same.
// A lone surrogate is not text at all: clients show it as a replacement character, or fail.
const DISGUISING = /[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// Device names Windows reserves whatever the extension ("nul.txt" is NUL too), ignoring case and
// spaces before the dot; a file called that cannot be opened or deleted from Explorer.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])$/i;

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
  if (DISGUISING.test(name)) {
    throw invalid(`The ${what} name contains an invisible or direction-changing character (such as a right-to-left override or a zero-width space), which could disguise what it is.`, { field: 'name' });
  }
  if (WINDOWS_RESERVED.test(name.split('.')[0]!.trimEnd())) {
    throw invalid(`"${name}" is reserved by Windows for a device (CON, PRN, AUX, NUL, COM1–COM9 and LPT1–LPT9 are, with any extension). Choose another ${what} name.`, { field: 'name' });
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

/**
 * The name as a folder compares it: names that differ only in capital letters are one name in a place, as
 * Windows Explorer, Finder and a mapped drive treat them (`Minutes.docx`, `minutes.docx` and `MINUTES.DOCX`
 * are one file to them). NFC, then Unicode upper then lower case, not any locale's: `Ärger.pdf` is
 * `ärger.pdf`, `STRASSE` is `straße` (a little wider than Windows, never narrower), a Greek final sigma is a
 * sigma. Computed here, never by SQL (SQLite's lower() knows ASCII only); the repositories store it beside
 * every name they write, and the claims and the live-name indexes compare it.
 */
export function nameKey(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}

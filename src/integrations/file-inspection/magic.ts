// Facts from the first bytes alone: the detected type (magic bytes), whether the file is a
// program or a script, and whether it reads as text.
import { fileTypeFromBuffer } from 'file-type';
import type { ActiveMarkupKind, ExecutableKind, ScriptKind } from '../../domain/file-policy/file-facts.js';

export interface DetectedType {
  ext: string;
  mime: string;
}

export async function detect(head: Buffer): Promise<DetectedType | undefined> {
  if (head.length === 0) return undefined;
  // UTF-16 text starts FF FE / FE FF, which file-type's MPEG frame-sync check takes for audio.
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return undefined;
  try {
    const found = await fileTypeFromBuffer(head);
    if (found) return { ext: found.ext, mime: found.mime };
  } catch {
    // A truncated head can trip a detector; fall through to our own checks.
  }
  // Readers accept "%PDF-" anywhere in the first kilobyte (after a mail or printer header);
  // file-type only looks at offset 0.
  if (head.subarray(0, 1024).includes('%PDF-')) return { ext: 'pdf', mime: 'application/pdf' };
  return undefined;
}

export function executableKind(head: Buffer, detected: { ext: string } | undefined, textLike: boolean): ExecutableKind | undefined {
  if (head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a) {
    // "MZ" alone could start a text file; a PE header at e_lfanew makes it a Windows program.
    if (head.length >= 0x40) {
      const lfanew = head.readUInt32LE(0x3c);
      if (lfanew + 4 <= head.length && head.readUInt32BE(lfanew) === 0x50450000) return 'pe';
    }
    if (!textLike) return 'pe'; // a DOS executable, or a PE header beyond the head
  }
  switch (detected?.ext) {
    case 'elf':
      return 'elf';
    case 'macho':
      return 'macho';
    case 'lnk':
      return 'shortcut';
    default:
      return undefined;
  }
}

export function scriptKind(head: Buffer, detected: { ext: string } | undefined): ScriptKind | undefined {
  const start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  if (head[start] === 0x23 && head[start + 1] === 0x21 && /^\s*\//.test(head.toString('latin1', start + 2, start + 8))) return 'shebang';
  if (detected?.ext === 'reg') return 'registry';
  if (detected?.ext === 'chm') return 'compiled-help';
  return undefined;
}

/** No NULs and hardly any control characters; UTF-16 text announces itself with a byte-order mark. */
export function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return true;
  let control = 0;
  for (const byte of head) {
    if (byte === 0) return false;
    // Tab, LF, FF, CR and ESC appear in real text; other C0 controls and DEL do not.
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d && byte !== 0x1b) || byte === 0x7f) control++;
  }
  return control <= head.length / 100;
}

/**
 * Whether text (or XML) in the head is markup a browser runs script in when it opens it: the SVG or
 * XHTML namespace anywhere (an XHTML <script> runs wherever it sits in an XML document), an <svg> or
 * <html> root, an HTML doctype, or an XSLT stylesheet embedded in the document itself. Only the head
 * is read: such documents announce themselves at the start.
 */
export function activeMarkupKind(head: Buffer): ActiveMarkupKind | undefined {
  const text = decodeText(head).toLowerCase();
  const root = rootElement(text);
  if (text.includes('http://www.w3.org/2000/svg') || root === 'svg') return 'svg';
  if (text.includes('http://www.w3.org/1999/xhtml') || root === 'html' || /<!doctype\s+html[\s>]/.test(text)) return 'web-page';
  // <?xml-stylesheet href="#id"?>: the document carries the XSLT that turns it into a page (Firefox applies it).
  // (Bounded: a head of unclosed "<?xml-stylesheet" openings must not cost a scan of the head each.)
  if (/<\?xml-stylesheet\b[^>]{0,500}?\bhref\s{0,20}=\s{0,20}["']\s{0,20}#/.test(text)) return 'embedded-stylesheet';
  return undefined;
}

function decodeText(head: Buffer): string {
  if (head[0] === 0xff && head[1] === 0xfe) return head.subarray(2).toString('utf16le');
  if (head[0] === 0xfe && head[1] === 0xff) {
    const swapped = Buffer.from(head.subarray(2, 2 + ((head.length - 2) & ~1)));
    return swapped.swap16().toString('utf16le');
  }
  return head.toString('utf8');
}

const NOT_SPACE = /\S/g;

/** The local name of the first element, after the prolog (XML declaration, comments, processing instructions, doctype). */
function rootElement(text: string): string | undefined {
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let steps = 0; steps < 1000; steps++) {
    NOT_SPACE.lastIndex = at;
    at = NOT_SPACE.exec(text)?.index ?? text.length;
    if (text.startsWith('<?', at)) {
      const end = text.indexOf('?>', at + 2);
      if (end < 0) return undefined;
      at = end + 2;
    } else if (text.startsWith('<!--', at)) {
      const end = text.indexOf('-->', at + 4);
      if (end < 0) return undefined;
      at = end + 3;
    } else if (text.startsWith('<!', at)) {
      // A doctype, perhaps with an internal subset in brackets.
      const close = text.indexOf('>', at);
      if (close < 0) return undefined;
      const bracket = text.slice(at, close).indexOf('[') + at;
      if (bracket >= at) {
        const subsetEnd = text.indexOf(']', bracket);
        const after = subsetEnd < 0 ? -1 : text.indexOf('>', subsetEnd);
        if (after < 0) return undefined;
        at = after + 1;
      } else {
        at = close + 1;
      }
    } else {
      const match = /^<(?:[a-z_][\w.-]*:)?([a-z_][\w.-]*)/.exec(text.slice(at, at + 200));
      return match?.[1];
    }
  }
  return undefined;
}

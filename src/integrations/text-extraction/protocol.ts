// The messages between the extractor and its parser process (child_process IPC, advanced
// serialisation so buffers cross without base64). One request per process; the process exits after.
// The file itself does not travel in the request: it is streamed to the parser on a pipe of its own
// (INPUT_FD), so the server never holds it whole.
import type { FormatKind } from './formats.js';
import type { ParserLimits } from './limits.js';

/** The parser process's file descriptor on which the file arrives, ending when the file has all come. */
export const INPUT_FD = 4;

export type ParserRequest =
  | { task: 'parse'; format: Exclude<FormatKind, 'image'>; name: string; limits: ParserLimits }
  /** `maxPages`: measure every page when there are at most this many (an image with more is not read at all). */
  | { task: 'image-info'; maxPages: number }
  | { task: 'thumbnail'; size: number; maxPixels: number }
  /** An organisation's logo: measured from its header, then decoded and re-encoded as `format` (no metadata). */
  | { task: 'logo'; format: 'png' | 'jpeg'; maxWidth: number; maxHeight: number };

export type ParserMessage =
  /** A section of text; `page` is 1-based for PDFs. */
  | { type: 'section'; page: number | null; text: string }
  /** A PDF page without a text layer, with its size in points so OCR can pick a resolution. */
  | { type: 'needs-ocr'; page: number; widthPt: number; heightPt: number }
  | { type: 'pages'; count: number }
  /** An e-mail's attachment, extracted by the parent in a process of its own. */
  | { type: 'attachment'; name: string; mediaType: string; input: Uint8Array }
  /** `pages`: how many the image holds (a TIFF may hold many); `width` and `height`: its largest page's, when measured. */
  | { type: 'image-info'; width: number; height: number; pages: number; format: string }
  | { type: 'thumbnail'; png: Uint8Array }
  /** `refused`: what the header said (another format, or over the size allowed); no pixel was decoded. */
  | { type: 'logo'; image: Uint8Array; width: number; height: number }
  | { type: 'logo-refused'; reason: 'format' | 'dimensions' }
  /** The parser stopped early on purpose (a cap); what it sent is good. */
  | { type: 'partial'; reason: string }
  | { type: 'error'; message: string }
  | { type: 'end' };

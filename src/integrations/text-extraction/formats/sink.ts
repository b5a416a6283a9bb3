// Where a parser puts what it reads: sections go to the parent as they are read (so a parser killed
// later still leaves what it had), long texts are cut into sections of a bounded size (one index row
// each), and the total is capped.
import type { ParserMessage } from '../protocol.js';

/** Thrown by a parser's sink when the text cap is reached; the parser stops and the result is partial. */
export class TextCapReached extends Error {}

/** Sections are kept under this many characters, at a paragraph or line break where there is one. */
const SECTION_CHARS = 32 * 1024;

export class Sink {
  private chars = 0;
  private attachmentBytes = 0;
  private attachmentsLeft = 0;

  constructor(
    private readonly send: (message: ParserMessage) => void,
    private readonly maxChars: number,
    private readonly maxAttachmentBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** Adds text; throws TextCapReached once the file's text passes the cap (the part that fits is kept). */
  text(page: number | null, text: string): void {
    const clean = text.replace(/\u0000/g, '').trim();
    if (!clean) return;
    const room = this.maxChars - this.chars;
    const kept = clean.length > room ? clean.slice(0, room) : clean;
    for (const piece of splitSections(kept)) this.send({ type: 'section', page, text: piece });
    this.chars += kept.length;
    if (kept.length < clean.length) throw new TextCapReached(`the text passed the cap of ${this.maxChars} characters`);
  }

  /** Hands an attachment back to be read, while the attachments handed back so far stay under their cap. */
  attachment(name: string, mediaType: string, content: Uint8Array): void {
    if (this.attachmentBytes + content.byteLength > this.maxAttachmentBytes) {
      this.attachmentsLeft += 1;
      return;
    }
    this.attachmentBytes += content.byteLength;
    this.send({ type: 'attachment', name, mediaType, input: content });
  }

  /** Why the result is partial for attachments left unread, or null. */
  attachmentsNotRead(): string | null {
    if (this.attachmentsLeft === 0) return null;
    const mib = this.maxAttachmentBytes / 1024 / 1024;
    const cap = mib >= 1 ? `${Math.round(mib)} MiB` : `${this.maxAttachmentBytes} bytes`;
    return `${this.attachmentsLeft} attachment${this.attachmentsLeft === 1 ? ' was' : 's were'} not read (the cap of ${cap} of attachments per message)`;
  }

  /** Other messages (pages, OCR requests) pass straight through. */
  other(message: ParserMessage): void {
    this.send(message);
  }
}

export function splitSections(text: string): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > SECTION_CHARS) {
    const window = rest.slice(0, SECTION_CHARS);
    let cut = Math.max(window.lastIndexOf('\n\n'), window.lastIndexOf('\n'));
    if (cut < SECTION_CHARS / 2) cut = window.lastIndexOf(' ');
    if (cut < SECTION_CHARS / 2) cut = SECTION_CHARS;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) out.push(rest);
  return out.filter((piece) => piece.length > 0);
}

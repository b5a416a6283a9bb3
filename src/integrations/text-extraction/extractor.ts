// The TextExtractor adapter: reads a version's text by format, OCRs the pages and images that have no
// text layer, and keeps every parser in a process of its own under time and memory limits. What a
// hostile or broken file does ends up as `failed` or `partial` with a reason, never as a rejection.
import type { ContentSource, TextExtractor } from '../../domain/ports.js';
import type { ExtractedText, TextSection } from '../../domain/search/types.js';
import { runParser, type ParserOutcome } from './contained.js';
import { formatOf, type FormatKind } from './formats.js';
import { splitSections } from './formats/sink.js';
import { DEFAULT_EXTRACTION_LIMITS, type ExtractionLimits } from './limits.js';
import { OcrError, ocrImage, ocrPdfPage } from './ocr.js';
import type { ParserMessage } from './protocol.js';
import { inMemory, InputTooLarge, readWhole, refuseOverCap, type ContentInput } from './content-input.js';
import { plainText } from '../../domain/search/plain-text.js';

/**
 * Plain text (and CSV, Markdown) up to this size is decoded here rather than in a parser process.
 * Decoding UTF-8 is not parsing: it is one linear pass of the runtime's own decoder, whose time and
 * memory the size bounds (a few milliseconds and two megabytes at this cap), and the text it yields
 * is cut, cleaned and capped section by section as every parser's output is (readTextHere; the worst
 * input measured, a megabyte of control characters, took 55 ms in all and held the event loop at most
 * 10 ms at a time). A parser process costs about 100 ms of CPU to start (measured here: 94 ms and
 * 108 CPU-ms per 4 KiB text file, 2.4 of them in the server), so a share of many small text files
 * would spend most of the machine on start-ups. Larger text still goes to the parser, so a huge file
 * never blocks the server's event loop.
 */
export const IN_PROCESS_TEXT_BYTES = 1024 * 1024;

export interface TextExtractorOptions extends Partial<ExtractionLimits> {
  /** The parser process's script (tests only: one that hangs or crashes on purpose). */
  parserScript?: string;
}

/** Rejects the way the port promises when the job's signal aborts (the job lost its lease). */
function abort(signal: AbortSignal): never {
  signal.throwIfAborted();
  throw new Error('aborted');
}

/** What one extraction has gathered so far; parts of it survive a parser that dies. */
class Gathered {
  readonly sections: TextSection[] = [];
  readonly problems: string[] = [];
  chars = 0;
  pages: number | undefined;
  ocrPages = 0;

  constructor(readonly limits: ExtractionLimits, readonly deadline: number) {}

  get roomForText(): number {
    return Math.max(0, this.limits.maxTextChars - this.chars);
  }

  /** Adds text (cut to the cap, which is then a problem); false once the cap is reached. */
  add(page: number | null, text: string): boolean {
    // Every format's text and OCR output passes here: no control characters are kept (plain-text.ts).
    const clean = plainText(text).trim();
    if (!clean) return this.roomForText > 0;
    const room = this.roomForText;
    const kept = clean.length > room ? clean.slice(0, room) : clean;
    for (const piece of splitSections(kept)) this.sections.push({ page, text: piece });
    this.chars += kept.length;
    if (kept.length < clean.length) {
      this.problem(`the text passed the cap of ${this.limits.maxTextChars} characters`);
      return false;
    }
    return true;
  }

  problem(reason: string): void {
    if (!this.problems.includes(reason)) this.problems.push(reason);
  }

  timeLeft(): number {
    return this.deadline - Date.now();
  }
}

export class ContainedTextExtractor implements TextExtractor {
  private readonly limits: ExtractionLimits;
  private readonly parserScript: string | undefined;

  constructor(options: TextExtractorOptions = {}) {
    const { parserScript, ...limits } = options;
    this.limits = { ...DEFAULT_EXTRACTION_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
    this.parserScript = parserScript;
  }

  async extract(source: ContentSource, options: { signal: AbortSignal; onProgress?: () => void }): Promise<ExtractedText> {
    const { signal } = options;
    const progress = options.onProgress ?? (() => {});
    const format = formatOf(source.mediaType, source.name);
    if (!format) return { status: 'failed', reason: `text is not read from ${source.mediaType} files`, sections: [] };
    try {
      refuseOverCap(source, this.limits.maxInputBytes);
    } catch (error) {
      if (error instanceof InputTooLarge) return { status: 'failed', reason: error.message, sections: [] };
      throw error;
    }
    const gathered = new Gathered(this.limits, Date.now() + this.limits.totalTimeoutMs);
    // The version is not read into memory: each program that reads it has it streamed from the store.
    await this.read(source, format, 0, gathered, signal, progress);
    signal.throwIfAborted();

    const result: ExtractedText = {
      status: gathered.problems.length === 0 ? 'done' : gathered.sections.length > 0 ? 'partial' : 'failed',
      reason: gathered.problems.length === 0 ? null : gathered.problems.join('; '),
      sections: gathered.sections,
    };
    if (gathered.pages !== undefined) {
      result.pages = gathered.pages;
      result.ocrPages = gathered.ocrPages;
    } else if (format === 'image') {
      result.pages = 1;
      result.ocrPages = gathered.ocrPages;
    }
    return result;
  }

  /** Reads one file (the version, or an attachment at `depth` > 0) into `gathered`. */
  private async read(input: ContentInput, format: FormatKind, depth: number, gathered: Gathered, signal: AbortSignal, progress: () => void): Promise<void> {
    if (gathered.timeLeft() <= 0) {
      gathered.problem(`extraction stopped after ${this.limits.totalTimeoutMs} ms`);
      return;
    }
    if (format === 'image') {
      await this.readImage(input, depth, gathered, signal);
      progress();
      return;
    }
    if (format === 'text' && input.size <= IN_PROCESS_TEXT_BYTES) {
      await this.readTextHere(await readWhole(input, signal), gathered, signal);
      progress();
      return;
    }

    // Pages keep their order even though text-layer pages arrive before the OCR'd ones.
    const pageTexts = new Map<number, string>();
    const needsOcr: { page: number; widthPt: number; heightPt: number }[] = [];
    const attachments: { name: string; mediaType: string; input: Uint8Array }[] = [];
    const parserPartial: string[] = [];
    const outcome = await this.parse(input, format, gathered, signal, (message) => {
      switch (message.type) {
        case 'section':
          if (format === 'pdf' && message.page !== null) pageTexts.set(message.page, `${pageTexts.get(message.page) ?? ''}${message.text}\n`);
          else gathered.add(depth === 0 ? message.page : null, message.text);
          progress();
          break;
        case 'needs-ocr':
          needsOcr.push(message);
          progress();
          break;
        case 'pages':
          if (depth === 0) gathered.pages = message.count;
          break;
        case 'attachment':
          attachments.push(message);
          break;
        case 'partial':
          parserPartial.push(message.reason);
          break;
        default:
          break;
      }
    });
    if (outcome.kind === 'aborted') abort(signal);
    if (outcome.kind !== 'ended') gathered.problem(depth === 0 ? outcome.reason : `an attachment could not be read: ${outcome.reason}`);
    for (const reason of parserPartial) gathered.problem(reason);

    if (format === 'pdf') {
      // OCR only pages the parser finished with (a killed parser's later pages were never seen).
      const ocrBudget = Math.max(0, this.limits.maxOcrPages - gathered.ocrPages);
      if (needsOcr.length > ocrBudget) gathered.problem(`${needsOcr.length - ocrBudget} scanned pages were not read (the OCR cap of ${this.limits.maxOcrPages} pages)`);
      for (const page of needsOcr.slice(0, ocrBudget)) {
        if (gathered.timeLeft() <= 0) {
          gathered.problem(`extraction stopped after ${this.limits.totalTimeoutMs} ms`);
          break;
        }
        const dpi = this.dpiFor(page.widthPt, page.heightPt);
        if (dpi < 50) {
          gathered.problem(`page ${page.page} is too large to OCR`);
          continue;
        }
        try {
          const text = await ocrPdfPage(input, page.page, dpi, this.programLimits(gathered, signal));
          gathered.ocrPages += 1;
          pageTexts.set(page.page, text);
        } catch (error) {
          if (!(error instanceof OcrError)) throw error; // the store could not give the file: the job tries again
          if (error.aborted) signal.throwIfAborted();
          gathered.problem(`page ${page.page}: ${error.message}`);
        }
        progress();
      }
      for (const page of [...pageTexts.keys()].sort((a, b) => a - b)) {
        if (!gathered.add(depth === 0 ? page : null, pageTexts.get(page)!)) break;
      }
    }

    for (const attachment of attachments) {
      const kind = formatOf(attachment.mediaType, attachment.name);
      if (!kind) continue; // an attachment of a type without text (a calendar invite, a zip) is not a failure
      if (depth + 1 > this.limits.maxAttachmentDepth) {
        gathered.problem(`attachments nested deeper than ${this.limits.maxAttachmentDepth} levels were not read`);
        continue;
      }
      if (attachment.input.byteLength > this.limits.maxInputBytes) {
        gathered.problem(`an attachment is over the cap of ${this.limits.maxInputBytes} bytes`);
        continue;
      }
      await this.read(inMemory(attachment.input), kind, depth + 1, gathered, signal, progress);
    }
  }

  /**
   * Plain text under IN_PROCESS_TEXT_BYTES, here: cut into sections as a parser's sink cuts them, each
   * cleaned and capped by Gathered.add as a parser's message is, giving the event loop back between
   * sections. Cleaning is linear but not free: a megabyte of carriage returns or control characters
   * costs 100-250 ms in one piece, a few milliseconds a section.
   */
  private async readTextHere(input: Buffer, gathered: Gathered, signal: AbortSignal): Promise<void> {
    for (const section of splitSections(new TextDecoder('utf-8').decode(input))) {
      if (!gathered.add(null, section)) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      signal.throwIfAborted();
    }
  }

  private async readImage(input: ContentInput, depth: number, gathered: Gathered, signal: AbortSignal): Promise<void> {
    // tesseract reads every page of a multi-page TIFF, so each page counts against the OCR cap and the largest is what
    // the pixel cap judges. Measured from the first page alone (attack review of 7 December 2026), a TIFF of a small
    // page then any number of others, of any size, was handed to tesseract whole as one page.
    const budget = this.limits.maxOcrPages - gathered.ocrPages;
    if (budget <= 0) {
      gathered.problem(`the image was not read (the OCR cap of ${this.limits.maxOcrPages} pages)`);
      return;
    }
    let info: { width: number; height: number; pages: number } | null = null;
    const outcome = await this.contained({ task: 'image-info', maxPages: budget }, input, gathered, signal, (message) => {
      if (message.type === 'image-info') info = message;
    });
    if (outcome.kind === 'aborted') abort(signal);
    const measured = info as { width: number; height: number; pages: number } | null;
    if (outcome.kind !== 'ended' || !measured) {
      gathered.problem(outcome.kind === 'ended' ? 'the image could not be measured' : `the image could not be read: ${outcome.reason}`);
      return;
    }
    if (measured.pages > budget) {
      gathered.problem(`the image's ${measured.pages} pages were not read (the OCR cap of ${this.limits.maxOcrPages} pages)`);
      return;
    }
    const pixels = measured.width * measured.height;
    if (pixels > this.limits.maxImagePixels) {
      gathered.problem(`the image is ${measured.width} × ${measured.height} pixels, over the OCR cap of ${this.limits.maxImagePixels} pixels`);
      return;
    }
    try {
      const text = await ocrImage(input, this.programLimits(gathered, signal));
      gathered.ocrPages += measured.pages;
      gathered.add(depth === 0 ? 1 : null, text);
    } catch (error) {
      if (!(error instanceof OcrError)) throw error;
      if (error.aborted) signal.throwIfAborted();
      gathered.problem(`the image could not be read: ${error.message}`);
    }
  }

  private parse(input: ContentInput, format: Exclude<FormatKind, 'image'>, gathered: Gathered, signal: AbortSignal, onMessage: (message: ParserMessage) => void): Promise<ParserOutcome> {
    const limits = {
      maxTextPages: this.limits.maxTextPages,
      maxTextChars: Math.max(1, gathered.roomForText),
      maxUnzippedBytes: this.limits.maxUnzippedBytes,
      maxAttachmentBytes: this.limits.maxAttachmentBytes,
      maxImagePixels: this.limits.maxImagePixels,
    };
    return this.contained({ task: 'parse', format, name: '', limits }, input, gathered, signal, onMessage);
  }

  private contained(request: Parameters<typeof runParser>[0], input: ContentInput, gathered: Gathered, signal: AbortSignal, onMessage: (message: ParserMessage) => void): Promise<ParserOutcome> {
    return runParser(request, {
      input,
      timeoutMs: Math.max(1, Math.min(this.limits.fileTimeoutMs, gathered.timeLeft())),
      memoryMb: this.limits.parserMemoryMb,
      dataMb: this.limits.parserDataMb,
      signal,
      onMessage,
      ...(this.parserScript ? { script: this.parserScript } : {}),
    });
  }

  private programLimits(gathered: Gathered, signal: AbortSignal) {
    return { timeoutMs: Math.max(1, Math.min(this.limits.pageTimeoutMs, gathered.timeLeft())), memoryMb: this.limits.programMemoryMb, signal };
  }

  /** The configured resolution, lowered for pages so large that rendering would pass the pixel cap. */
  private dpiFor(widthPt: number, heightPt: number): number {
    const inches2 = (widthPt / 72) * (heightPt / 72);
    if (!(inches2 > 0)) return this.limits.ocrDpi;
    return Math.min(this.limits.ocrDpi, Math.floor(Math.sqrt(this.limits.maxImagePixels / inches2)));
  }
}

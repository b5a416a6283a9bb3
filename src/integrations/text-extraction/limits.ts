// The caps and timeouts one extraction runs under, with their defaults. Every one is a constructor
// option of the extractor, so an operator (or a test) can tighten them without touching the parsers.

export interface ExtractionLimits {
  /** Largest input read at all (bytes); larger content ends `failed` without being parsed. */
  maxInputBytes: number;
  /** Pages of a PDF whose text layer is read; pages past it leave the result `partial`. */
  maxTextPages: number;
  /** Pages sent to OCR per file (scanned pages and images); more leave the result `partial`. */
  maxOcrPages: number;
  /** Characters of text kept per file; more leave the result `partial`. */
  maxTextChars: number;
  /** Total decompressed bytes a zip-based format (DOCX, XLSX, ODT) may expand to, declared or actual. */
  maxUnzippedBytes: number;
  /** Pixels of an image, or of a rendered page, OCR will take (width × height). */
  maxImagePixels: number;
  /** Heap of the parser process (MiB): a bomb that outgrows it kills the parser, not the server. */
  parserMemoryMb: number;
  /**
   * All the memory the parser process may write to (MiB, RLIMIT_DATA through prlimit): its heap and
   * everything outside it that the heap limit does not count (the file, held whole, and pdfjs's copy
   * of it; decoded PDF streams; inflated zip parts). A 3 MB PDF whose content stream inflates to
   * 3 GiB took a parser with a 512 MiB heap to 4.3 GiB. Leave room for the heap and the largest input
   * three times over.
   */
  parserDataMb: number;
  /** Address space of tesseract and pdftocairo (MiB), through prlimit. */
  programMemoryMb: number;
  /** Wall-clock time for parsing one file (its text layer, e-mail parts, office XML). */
  fileTimeoutMs: number;
  /** Wall-clock time for rendering and reading one page by OCR. */
  pageTimeoutMs: number;
  /** Wall-clock time for the whole extraction, OCR included; what is read by then is kept (`partial`). */
  totalTimeoutMs: number;
  /** How deep attachments of attachments are followed (an e-mail in an e-mail in an e-mail). */
  maxAttachmentDepth: number;
  /**
   * Bytes of attachments one e-mail hands back to be read (in all). They come back whole to the
   * server, which reads each in a process of its own, so this bounds what the server holds; later
   * attachments are not read and the result is `partial`.
   */
  maxAttachmentBytes: number;
  /** Resolution pages are rendered at for OCR (lowered for big pages to stay under maxImagePixels). */
  ocrDpi: number;
}

export const DEFAULT_EXTRACTION_LIMITS: Readonly<ExtractionLimits> = Object.freeze({
  maxInputBytes: 200 * 1024 * 1024,
  maxTextPages: 500,
  maxOcrPages: 50,
  maxTextChars: 5 * 1024 * 1024,
  maxUnzippedBytes: 256 * 1024 * 1024,
  maxImagePixels: 50_000_000,
  parserMemoryMb: 512,
  parserDataMb: 1536,
  programMemoryMb: 1024,
  fileTimeoutMs: 120_000,
  pageTimeoutMs: 60_000,
  totalTimeoutMs: 30 * 60_000,
  maxAttachmentDepth: 3,
  // Exchange's default limit on a whole message is 35 MB, base64 included: 32 MiB decoded covers it.
  maxAttachmentBytes: 32 * 1024 * 1024,
  ocrDpi: 200,
});

/** What the parser process is told (the limits it enforces itself). */
export interface ParserLimits {
  maxTextPages: number;
  maxTextChars: number;
  maxUnzippedBytes: number;
  maxImagePixels: number;
  maxAttachmentBytes: number;
}

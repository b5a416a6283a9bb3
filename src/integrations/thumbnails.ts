// The Thumbnailer adapter: a small PNG of a PDF's first page (pdftocairo, PDF on stdin, PNG on stdout)
// or of an image (sharp with a pixel limit, in a parser process of its own). Nothing touches the disk;
// any failure is null, since a missing thumbnail is no reason to fail anything else.
import type { ContentSource, Thumbnailer } from '../domain/ports.js';
import { runParser } from './text-extraction/contained.js';
import { formatOf } from './text-extraction/formats.js';
import { OcrError, renderFirstPage } from './text-extraction/ocr.js';

export interface ThumbnailerOptions {
  /** Longest side of the thumbnail in pixels. */
  size?: number;
  maxInputBytes?: number;
  /** Images with more pixels than this are not decoded. */
  maxImagePixels?: number;
  timeoutMs?: number;
  /** Heap of the image process, and address space of pdftocairo (MiB). */
  memoryMb?: number;
  /** All the memory the image process may write to (MiB): its heap, the image and libvips's pixels. */
  dataMb?: number;
}

export class ContainedThumbnailer implements Thumbnailer {
  private readonly size: number;
  private readonly maxInputBytes: number;
  private readonly maxImagePixels: number;
  private readonly timeoutMs: number;
  private readonly memoryMb: number;
  private readonly dataMb: number;

  constructor(options: ThumbnailerOptions = {}) {
    this.size = options.size ?? 240;
    this.maxInputBytes = options.maxInputBytes ?? 200 * 1024 * 1024;
    this.maxImagePixels = options.maxImagePixels ?? 50_000_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.memoryMb = options.memoryMb ?? 512;
    // The heap, the file (up to maxInputBytes, held whole) and the decoded pixels (maxImagePixels × 4 bytes, and a resized copy).
    this.dataMb = options.dataMb ?? 1536;
  }

  async render(source: ContentSource, options: { signal: AbortSignal }): Promise<Buffer | null> {
    const format = formatOf(source.mediaType, source.name);
    if (format !== 'pdf' && format !== 'image') return null;
    if (source.size > this.maxInputBytes) return null;
    // Streamed from the store into the program that draws it: the server never holds the file whole.
    if (format === 'pdf') {
      try {
        const png = await renderFirstPage(source, this.size, { timeoutMs: this.timeoutMs, memoryMb: this.memoryMb * 2, signal: options.signal });
        return png.length > 0 ? png : null;
      } catch (error) {
        if (!(error instanceof OcrError)) throw error; // the store could not give the file: the job tries again
        if (error.aborted) options.signal.throwIfAborted();
        return null;
      }
    }
    let png: Buffer | null = null;
    const outcome = await runParser(
      { task: 'thumbnail', size: this.size, maxPixels: this.maxImagePixels },
      {
        input: source,
        timeoutMs: this.timeoutMs,
        memoryMb: this.memoryMb,
        dataMb: this.dataMb,
        signal: options.signal,
        onMessage: (message) => {
          if (message.type === 'thumbnail') png = Buffer.from(message.png.buffer, message.png.byteOffset, message.png.byteLength);
        },
      },
    );
    if (outcome.kind === 'aborted') options.signal.throwIfAborted();
    return outcome.kind === 'ended' ? png : null;
  }
}

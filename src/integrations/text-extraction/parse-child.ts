// The parser process: reads one file the extractor streams to it (on INPUT_FD) and reports what it
// finds, then exits.
// It runs with a small heap and no secrets in its environment, and the extractor kills its whole
// process group on a timeout, so a hostile file can crash, hang or balloon only this process.
// Each format's parser is imported only when a file of that format comes: loading all of them
// (pdfjs, exceljs, mammoth, mailparser, sharp) would cost every file a second or more of start-up.
import { Sink, TextCapReached } from './formats/sink.js';
import { ZipLimitError } from './formats/zip-guard.js';
import { Socket } from 'node:net';
import { INPUT_FD, type ParserMessage, type ParserRequest } from './protocol.js';

async function loadSharp(): Promise<(typeof import('sharp'))['default']> {
  const sharp = (await import('sharp')).default;
  // libvips keeps a cache and worker threads per process; this process reads one image, so neither helps.
  sharp.cache(false);
  sharp.concurrency(1);
  return sharp;
}

function send(message: ParserMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('the parser must be started with an IPC channel'));
      return;
    }
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/** The whole file, as the extractor streams it: every parser here needs it whole (a PDF's cross-reference table is at its end). */
async function readInput(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of new Socket({ fd: INPUT_FD, readable: true, writable: false })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parse(request: Extract<ParserRequest, { task: 'parse' }>, input: Buffer): Promise<void> {
  const pending: Promise<void>[] = [];
  const sink = new Sink((message) => void pending.push(send(message)), request.limits.maxTextChars, request.limits.maxAttachmentBytes);
  let partial: string | null = null;
  try {
    switch (request.format) {
      case 'pdf':
        // pdfjs refuses a Buffer (it wants a plain Uint8Array it may transfer): give it a copy.
        partial = await (await import('./formats/pdf.js')).readPdf(new Uint8Array(input), sink, request.limits.maxTextPages);
        break;
      case 'docx':
        await (await import('./formats/office.js')).readDocx(input, sink, request.limits.maxUnzippedBytes);
        break;
      case 'xlsx':
        await (await import('./formats/office.js')).readXlsx(input, sink, request.limits.maxUnzippedBytes);
        break;
      case 'odt':
        await (await import('./formats/office.js')).readOdt(input, sink, request.limits.maxUnzippedBytes);
        break;
      case 'eml':
        await (await import('./formats/email.js')).readEml(input, sink);
        break;
      case 'msg':
        (await import('./formats/email.js')).readMsg(input, sink);
        break;
      case 'html':
        sink.text(null, (await import('./formats/markup.js')).markupText(new TextDecoder('utf-8').decode(input)));
        break;
      case 'text':
        sink.text(null, new TextDecoder('utf-8').decode(input));
        break;
    }
  } catch (error) {
    if (!(error instanceof TextCapReached)) throw error;
    partial = error.message;
  }
  await Promise.all(pending);
  if (partial) await send({ type: 'partial', reason: partial });
  const unread = sink.attachmentsNotRead();
  if (unread) await send({ type: 'partial', reason: unread });
}

async function imageInfo(input: Uint8Array, maxPages: number): Promise<void> {
  // Reads the headers only: a 30000 × 30000 TIFF is measured here without decoding a pixel. tesseract reads every
  // page of a TIFF, so every page is measured (its largest is what the pixel cap judges), not only the first.
  const sharp = await loadSharp();
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  const pages = Math.max(1, meta.pages ?? 1);
  let [width, height] = [meta.width ?? 0, meta.height ?? 0];
  for (let page = 1; page < pages && pages <= maxPages; page += 1) {
    const other = await sharp(input, { limitInputPixels: false, page }).metadata();
    if ((other.width ?? 0) * (other.height ?? 0) > width * height) [width, height] = [other.width ?? 0, other.height ?? 0];
  }
  await send({ type: 'image-info', width, height, pages, format: meta.format ?? 'unknown' });
}

async function thumbnail(input: Uint8Array, size: number, maxPixels: number): Promise<void> {
  const png = await (await loadSharp())(input, { limitInputPixels: maxPixels, pages: 1 })
    .rotate()
    .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
    .png()
    .toBuffer();
  await send({ type: 'thumbnail', png });
}

async function logo(request: Extract<ParserRequest, { task: 'logo' }>, input: Buffer): Promise<void> {
  const sharp = await loadSharp();
  // The header first: a small file may declare an enormous image, which is refused before decoding.
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  if (meta.format !== request.format) return send({ type: 'logo-refused', reason: 'format' });
  if (!meta.width || !meta.height || meta.width > request.maxWidth || meta.height > request.maxHeight) return send({ type: 'logo-refused', reason: 'dimensions' });
  // Decoded and drawn again: sharp writes no metadata unless asked, so EXIF, comments, colour
  // profiles and anything after the image's end are left behind. EXIF orientation is applied first.
  const pipeline = sharp(input, { limitInputPixels: request.maxWidth * request.maxHeight, pages: 1 }).rotate().toColourspace('srgb');
  const { data, info } = await (request.format === 'png' ? pipeline.png({ compressionLevel: 9 }) : pipeline.jpeg({ quality: 90 })).toBuffer({ resolveWithObject: true });
  return send({ type: 'logo', image: data, width: info.width, height: info.height });
}

async function handle(request: ParserRequest): Promise<void> {
  try {
    const input = await readInput();
    if (request.task === 'parse') await parse(request, input);
    else if (request.task === 'image-info') await imageInfo(input, request.maxPages);
    else if (request.task === 'logo') await logo(request, input);
    else await thumbnail(input, request.size, request.maxPixels);
    await send({ type: 'end' });
  } catch (error) {
    const message = error instanceof ZipLimitError ? error.message : `could not read the file: ${error instanceof Error ? error.message : String(error)}`;
    await send({ type: 'error', message: message.slice(0, 500) }).catch(() => {});
  }
  process.disconnect?.();
}

process.once('message', (request: ParserRequest) => void handle(request));

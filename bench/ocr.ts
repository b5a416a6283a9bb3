// OCR throughput (make bench-ocr): pages per minute through the text extractor (parser process,
// pdftocairo | tesseract per page) beside tesseract alone reading the same page image already
// rendered, so the extractor's overhead (rendering, process start-up, containment) is visible.
// Writes bench/results/ocr-<date>.json. Environment: BENCH_OCR_PAGES (default 10).
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import PDFDocument from 'pdfkit';
import { runProgram } from '../src/integrations/process.js';
import { ContainedTextExtractor } from '../src/integrations/text-extraction/extractor.js';
import { ocrImage } from '../src/integrations/text-extraction/ocr.js';
import { inMemory } from '../src/integrations/text-extraction/content-input.js';
import { sourceOf, textImage } from '../test/fixtures/search/documents.js';

const PAGES = Number(process.env.BENCH_OCR_PAGES ?? 10);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A PDF of `pages` scanned pages (images only, no text layer), each a paragraph of a letter. */
async function scannedPdf(pages: number): Promise<Buffer> {
  const lines = ['Dear Resident, your council tax account', 'shows a balance of two hundred pounds', 'please contact the revenues team today'];
  const images = await Promise.all(lines.map((line) => textImage(line, 'png', 1600, 220)));
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ autoFirstPage: false });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    for (let page = 0; page < pages; page += 1) {
      doc.addPage();
      images.forEach((image, i) => doc.image(image, 36, 72 + i * 90, { width: 540 }));
    }
    doc.end();
  });
}

async function main(): Promise<void> {
  const pdf = await scannedPdf(PAGES);
  const signal = new AbortController().signal;
  const load = loadavg()[0];

  const extractor = new ContainedTextExtractor();
  let started = Date.now();
  const result = await extractor.extract(sourceOf(pdf, 'application/pdf', 'scan.pdf'), { signal });
  const extractorSeconds = (Date.now() - started) / 1000;
  if (result.ocrPages !== PAGES) throw new Error(`expected ${PAGES} OCR pages, got ${result.ocrPages} (${result.status}: ${result.reason})`);

  // The same page as tesseract sees it inside the extractor: pdftocairo at 200 dpi (rendered once here).
  const rendered = await runProgram('pdftocairo', ['-png', '-r', '200', '-f', '1', '-l', '1', '-singlefile', '-', '-'], { input: pdf, timeoutMs: 60_000, maxOutputBytes: 64 * 1024 * 1024 });
  started = Date.now();
  for (let page = 0; page < PAGES; page += 1) await ocrImage(inMemory(rendered.stdout), { timeoutMs: 60_000, memoryMb: 1024, signal });
  const tesseractSeconds = (Date.now() - started) / 1000;

  const results = {
    date: new Date().toISOString(),
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadavg1AtStart: load, loadavg1AtEnd: loadavg()[0] },
    pages: PAGES,
    extractor: { seconds: extractorSeconds, pagesPerMinute: Math.round((PAGES / extractorSeconds) * 60 * 10) / 10 },
    tesseractAlone: { seconds: tesseractSeconds, pagesPerMinute: Math.round((PAGES / tesseractSeconds) * 60 * 10) / 10 },
    note: 'extractor = parser process (pdfjs text layer) + per page pdftocairo -r 200 | tesseract (OMP_THREAD_LIMIT=1); tesseract alone = the same rendered page image on stdin, one process per page',
  };
  await mkdir(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results', `ocr-${results.date.slice(0, 10)}.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`OCR, ${PAGES} scanned pages: extractor ${results.extractor.pagesPerMinute} pages/min, tesseract alone ${results.tesseractAlone.pagesPerMinute} pages/min (load ${load?.toFixed(1)})\nwritten to ${path.relative(root, out)}\n`);
}

await main();

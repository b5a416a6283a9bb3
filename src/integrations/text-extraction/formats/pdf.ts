// A PDF's text layer, page by page, with pdfjs-dist's legacy build (the one that runs on Node 20).
// Pages with no text layer are reported back for OCR with their size, so the parent can render them.
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { Sink } from './sink.js';

/** Fewer non-space characters than this and a page counts as scanned (a stray page number is not a text layer). */
const MIN_TEXT_CHARS = 3;

export async function readPdf(input: Uint8Array, sink: Sink, maxPages: number): Promise<string | null> {
  const document = await getDocument({
    data: input,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
    verbosity: 0,
  }).promise;
  try {
    const count = document.numPages;
    sink.other({ type: 'pages', count });
    const last = Math.min(count, maxPages);
    for (let number = 1; number <= last; number += 1) {
      const page = await document.getPage(number);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str;
        text += item.hasEOL ? '\n' : ' ';
      }
      if (text.replace(/\s+/g, '').length < MIN_TEXT_CHARS) {
        const [x0, y0, x1, y1] = page.view as [number, number, number, number];
        sink.other({ type: 'needs-ocr', page: number, widthPt: Math.abs(x1 - x0), heightPt: Math.abs(y1 - y0) });
      } else {
        sink.text(number, text);
      }
      page.cleanup();
    }
    return count > maxPages ? `only the first ${maxPages} of ${count} pages were read (the page cap)` : null;
  } finally {
    await document.destroy();
  }
}

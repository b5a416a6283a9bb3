// The text extractor and thumbnailer against real parsers, real tesseract and real poppler: a canary
// word is found in every format (with its page where there are pages), and hostile files end `failed`
// or `partial` with a reason, quickly, without the test process's memory growing.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ContentSource } from '../../domain/ports.js';
import type { ExtractedText } from '../../domain/search/types.js';
import * as fixtures from '../../../test/fixtures/search/documents.js';
import { ContainedThumbnailer } from '../thumbnails.js';
import { ContainedTextExtractor, IN_PROCESS_TEXT_BYTES } from './extractor.js';

const { CANARY, sourceOf } = fixtures;
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const here = path.dirname(fileURLToPath(import.meta.url));
const extractor = new ContainedTextExtractor({ maxUnzippedBytes: 32 * 1024 * 1024 });
const signal = () => new AbortController().signal;

async function extract(content: Buffer, mediaType: string, name: string, using = extractor): Promise<ExtractedText> {
  return using.extract(sourceOf(content, mediaType, name), { signal: signal() });
}

/** The sections that mention the canary, as [page, text]. */
const canaryHits = (result: ExtractedText): [number | null, string][] =>
  result.sections.filter((s) => s.text.includes(CANARY)).map((s) => [s.page, s.text]);

describe('text extraction: the canary in every format', { concurrent: true, timeout: 120_000 }, () => {
  it('a text PDF: page 2 of 3, no OCR', async () => {
    const result = await extract(await fixtures.textPdf(), 'application/pdf', 'minutes.pdf');
    expect(result).toMatchObject({ status: 'done', reason: null, pages: 3, ocrPages: 0 });
    expect(result.sections.map((s) => s.page)).toEqual([1, 2, 3]);
    expect(canaryHits(result)).toEqual([[2, `The contract with ${CANARY} Services was approved.`]]);
  });

  it('a scanned PDF: OCR reads only the page without a text layer', async () => {
    const progress: number[] = [];
    const result = await extractor.extract(sourceOf(await fixtures.scannedPdf(), 'application/pdf', 'scan.pdf'), { signal: signal(), onProgress: () => progress.push(Date.now()) });
    expect(result).toMatchObject({ status: 'done', reason: null, pages: 2, ocrPages: 1 });
    expect(result.sections[0]).toEqual({ page: 1, text: 'Covering note, typed.' });
    expect(canaryHits(result).map(([page]) => page)).toEqual([2]);
    expect(progress.length).toBeGreaterThanOrEqual(2); // a page from the text layer, a page from OCR
  });

  for (const format of ['png', 'jpeg', 'tiff'] as const) {
    it(`a ${format.toUpperCase()} image through tesseract`, async () => {
      const image = await fixtures.textImage(`Letter from ${CANARY}`, format);
      const result = await extract(image, `image/${format}`, `letter.${format}`);
      expect(result).toEqual({ status: 'done', reason: null, pages: 1, ocrPages: 1, sections: [{ page: 1, text: `Letter from ${CANARY}` }] });
    });
  }

  it('a DOCX', async () => {
    const result = await extract(await fixtures.docx(), DOCX, 'tenancy.docx');
    expect(result).toEqual({ status: 'done', reason: null, sections: [{ page: null, text: `Tenancy agreement\n\nSigned by ${CANARY} on behalf of the council.` }] });
  });

  it('an XLSX (exceljs), sheet name and cells', async () => {
    const result = await extract(await fixtures.xlsx(), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'suppliers.xlsx');
    expect(result).toEqual({ status: 'done', reason: null, sections: [{ page: null, text: `Suppliers\nSupplier\tAmount\n${CANARY} Ltd\t1250` }] });
  });

  it('an ODT, from content.xml', async () => {
    const result = await extract(await fixtures.odt(), 'application/vnd.oasis.opendocument.text', 'notice.odt');
    expect(result.sections).toEqual([{ page: null, text: `Planning notice\n\nObjection lodged by ${CANARY} & partners.` }]);
  });

  it('HTML without script or style text', async () => {
    const result = await extract(fixtures.html(), 'text/html', 'notice.html');
    expect(result.sections).toEqual([{ page: null, text: `Road closure\n\nContact ${CANARY}\u00a0Depot & Yard.` }]);
    expect(JSON.stringify(result)).not.toMatch(/Scriptcanary|Stylecanary/);
  });

  it('CSV and plain text as they are', async () => {
    const result = await extract(fixtures.csv(), 'text/csv', 'payments.csv');
    expect(result.sections).toEqual([{ page: null, text: `ref,payee,amount\n1001,"${CANARY}, J",350.00\n1002,Other,12.50` }]);
  });

  it('an EML: headers and body, then the DOCX attachment', async () => {
    const result = await extract(await fixtures.emlWithAttachment(), 'message/rfc822', 'papers.eml');
    expect(result.status).toBe('done');
    expect(result.sections[0]!.text).toContain('Subject: Tenancy papers');
    expect(result.sections[0]!.text).not.toContain(CANARY);
    expect(canaryHits(result)).toEqual([[null, `Tenancy agreement\n\nSigned by ${CANARY} on behalf of the council.`]]);
  });

  it('an e-mail whose attachments pass the cap on what it may hand back: the message is read, its attachments are not, and the result says so', async () => {
    const eml = await fixtures.emlWithAttachment();
    const cap = (await fixtures.docx()).length - 1; // the attachment is this DOCX
    const tight = new ContainedTextExtractor({ maxAttachmentBytes: cap });
    const result = await extract(eml, 'message/rfc822', 'papers.eml', tight);
    expect(result.status).toBe('partial');
    expect(result.reason).toBe(`1 attachment was not read (the cap of ${cap} bytes of attachments per message)`);
    expect(result.sections[0]!.text).toContain('Subject: Tenancy papers');
    expect(canaryHits(result)).toEqual([]);
  });

  it('an Outlook MSG and its attachment', async () => {
    const result = await extract(await fixtures.msgWithAttachment(), 'application/vnd.ms-outlook', 'appeal.msg');
    expect(result.status).toBe('done');
    expect(result.sections[0]!.text).toBe('Subject: Housing appeal\n\nNotes from the appeal hearing are attached.');
    expect(canaryHits(result)).toHaveLength(1);
  });

  it('a type without text is failed with a reason, not a rejection', async () => {
    const result = await extract(Buffer.from('PK\u0003\u0004'), 'application/zip', 'archive.zip');
    expect(result).toEqual({ status: 'failed', reason: 'text is not read from application/zip files', sections: [] });
  });
});

describe('text extraction: hostile files stay contained', { concurrent: true, timeout: 120_000 }, () => {
  it('a 2,000-page PDF ends partial, naming the page cap', async () => {
    const result = await extract(await fixtures.manyPagePdf(2000), 'application/pdf', 'register.pdf', new ContainedTextExtractor({ maxTextPages: 50 }));
    expect(result.status).toBe('partial');
    expect(result.reason).toBe('only the first 50 of 2000 pages were read (the page cap)');
    expect(result.pages).toBe(2000);
    expect(result.sections.map((s) => s.page)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(result.sections[49]!.text).toBe('Page 50 of the register');
  });

  it('a malformed PDF ends failed', async () => {
    const result = await extract(Buffer.from('%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\ngarbage'), 'application/pdf', 'broken.pdf');
    expect(result).toEqual({ status: 'failed', reason: 'could not read the file: Invalid PDF structure.', sections: [] });
  });

  it('a DOCX zip bomb that declares its size ends failed fast', async () => {
    const started = Date.now();
    const result = await extract(fixtures.docxBomb(64 * 1024 * 1024), DOCX, 'bomb.docx');
    expect(result).toEqual({ status: 'failed', reason: 'the archive declares more than 33554432 bytes uncompressed (zip bomb?)', sections: [] });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a DOCX zip bomb that lies about its size ends failed once it inflates past its word', async () => {
    const result = await extract(fixtures.docxBomb(64 * 1024 * 1024, true), DOCX, 'liar.docx');
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/^an entry's size does not match what the archive declares/);
  });

  it('a PDF whose content stream inflates far past the parser\'s memory ends failed, the parser held to its limit outside the heap too', async () => {
    // Half a MiB of PDF, 512 MiB of content once inflated: pdfjs keeps a decoded stream in one buffer that
    // doubles, outside the JavaScript heap, where --max-old-space-size does not reach. Without a limit on
    // all its memory, the parser grew to the whole stream and more (a 3 MB one of these: 4.3 GiB).
    const limited = new ContainedTextExtractor({ parserDataMb: 800 });
    const started = Date.now();
    const { result, peakMiB } = await peakParserMemory(extract(fixtures.pdfStreamBomb(512 * 1024 * 1024), 'application/pdf', 'bomb.pdf', limited));
    expect(result.status).toBe('failed');
    expect(result.reason).not.toMatch(/took longer/);
    expect(peakMiB).toBeLessThan(800);
    expect(Date.now() - started).toBeLessThan(90_000);
  });

  it('a TIFF declaring 30000 × 30000 pixels ends failed without being decoded', async () => {
    const before = process.memoryUsage().rss;
    const result = await extract(fixtures.hugeTiff(), 'image/tiff', 'huge.tif');
    expect(result).toEqual({ status: 'failed', reason: 'the image is 30000 × 30000 pixels, over the OCR cap of 50000000 pixels', sections: [], pages: 1, ocrPages: 0 });
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  // Found by the attack review of 7 December 2026 (search): tesseract reads every page of a TIFF, but only the first
  // was measured and counted, so a small first page let any number of pages of any size through as one OCR page.
  it('a TIFF whose second page declares 30000 × 30000 pixels ends failed without being decoded, whatever its first page', async () => {
    const first = await fixtures.textImage(`Letter from ${CANARY}`, 'tiff');
    expect(first.readUInt16LE(0)).toBe(0x4949); // little-endian, as the fixture's second directory is written
    const result = await extract(fixtures.tiffWithHugeSecondPage(first), 'image/tiff', 'letter.tif');
    expect(result).toEqual({ status: 'failed', reason: 'the image is 30000 × 30000 pixels, over the OCR cap of 50000000 pixels', sections: [], pages: 1, ocrPages: 0 });
  });

  it("each page of a multi-page TIFF counts against the OCR cap", async () => {
    const tiff = await fixtures.multiPageTiff([`Letter from ${CANARY}`, 'Second page', 'Third page']);
    const threePages = await extract(tiff, 'image/tiff', 'letters.tif', new ContainedTextExtractor({ maxOcrPages: 3 }));
    expect({ status: threePages.status, ocrPages: threePages.ocrPages }).toEqual({ status: 'done', ocrPages: 3 });
    expect(threePages.sections.map((s) => s.text).join('\n')).toContain('Third page');
    const twoPages = await extract(tiff, 'image/tiff', 'letters.tif', new ContainedTextExtractor({ maxOcrPages: 2 }));
    expect(twoPages).toEqual({ status: 'failed', reason: "the image's 3 pages were not read (the OCR cap of 2 pages)", sections: [], pages: 1, ocrPages: 0 });
  });

  it('a parser that hangs is killed at the timeout, its process group with it', async () => {
    const hanging = new ContainedTextExtractor({ fileTimeoutMs: 1500, parserScript: path.resolve(here, '../../../test/fixtures/search/hanging-parser.mjs') });
    const started = Date.now();
    const result = await extract(fixtures.html(), 'text/html', 'notice.html', hanging);
    expect(result).toEqual({ status: 'failed', reason: 'the parser took longer than 1500 ms and was stopped', sections: [] });
    expect(Date.now() - started).toBeLessThan(15_000);
    const sleepers = (): string[] => readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('577.25');
      } catch {
        return false;
      }
    });
    // SIGKILL is delivered at once but the grandchild exits when it is next scheduled, which on a loaded
    // machine can be after the extraction has answered: it must be gone within seconds, not for its 577 s.
    const deadline = Date.now() + 10_000;
    while (sleepers().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sleepers()).toEqual([]);
  });

  // Found by the attack review of 7 December 2026 (search): markup's text was tidied with /[ \t\f\v\r]+\n/g, which
  // backtracks over a run of spaces from every position in it, so its cost grew with the square of the run: a few
  // kilobytes of ODT (each <text:s/> a space, deflated to almost nothing) or an e-mail's HTML attachment kept its parser busy
  // to the timeout and ended failed, its words never indexed. The same run now costs its length.
  it("a long run of spaces in markup (ODT, an e-mail's HTML attachment) is read, not left to the parser timeout", async () => {
    const prompt = new ContainedTextExtractor({ fileTimeoutMs: 20_000 });
    const run = 400_000;
    const odt = await extract(await fixtures.odt(`Objection lodged by${'<text:s/>'.repeat(run)}${CANARY} &amp; partners.`), 'application/vnd.oasis.opendocument.text', 'notice.odt', prompt);
    expect({ status: odt.status, reason: odt.reason }).toEqual({ status: 'done', reason: null });
    // The run is cut into sections at its spaces (32 KiB each, trimmed): the words on either side are kept.
    expect(odt.sections.map((s) => s.text)).toEqual(['Planning notice\n\nObjection lodged by', `${CANARY} & partners.`]);
    // HTML is refused as an upload, but an e-mail's HTML attachment is read as HTML, in a parser of its own.
    const eml = Buffer.from(['From: Clerk <clerk@example.gov.uk>', 'Subject: Road closure', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b1"', '',
      '--b1', 'Content-Type: text/plain; charset=utf-8', '', 'Notice attached.',
      '--b1', 'Content-Type: text/html; charset=utf-8; name="notice.html"', 'Content-Disposition: attachment; filename="notice.html"', '',
      `<p>Contact${' '.repeat(run)}${CANARY} Depot.</p>`, '--b1--', ''].join('\r\n'));
    const mail = await extract(eml, 'message/rfc822', 'closure.eml', prompt);
    expect({ status: mail.status, reason: mail.reason }).toEqual({ status: 'done', reason: null });
    expect(canaryHits(mail).map(([, text]) => text)).toEqual([`${CANARY} Depot.`]);
  });

  it('a parser that runs out of heap ends failed, and the server process is untouched', async () => {
    const small = new ContainedTextExtractor({ parserMemoryMb: 16, maxUnzippedBytes: 512 * 1024 * 1024 });
    const paragraphs = Array.from({ length: 20_000 }, (_, i) => `Paragraph ${i} of a long report about ${CANARY} and the budget.`);
    const result = await extract(await fixtures.docx(paragraphs), DOCX, 'long.docx', small);
    expect(result).toEqual({ status: 'failed', reason: 'the parser ran out of memory (16 MiB)', sections: [] });
    // The same heap reads a small file: it was this file's size that killed the parser.
    expect((await extract(fixtures.html(), 'text/html', 'notice.html', small)).status).toBe('done');
  });

  it('small plain text is decoded without a parser process; larger text still goes to one', async () => {
    // This parser exits at once: a result that comes back `done` was read without starting it.
    const script = path.resolve(here, '../../../test/fixtures/search/exiting-parser.mjs');
    const noParser = new ContainedTextExtractor({ parserScript: script });
    const small = await extract(fixtures.csv(), 'text/csv', 'payments.csv', noParser);
    expect(small.sections).toEqual([{ page: null, text: `ref,payee,amount\n1001,"${CANARY}, J",350.00\n1002,Other,12.50` }]);
    const withControls = await extract(Buffer.from(`Ring ${CANARY}\u001b[2J\r\nnow\u0000`), 'text/plain', 'note.txt', noParser);
    expect(withControls.sections).toEqual([{ page: null, text: `Ring ${CANARY} [2J\nnow` }]);
    const large = Buffer.alloc(IN_PROCESS_TEXT_BYTES + 1, 'a ');
    expect(await extract(large, 'text/plain', 'large.txt', noParser)).toEqual({ status: 'failed', reason: 'the parser stopped unexpectedly (exit code 3)', sections: [] });
    // Still being sent when the parser died (the send fails with EPIPE too): the reason is the same.
    const huge = Buffer.alloc(64 * 1024 * 1024, 'a ');
    expect(await extract(huge, 'text/plain', 'huge.txt', noParser)).toEqual({ status: 'failed', reason: 'the parser stopped unexpectedly (exit code 3)', sections: [] });
    // At the cap it is still decoded here, and the text cap applies as it does to a parser's output.
    const capped = new ContainedTextExtractor({ maxTextChars: 1000, parserScript: script });
    const atCap = await extract(Buffer.alloc(IN_PROCESS_TEXT_BYTES, 'a '), 'text/plain', 'long.txt', capped);
    expect(atCap.status).toBe('partial');
    expect(atCap.reason).toBe('the text passed the cap of 1000 characters');
    expect(atCap.sections.map((s) => s.text.length)).toEqual([1000]);
  });

  it('an aborted extraction rejects with the abort reason', async () => {
    const controller = new AbortController();
    const pending = extractor.extract(sourceOf(await fixtures.scannedPdf(), 'application/pdf', 'scan.pdf'), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('lease lost')), 200);
    await expect(pending).rejects.toThrow('lease lost');
  });
});

/** A source of `size` bytes made a mebibyte at a time as it is read (fresh buffers: a reader may keep any). */
function generatedSource(size: number, mediaType: string, name: string, failAfter?: number): ContentSource {
  const chunk = 1024 * 1024;
  return {
    mediaType, name, size,
    open: async () => Readable.from((function* () {
      for (let sent = 0; sent < size; sent += chunk) {
        if (failAfter !== undefined && sent >= failAfter) throw new Error('the store went away');
        yield Buffer.alloc(Math.min(chunk, size - sent), 'stored ');
      }
    })()),
  };
}

/**
 * The highest resident memory of any parser process this test process started, sampled every 50 ms
 * while `work` runs (a parser is a child of ours: prlimit execs node in its own place).
 */
async function peakParserMemory<T>(work: Promise<T>): Promise<{ result: T; peakMiB: number }> {
  let peakKiB = 0;
  let done = false;
  const watching = (async () => {
    while (!done) {
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          const status = readFileSync(`/proc/${pid}/status`, 'utf8');
          if (!new RegExp(`^PPid:\\s+${process.pid}$`, 'm').test(status)) continue;
          if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('parse-child')) continue;
          peakKiB = Math.max(peakKiB, Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0));
        } catch {
          // gone meanwhile
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    return { result: await work, peakMiB: peakKiB / 1024 };
  } finally {
    done = true;
    await watching;
  }
}

/** Live ArrayBuffer memory (Buffers) at its highest while `work` runs, collecting garbage before each look. */
async function peakArrayBuffers<T>(work: Promise<T>): Promise<{ result: T; peakMiB: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  let done = false;
  const watching = (async () => {
    while (!done) {
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    return { result: await work, peakMiB: (peak - before) / 1024 ** 2 };
  } finally {
    done = true;
    await watching;
  }
}

describe('the file is streamed from the store to each program, never held whole', { timeout: 120_000 }, () => {
  it('hands a 128 MiB file to its parser holding a few MiB of it at a time', async () => {
    // A 128 MiB "e-mail": the parser takes it all, then refuses it at once, so the test measures the handing over.
    const size = 128 * 1024 * 1024;
    const { result, peakMiB } = await peakArrayBuffers(extractor.extract(generatedSource(size, 'application/vnd.ms-outlook', 'huge.msg'), { signal: signal() }));
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/^could not read the file/);
    expect(peakMiB).toBeLessThan(24);
  });

  it('a store that fails part-way fails the extraction (its job tries again), rather than calling the file unreadable', async () => {
    const failing = generatedSource(16 * 1024 * 1024, 'application/vnd.ms-outlook', 'broken.msg', 4 * 1024 * 1024);
    await expect(extractor.extract(failing, { signal: signal() })).rejects.toThrow('the store went away');
    const failingPdf = generatedSource(16 * 1024 * 1024, 'application/pdf', 'broken.pdf', 4 * 1024 * 1024);
    await expect(new ContainedThumbnailer().render(failingPdf, { signal: signal() })).rejects.toThrow('the store went away');
  });

  it('a store that gives more than the size on record fails the extraction', async () => {
    const longer = { ...generatedSource(8 * 1024 * 1024, 'application/vnd.ms-outlook', 'longer.msg'), size: 4 * 1024 * 1024 };
    await expect(extractor.extract(longer, { signal: signal() })).rejects.toThrow('the file is longer than the 4194304 bytes on record');
  });
});

describe('thumbnails', { concurrent: true, timeout: 120_000 }, () => {
  const thumbnailer = new ContainedThumbnailer();

  it('the first page of a PDF, at most 240 px', async () => {
    const png = await thumbnailer.render(sourceOf(await fixtures.textPdf(), 'application/pdf', 'minutes.pdf'), { signal: signal() });
    expect(png).not.toBeNull();
    const meta = await sharp(png!).metadata();
    expect(meta.format).toBe('png');
    expect(Math.max(meta.width!, meta.height!)).toBe(240);
  });

  it('an image, resized to 240 px', async () => {
    const png = await thumbnailer.render(sourceOf(await fixtures.textImage('Hello', 'jpeg'), 'image/jpeg', 'a.jpg'), { signal: signal() });
    const meta = await sharp(png!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 240, 51]);
  });

  it('null for other types, a malformed PDF and a huge TIFF', async () => {
    expect(await thumbnailer.render(sourceOf(fixtures.csv(), 'text/csv', 'a.csv'), { signal: signal() })).toBeNull();
    expect(await thumbnailer.render(sourceOf(Buffer.from('%PDF-1.7 garbage'), 'application/pdf', 'a.pdf'), { signal: signal() })).toBeNull();
    expect(await thumbnailer.render(sourceOf(fixtures.hugeTiff(), 'image/tiff', 'a.tif'), { signal: signal() })).toBeNull();
  });
});

// Segment planning and the segment loop, against a scanner that records what it was sent. The
// same against real clamd (EICAR across a boundary, tmpfs use): test/malware/segmented-scan.int.test.ts.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ByteRange, ScanVerdict, Scanner } from '../domain/ports.js';
import { judgedInSegments, scanInSegments, segmentRanges } from './segmented-scan.js';

class RecordingScanner implements Scanner {
  readonly maxStreamBytes = 100;
  readonly sent: Buffer[] = [];
  constructor(private readonly answer: (content: Buffer) => ScanVerdict) {}
  async scan(source: Readable | AsyncIterable<Uint8Array>): Promise<ScanVerdict> {
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(Buffer.from(chunk));
    const content = Buffer.concat(chunks);
    this.sent.push(content);
    return this.answer(content);
  }
  async version(): Promise<string> {
    return 'test';
  }
}

const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));

function opener(content: Buffer): { open: (range?: ByteRange) => Promise<Readable>; asked: Array<ByteRange | undefined>; streams: Readable[] } {
  const asked: Array<ByteRange | undefined> = [];
  const streams: Readable[] = [];
  return {
    asked,
    streams,
    open: async (range) => {
      asked.push(range);
      const stream = Readable.from([range ? content.subarray(range.start, range.end + 1) : content]);
      streams.push(stream);
      return stream;
    },
  };
}

describe('segmentRanges', () => {
  it('keeps a file up to the limit whole, and cuts a larger one into segments of at most the limit, each repeating the overlap', () => {
    expect(segmentRanges(100, { wholeMaxBytes: 100, overlapBytes: 10 })).toEqual([{ start: 0, end: 99 }]);
    expect(segmentRanges(0, { wholeMaxBytes: 100, overlapBytes: 10 })).toEqual([{ start: 0, end: -1 }]);
    expect(segmentRanges(101, { wholeMaxBytes: 100, overlapBytes: 10 })).toEqual([{ start: 0, end: 99 }, { start: 90, end: 100 }]);
    expect(segmentRanges(250, { wholeMaxBytes: 100, overlapBytes: 10 })).toEqual([
      { start: 0, end: 99 }, { start: 90, end: 189 }, { start: 180, end: 249 },
    ]);
    // A last segment that would only repeat the overlap is not sent: 190 bytes end inside the second.
    expect(segmentRanges(190, { wholeMaxBytes: 100, overlapBytes: 10 })).toEqual([{ start: 0, end: 99 }, { start: 90, end: 189 }]);
    expect(() => segmentRanges(300, { wholeMaxBytes: 100, overlapBytes: 100 })).toThrow('the segment overlap must be shorter than a segment');
  });

  it('covers every byte, and every run of up to `overlap` bytes lies whole inside one segment', () => {
    const plan = { wholeMaxBytes: 64, overlapBytes: 8 };
    for (const size of [65, 100, 127, 128, 129, 1000]) {
      const ranges = segmentRanges(size, plan);
      expect(ranges[0]!.start).toBe(0);
      expect(ranges.at(-1)!.end).toBe(size - 1);
      for (const r of ranges) expect(r.end - r.start + 1).toBeLessThanOrEqual(plan.wholeMaxBytes);
      for (let at = 0; at + plan.overlapBytes <= size; at++) {
        expect(ranges.some((r) => r.start <= at && at + plan.overlapBytes - 1 <= r.end), `size ${size}, run at ${at}`).toBe(true);
      }
    }
  });
});

describe('judgedInSegments', () => {
  it('lets only content ClamAV reads as plain bytes be judged in segments; structured formats are not', () => {
    for (const type of ['text/plain', 'text/csv', 'text/markdown', 'application/octet-stream', 'video/mp4', 'audio/mpeg']) expect(judgedInSegments(type), type).toBe(true);
    for (const type of [
      'application/zip', 'application/pdf', 'message/rfc822', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.oasis.opendocument.text', 'application/x-cfb', 'application/x-msdownload', 'application/x-7z-compressed',
      'application/gzip', 'image/tiff', 'text/html', 'application/xml',
    ]) expect(judgedInSegments(type), type).toBe(false);
  });
});

describe('scanInSegments', () => {
  const plan = { wholeMaxBytes: 100, overlapBytes: 10 };

  it('sends a file up to the limit whole (no range), as one stream', async () => {
    const scanner = new RecordingScanner(() => ({ outcome: 'clean', engine: 'e1' }));
    const content = bytes(100);
    const source = opener(content);
    expect(await scanInSegments(scanner, source.open, content.length, plan)).toEqual({ outcome: 'clean', engine: 'e1' });
    expect(source.asked).toEqual([undefined]);
    expect(scanner.sent).toEqual([content]);
  });

  it('sends a larger file segment by segment, none longer than the limit, and calls it clean only when every segment is', async () => {
    const scanner = new RecordingScanner(() => ({ outcome: 'clean', engine: 'e1' }));
    const content = bytes(250);
    const source = opener(content);
    expect(await scanInSegments(scanner, source.open, content.length, plan)).toEqual({ outcome: 'clean', engine: 'e1' });
    expect(scanner.sent.map((s) => s.length)).toEqual([100, 100, 70]);
    expect(Buffer.concat([scanner.sent[0]!, scanner.sent[1]!.subarray(10), scanner.sent[2]!.subarray(10)])).toEqual(content);
    expect(source.streams.every((s) => s.destroyed)).toBe(true);
  });

  it('names the signatures that judged the first segment when clamd reloads a newer set between segments', async () => {
    // Each scan names the set clamd had before it; a file judged partly by the older set was not judged by the newer.
    const engines = ['ClamAV 1.4.6/27472/x', 'ClamAV 1.4.6/27473/x', 'ClamAV 1.4.6/27473/x'];
    let scans = 0;
    const scanner = new RecordingScanner((): ScanVerdict => ({ outcome: 'clean', engine: engines[scans++]! }));
    const content = bytes(250);
    expect(await scanInSegments(scanner, opener(content).open, content.length, plan)).toEqual({ outcome: 'clean', engine: 'ClamAV 1.4.6/27472/x' });
    expect(scanner.sent).toHaveLength(3);
  });

  it('stops at the first detection, and sends nothing after it', async () => {
    const scanner = new RecordingScanner((c) => (c.includes(Buffer.from([95])) ? { outcome: 'infected', signature: 'Test.Sig', engine: 'e1' } : { outcome: 'clean', engine: 'e1' }));
    const content = Buffer.alloc(400);
    content[150] = 95;
    expect(await scanInSegments(scanner, opener(content).open, content.length, plan)).toEqual({ outcome: 'infected', signature: 'Test.Sig', engine: 'e1' });
    expect(scanner.sent).toHaveLength(2);
  });

  it('fails closed on a segment without a verdict, naming the segment and keeping "beyond limits"', async () => {
    let call = 0;
    const scanner = new RecordingScanner(() => (++call === 2 ? { outcome: 'unavailable', reason: 'exceeds scanner limits', beyondLimits: true } : { outcome: 'clean', engine: 'e1' }));
    expect(await scanInSegments(scanner, opener(bytes(250)).open, 250, plan)).toEqual({
      outcome: 'unavailable', reason: 'segment 2 of 3 (bytes 90–189): exceeds scanner limits', beyondLimits: true,
    });
    expect(scanner.sent).toHaveLength(2);
    // A file scanned whole keeps clamd's reason as it is.
    const whole = new RecordingScanner(() => ({ outcome: 'unavailable', reason: 'clamd unreachable: ENOENT' }));
    expect(await scanInSegments(whole, opener(bytes(100)).open, 100, plan)).toEqual({ outcome: 'unavailable', reason: 'clamd unreachable: ENOENT' });
  });
});

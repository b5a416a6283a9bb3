// Scanning a stored version in bounded memory. clamd spools every INSTREAM whole into its
// temporary directory (tmpfs, so RAM) before it scans it: a stream of N bytes holds N bytes of RAM.
// A version up to `wholeMaxBytes` is streamed whole, as before; a larger one in overlapping
// segments of at most `wholeMaxBytes`, one after another, so no scan ever spools more. What
// segments cannot judge, and the policy for it (held for review), is in docs/malware.md.
import type { Readable } from 'node:stream';
import type { ByteRange, ScanOwner, ScanVerdict, Scanner } from '../domain/ports.js';

export interface SegmentPlan {
  /** Longest stream sent to clamd: versions up to this are scanned whole, larger ones in segments this long. */
  wholeMaxBytes: number;
  /**
   * Bytes each segment repeats from the end of the one before, so a body signature up to this
   * long that crosses a boundary is still seen whole by one of the two scans.
   */
  overlapBytes: number;
}

/** The ranges (inclusive ends) a version of `size` bytes is scanned in; one range covering it all when it fits. */
export function segmentRanges(size: number, plan: SegmentPlan): ByteRange[] {
  if (size <= plan.wholeMaxBytes) return [{ start: 0, end: size - 1 }];
  const step = plan.wholeMaxBytes - plan.overlapBytes;
  if (step <= 0) throw new RangeError('the segment overlap must be shorter than a segment');
  const ranges: ByteRange[] = [];
  for (let start = 0; ; start += step) {
    const end = Math.min(size, start + plan.wholeMaxBytes) - 1;
    ranges.push({ start, end });
    if (end === size - 1) return ranges;
  }
}

/**
 * Content whose meaning ClamAV reads as a stream of bytes (text, audio, video, and data no sniffer
 * recognises, which ClamAV also scans as raw bytes): its signatures match in segments as they would
 * in the whole file, short of the limits docs/malware.md lists. Everything else — archives,
 * Office and OpenDocument files, PDF, e-mail, executables, images, markup — is a structure ClamAV
 * parses from its start (a zip's directory sits at its end, a PDF's objects point across the file),
 * and a segment cut from the middle of it is not that structure: such a file above the whole-scan
 * limit is held for a security admin's review instead of being released on the segments' word.
 */
const RAW_DATA_TYPES = new Set(['text/plain', 'text/csv', 'text/markdown', 'application/octet-stream']);

export function judgedInSegments(mediaType: string): boolean {
  return RAW_DATA_TYPES.has(mediaType) || mediaType.startsWith('video/') || mediaType.startsWith('audio/');
}

/**
 * Scans `size` bytes opened range by range, segment after segment (never two at once, so one scan
 * holds at most one segment on clamd's tmpfs). The first detection ends it; so does the first
 * segment without a verdict (fail closed: the file is not clean on part of the evidence).
 */
export async function scanInSegments(
  scanner: Scanner,
  /** Opens the plaintext of a range, or of the whole version when no range is given. */
  open: (range?: ByteRange) => Promise<Readable>,
  size: number,
  plan: SegmentPlan,
  options: { owner?: ScanOwner; signal?: AbortSignal } = {},
): Promise<ScanVerdict> {
  const ranges = segmentRanges(size, plan);
  // The first segment's: each scan names the set clamd had before it began, and sets only go forward, so a
  // later segment's can name a set loaded after the first segments were judged by the one before.
  let engine: string | undefined;
  for (const [index, range] of ranges.entries()) {
    const stream = await open(ranges.length === 1 ? undefined : range);
    let verdict: ScanVerdict;
    try {
      verdict = await scanner.scan(stream, options);
    } finally {
      stream.destroy();
    }
    if (verdict.outcome === 'infected') return verdict;
    if (verdict.outcome === 'unavailable') {
      return ranges.length === 1 ? verdict : { ...verdict, reason: `segment ${index + 1} of ${ranges.length} (bytes ${range.start}–${range.end}): ${verdict.reason}` };
    }
    engine ??= verdict.engine;
  }
  return { outcome: 'clean', engine: engine ?? 'ClamAV' };
}

// The upload pipeline: one pass over the incoming stream feeds the hash, the size count, the
// type sniffer's head buffer, the encrypting blob writer and (for files small enough) clamd.
// The blob store pulls the body through all of them, so memory stays flat whatever the size: each
// chunk is handed on as the store takes it, never kept.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { DomainError } from '../domain/errors.js';
import type { EncryptedBlobs, ScanOwner, ScanVerdict, Scanner, WrittenBlob } from '../domain/ports.js';

export const HEAD_BYTES = 64 * 1024;

export interface IngestOptions {
  maxBytes: number;
  /** Scan inline (verdict before commit) only up to this many bytes. */
  inlineScanMaxBytes: number;
  /** From Content-Length, when the client sent one. */
  declaredSize?: number;
  /** Who the inline scan is for, so the scanner can keep one party to its share. */
  owner?: ScanOwner;
  /** Limits on a slow or stalled body; without them a client could hold a slot for ever. */
  deadlines?: BodyDeadlines;
}

/** How long an upload runs before its average rate is held to the minimum: a connection's slow start is not a trickle. */
export const RATE_GRACE_MS = 60_000;

export interface BodyDeadlines {
  /** Longest gap between two pieces of the body. */
  idleMs: number;
  /** Slowest average rate accepted once `graceMs` have passed (0: no minimum). */
  minBytesPerSecond: number;
  graceMs: number;
}

export interface Ingested {
  blob: WrittenBlob;
  size: number;
  sha256: string;
  head: Buffer;
  /** null when the file was too large to scan inline: a job scans it after the commit. */
  verdict: ScanVerdict | null;
}

export async function ingest(
  blobs: EncryptedBlobs,
  scanner: Scanner,
  binding: { organisationId: string; documentId: string; versionId: string },
  source: Readable | AsyncIterable<Uint8Array>,
  options: IngestOptions,
): Promise<Ingested> {
  if (options.declaredSize !== undefined && options.declaredSize > options.maxBytes) throw tooLarge(options.maxBytes);
  const inlineLimit = Math.min(options.inlineScanMaxBytes, scanner.maxStreamBytes);
  const scanInline = options.declaredSize === undefined || options.declaredSize <= inlineLimit;
  // Nothing reads the body until the blob store pulls its first chunk (after the data key and the
  // staging file); an error the body emits meanwhile must not crash the process: the first read sees it.
  const unguard = guardEarlyErrors(source);

  const scanAbort = new AbortController();
  let scanFeed: PassThrough | null = null;
  let verdict: Promise<ScanVerdict> | null = null;
  if (scanInline) {
    scanFeed = new PassThrough({ highWaterMark: 1024 * 1024 });
    verdict = scanner.scan(scanFeed, { signal: scanAbort.signal, ...(options.owner ? { owner: options.owner } : {}) });
    verdict.catch(() => undefined);
  }

  const hash = createHash('sha256');
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let size = 0;

  /**
   * The body as the blob store pulls it: each chunk is counted, hashed, kept in the head while the
   * head is short, and fed to clamd, then handed on as it is (no stream, no copy in between). The
   * store's pace is the body's pace; clamd's is too, while it is fed.
   */
  async function* observed(): AsyncGenerator<Buffer> {
    for await (const data of options.deadlines ? withDeadlines(source, options.deadlines) : source) {
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      size += chunk.length;
      if (size > options.maxBytes) throw tooLarge(options.maxBytes);
      hash.update(chunk);
      if (headLength < HEAD_BYTES) {
        const part = chunk.subarray(0, HEAD_BYTES - headLength);
        headChunks.push(Buffer.from(part));
        headLength += part.length;
      }
      if (scanFeed && size > inlineLimit) {
        // Too big to wait for: the scan job will stream it from the stored blob instead.
        scanAbort.abort();
        scanFeed.destroy();
        scanFeed = null;
        verdict = null;
      }
      if (scanFeed && !scanFeed.write(chunk)) await Promise.race([once(scanFeed, 'drain'), verdict]);
      yield chunk;
    }
    // Over HTTP a body shorter than its Content-Length already fails the stream; this also catches
    // a file that changed size while the CLI read it. Either way the bytes are not what was sent.
    if (options.declaredSize !== undefined && size !== options.declaredSize) {
      throw new DomainError('INVALID', `The upload ended after ${size} bytes, but ${options.declaredSize} were announced. Nothing was stored; send the file again.`, {
        details: { receivedBytes: size, declaredBytes: options.declaredSize },
      });
    }
    // clamd gives its verdict while the store flushes the blob to disk.
    scanFeed?.end();
  }

  try {
    // A failure of the body (too large, cut short, too slow) or of the store (disk full) rejects
    // this with that reason, and the store has removed what it staged.
    const blob = await blobs.write(binding, observed());
    return { blob, size, sha256: hash.digest('hex'), head: Buffer.concat(headChunks), verdict: verdict ? await verdict : null };
  } catch (error) {
    scanAbort.abort();
    scanFeed?.destroy();
    throw error;
  } finally {
    unguard();
  }
}

/**
 * Keeps an error the body emits before anything reads it from being an unheard 'error' event,
 * which would crash the process; the read that follows still sees the error. Returns the undo.
 */
function guardEarlyErrors(source: Readable | AsyncIterable<Uint8Array>): () => void {
  if (!isReadable(source)) return () => undefined;
  const ignore = (): void => undefined;
  source.on('error', ignore);
  return () => source.off('error', ignore);
}

/**
 * Yields the body's chunks, failing with TIMEOUT when none arrives for `idleMs` or the average rate
 * falls below the minimum after the grace period (a trickle of a byte every few seconds).
 * A Readable is iterated without destroy-on-return: destroying an HTTP request would close the
 * socket before the 408 could be sent.
 */
async function* withDeadlines(source: Readable | AsyncIterable<Uint8Array>, deadlines: BodyDeadlines): AsyncGenerator<Uint8Array> {
  const iterable = isReadable(source) ? source.iterator({ destroyOnReturn: false }) : source;
  const iterator = (iterable as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const started = Date.now();
  let received = 0;
  const read: { pending: Promise<IteratorResult<Uint8Array>> | null; ended: boolean } = { pending: null, ended: false };
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const next = iterator.next();
      read.pending = next;
      const idle = new Promise<'idle'>((resolve) => {
        timer = setTimeout(() => resolve('idle'), deadlines.idleMs);
      });
      let step: IteratorResult<Uint8Array> | 'idle';
      try {
        step = await Promise.race([next, idle]);
      } finally {
        clearTimeout(timer);
      }
      if (step === 'idle') {
        next.catch(() => undefined); // abandoned: the request is answered and its socket closed
        throw new DomainError('TIMEOUT', `The upload stopped: no data arrived for ${Math.round(deadlines.idleMs / 1000)} seconds. Nothing was stored; try again.`);
      }
      read.pending = null;
      if (step.done) {
        read.ended = true;
        return;
      }
      received += step.value.length;
      const elapsed = Date.now() - started;
      if (deadlines.minBytesPerSecond > 0 && elapsed > deadlines.graceMs && (received * 1000) / elapsed < deadlines.minBytesPerSecond) {
        throw new DomainError('TIMEOUT', `The upload was too slow (under ${formatBytes(deadlines.minBytesPerSecond)} a second). Nothing was stored; try again on a better connection.`);
      }
      yield step.value;
    }
  } finally {
    // Stopped early (refused, failed, timed out): hand the early exit on to the source, as a plain
    // for-await would, so a wrapping generator lets go of its stream and a multipart part can be
    // drained. Never awaited: a stalled body's pending read may never settle.
    if (!read.ended) {
      const close = () => iterator.return?.();
      const closing = read.pending === null ? close() : read.pending.then(close, () => undefined);
      Promise.resolve(closing).catch(() => undefined);
    }
  }
}

function isReadable(source: Readable | AsyncIterable<Uint8Array>): source is Readable {
  return typeof (source as Readable).iterator === 'function' && typeof (source as Readable).pipe === 'function';
}

/** The refusal for a file over the upload limit; every interface that meets such a file uses it, so the message always names the limit. */
export const tooLarge = (max: number): DomainError =>
  new DomainError('TOO_LARGE', `The file is larger than the ${formatBytes(max)} this service accepts.`, { details: { maxBytes: max } });

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 === 0 ? 0 : 1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(n % 1024 ** 2 === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

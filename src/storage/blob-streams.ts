// What every BlobStore does the same way with the streams and ranges it is given.
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ByteRange } from '../domain/ports.js';
import { DomainError, IntegrityError } from '../domain/errors.js';

/**
 * Keeps an error the source emits before the store starts reading it from crashing the process
 * (the read that follows sees it); returns the function that takes the guard off.
 */
export function guardEarlyErrors(source: Readable | AsyncIterable<Uint8Array>): () => void {
  const emitter = source as Partial<Pick<NodeJS.EventEmitter, 'on' | 'off'>>;
  if (typeof emitter.on !== 'function' || typeof emitter.off !== 'function') return () => undefined;
  const ignore = (): void => undefined;
  emitter.on('error', ignore);
  return () => emitter.off?.('error', ignore);
}

/** A stream chunk as a Buffer without copying; anything but bytes is a programming error. */
export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('A blob stream must carry bytes.');
}

/**
 * What to read of a file of `size` bytes for `range` (all of it without one), cut to the file:
 * undefined when that is nothing. A blob never changes in place (a replacement is another file
 * renamed over it), so its size once open bounds every read: bytes cut off fail decryption, and
 * bytes added after the open, or a file that says it is empty and is not, are not read.
 */
export function readBounds(size: number, range: ByteRange | undefined): { start: number; end: number } | undefined {
  const start = range?.start ?? 0;
  const end = Math.min(range?.end ?? size - 1, size - 1);
  return end >= start ? { start, end } : undefined;
}

/**
 * Releases a source a store was given and will not read: a file stream's descriptor is closed by its
 * own end or destruction only, so a put that fails before reading must destroy it. Resolves once the
 * stream has closed: a file stream closes its descriptor through the thread pool, after destroy()
 * returns, and a caller told the put failed may count on the descriptor being gone.
 */
export async function releaseSource(source: Readable | AsyncIterable<Uint8Array>): Promise<void> {
  const stream = source as Partial<Pick<Readable, 'destroy' | 'destroyed'>>;
  if (typeof stream.destroy === 'function' && stream.destroyed !== true) stream.destroy();
  // Destroyed without an error, finished() reports a premature close: that is what was asked for.
  if (source instanceof Readable) await finished(source).catch(() => undefined);
}

export function checkRange(range: ByteRange): void {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
    throw new DomainError('INVALID', 'Invalid byte range.', { details: { start: range.start, end: range.end } });
  }
}

/**
 * A blob's bytes read whole into memory, for one that should be small: more than `maxBytes` is an
 * IntegrityError (its record said otherwise). The stores read no more than a byte past the bound:
 * the folder store's read ends there, and S3's answer gives the length before the body is read.
 */
export async function collectSmall(id: string, stream: Readable, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  // Leaving the loop early, by the throw, destroys the stream.
  for await (const part of stream) {
    const bytes = toBuffer(part);
    length += bytes.length;
    if (length > maxBytes) throw longerThanExpected(id, maxBytes);
    parts.push(bytes);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
}

export function longerThanExpected(id: string, maxBytes: number): IntegrityError {
  return new IntegrityError(`Blob ${id} is longer than the ${maxBytes} bytes its record allows.`);
}

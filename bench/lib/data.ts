// Test data: random bytes, a large "random-ish" stream and many small random files. Every file
// begins with a fixed ASCII header so that random bytes never sniff as a blocked type (an "MZ"
// executable header turns up in 1 of 65,536 random files), and every chunk carries a counter so no
// two chunks are identical (clamd caches verdicts by content hash).
import { randomFillSync } from 'node:crypto';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
const HEADER = Buffer.from('STRONGROOM-BENCH', 'ascii');

export function randomBuffer(bytes: number): Buffer {
  const buffer = Buffer.allocUnsafe(bytes);
  for (let at = 0; at < bytes; at += 64 * MiB) randomFillSync(buffer, at, Math.min(64 * MiB, bytes - at));
  return buffer;
}

/**
 * `total` bytes in 1 MiB chunks copied from `base` (a random buffer, e.g. 64 MiB) with the chunk
 * number stamped into each, so the stream repeats no chunk while costing only a memcpy per MiB.
 */
export function* largeFile(total: number, base: Buffer, chunkBytes = MiB): Generator<Buffer> {
  let index = 0;
  for (let sent = 0; sent < total; sent += chunkBytes, index++) {
    const length = Math.min(chunkBytes, total - sent);
    const offset = (index * chunkBytes) % (base.length - length + 1);
    const chunk = Buffer.allocUnsafe(length);
    base.copy(chunk, 0, offset, offset + length);
    if (length >= 32) chunk.writeUInt32BE(index, 16 + (index % 8));
    if (index === 0) HEADER.copy(chunk, 0);
    yield chunk;
  }
}

/** `count` distinct files of `size` random bytes behind the header, with their index in them. */
export function smallFiles(count: number, size: number): Buffer[] {
  const pool = randomBuffer(count * size);
  const files: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const file = pool.subarray(i * size, (i + 1) * size);
    HEADER.copy(file, 0);
    file.writeUInt32BE(i, HEADER.length);
    files.push(file);
  }
  return files;
}

/** Plain random chunks of `chunkBytes` from a pre-filled buffer, for clamd's own rate. */
export function* chunksOf(buffer: Buffer, chunkBytes = MiB): Generator<Buffer> {
  for (let at = 0; at < buffer.length; at += chunkBytes) yield buffer.subarray(at, Math.min(buffer.length, at + chunkBytes));
}

// Bounded random access to the plaintext under inspection: a small cache of aligned blocks over a
// RangeReader, so the many small reads of a directory walk decrypt each chunk of the blob once.
import type { RangeReader } from '../../domain/ports.js';

/** Bytes [start, endExclusive) of the file being inspected. */
export type ReadExclusive = (start: number, endExclusive: number) => Promise<Buffer>;

/**
 * yauzl reads a central directory in many small pieces (two per entry); each would otherwise
 * decrypt a whole chunk of the blob. A small LRU of aligned blocks turns them into a few reads.
 */
export class BlockCache {
  private readonly blocks = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly readRange: RangeReader,
    private readonly size: number,
    private readonly head: Buffer,
    private readonly blockSize = 64 * 1024,
    private readonly maxBlocks = 32,
  ) {}

  readonly read: ReadExclusive = async (start, endExclusive) => {
    if (start < 0 || endExclusive > this.size || endExclusive < start) throw new RangeError(`read ${start}-${endExclusive} outside 0-${this.size}`);
    if (endExclusive <= this.head.length) return this.head.subarray(start, endExclusive);
    const parts: Buffer[] = [];
    for (let block = Math.floor(start / this.blockSize); block * this.blockSize < endExclusive; block++) {
      const data = await this.block(block);
      const base = block * this.blockSize;
      parts.push(data.subarray(Math.max(0, start - base), Math.min(data.length, endExclusive - base)));
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  };

  private block(index: number): Promise<Buffer> {
    let pending = this.blocks.get(index);
    if (pending) {
      this.blocks.delete(index); // re-insert: most recently used last
    } else {
      const start = index * this.blockSize;
      const end = Math.min(this.size, start + this.blockSize) - 1;
      pending = this.readRange({ start, end });
      pending.catch(() => this.blocks.delete(index));
    }
    this.blocks.set(index, pending);
    while (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value as number);
    return pending;
  }
}

/** A whole file already in memory (a nested archive), read the same way. */
export function memoryReader(data: Buffer): ReadExclusive {
  return async (start, endExclusive) => data.subarray(start, endExclusive);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// BlockCache: small reads are served from the head or from a few aligned block reads, never outside the file.
import { describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../../../test/support/samples.js';
import { BlockCache } from './random-access.js';

describe('BlockCache', () => {
  it('serves many small reads with one read per aligned block, and reads within the head not at all', async () => {
    const data = pseudoRandomBytes(300_000);
    const reads: Array<[number, number]> = [];
    const cache = new BlockCache(async ({ start, end }) => {
      reads.push([start, end]);
      return data.subarray(start, end + 1);
    }, data.length, data.subarray(0, 1000), 64 * 1024);
    expect((await cache.read(10, 20)).equals(data.subarray(10, 20))).toBe(true);
    expect(reads).toEqual([]);
    for (let at = 200_000; at < 260_000; at += 100) expect((await cache.read(at, at + 46)).equals(data.subarray(at, at + 46))).toBe(true);
    expect(reads).toEqual([[196_608, 262_143]]);
    // A read across a block boundary joins two blocks; the last block ends at the file's end.
    expect((await cache.read(262_100, 299_999)).equals(data.subarray(262_100, 299_999))).toBe(true);
    expect(reads).toEqual([[196_608, 262_143], [262_144, 299_999]]);
  });

  it('refuses reads outside the file', async () => {
    const cache = new BlockCache(async () => Buffer.alloc(0), 100, Buffer.alloc(0));
    await expect(cache.read(50, 101)).rejects.toThrow(RangeError);
    await expect(cache.read(-1, 10)).rejects.toThrow(RangeError);
  });
});

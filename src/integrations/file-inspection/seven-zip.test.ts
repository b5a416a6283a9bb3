// 7-Zip headers: the 7zAES coder is found in the end header; plain and damaged archives prove nothing.
import { describe, expect, it } from 'vitest';
import { sevenZipEncrypted, sevenZipPlain } from '../../../test/support/samples.js';
import { memoryReader } from './random-access.js';
import { sevenZipEncryption } from './seven-zip.js';

const check = (data: Buffer) => sevenZipEncryption(memoryReader(data), data.length);

describe('sevenZipEncryption', () => {
  it('finds the 7zAES coder in the archive header', async () => {
    expect(await check(sevenZipEncrypted())).toBe('7zAES coder in the archive header');
  });

  it('says nothing of a plain archive, a short file or a header offset beyond the end', async () => {
    expect(await check(sevenZipPlain())).toBeUndefined();
    expect(await check(Buffer.alloc(20))).toBeUndefined();
    const lying = Buffer.from(sevenZipEncrypted());
    lying.writeBigUInt64LE(10n ** 9n, 12);
    expect(await check(lying)).toBeUndefined();
  });
});

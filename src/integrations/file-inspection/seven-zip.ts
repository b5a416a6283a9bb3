// 7-Zip: only "is anything in here behind a password?" (clamd scans what it can unpack).
import type { ReadExclusive } from './random-access.js';

/** The 7zAES coder id (06 F1 07 01) as it appears in a 7z header's coder list. */
const SEVEN_ZIP_AES = Buffer.from([0x06, 0xf1, 0x07, 0x01]);
const MAX_7Z_HEADER_READ = 1024 * 1024;

/**
 * 7-Zip lists each folder's coders in the header at the end of the file. With encrypted names
 * (-mhe) the header is itself packed with 7zAES, whose id is then in the small plain "encoded
 * header". Limitation: when only the data is encrypted and the header is LZMA-packed (7-Zip's
 * default), the coder list is inside the packed header and this returns undefined; clamd then
 * decides alone (it scans what it can unpack).
 */
export async function sevenZipEncryption(read: ReadExclusive, size: number): Promise<string | undefined> {
  try {
    if (size < 32) return undefined;
    const start = await read(0, 32);
    const offset = Number(start.readBigUInt64LE(12));
    const length = Number(start.readBigUInt64LE(20));
    const from = 32 + offset;
    if (!Number.isSafeInteger(from) || length <= 0 || from >= size) return undefined;
    const header = await read(from, Math.min(size, from + Math.min(length, MAX_7Z_HEADER_READ)));
    return header.includes(SEVEN_ZIP_AES) ? '7zAES coder in the archive header' : undefined;
  } catch {
    return undefined;
  }
}

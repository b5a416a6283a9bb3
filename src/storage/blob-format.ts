// The encrypted blob format: a short header, then fixed-size chunks each sealed with AES-256-GCM
// under the STREAM construction (nonce = prefix ‖ counter ‖ last flag), so truncation, reordering,
// splicing and moving a blob to another version are all detected, and range reads decrypt only
// the chunks they cover.
//
//   header  = "SRBLOB" ‖ version u8 (1) ‖ chunk size u32 BE ‖ nonce prefix (7 random bytes)   18 bytes
//   chunk i = AES-256-GCM(dataKey, nonce_i, aad, plaintext_i) ‖ tag (16 bytes)
//   nonce_i = nonce prefix ‖ i as u32 BE ‖ (1 if i is the final chunk else 0)                  12 bytes
//   aad     = header ‖ encodeBinding("strongroom/blob/v1", binding)
//
// Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds 1..chunk size
// bytes, or 0 for an empty file (so even an empty file has one sealed, flagged chunk and a blob
// cut back to its header is detected). The header is inside every chunk's AAD, so changing the
// chunk size or nonce prefix fails authentication.
//
// This file is the format: constants, header, nonces, sealing and opening one chunk, sizes and range
// plans. Encrypting and decrypting whole streams and ranges in it is blob-crypto-streams.ts.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { BlobBinding, ByteRange } from '../domain/ports.js';
import { DomainError, IntegrityError } from '../domain/errors.js';
import { encodeBinding } from './aad.js';

export const MAGIC = Buffer.from('SRBLOB', 'ascii');
export const FORMAT_VERSION = 1;
export const NONCE_PREFIX_SIZE = 7;
export const HEADER_SIZE = MAGIC.length + 1 + 4 + NONCE_PREFIX_SIZE;
export const TAG_SIZE = 16;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/**
 * Upper bound on a chunk size read from a header. The header is only authenticated once the first
 * chunk verifies, so without a bound a forged header could make a reader allocate gigabytes.
 */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** The counter is a u32; 2^32 chunks of 64 KiB is 256 TiB, far beyond any single document. */
export const MAX_CHUNKS = 2 ** 32;
const KEY_SIZE = 32;
const AAD_LABEL = 'strongroom/blob/v1';

export interface BlobHeader {
  chunkSize: number;
  noncePrefix: Buffer;
  /** The exact header bytes, which are part of every chunk's AAD. */
  bytes: Buffer;
}

export function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`Chunk size must be an integer from 1 to ${MAX_CHUNK_SIZE}, got ${chunkSize}.`);
  }
}

export function checkDataKey(dataKey: Buffer): void {
  if (dataKey.length !== KEY_SIZE) throw new RangeError(`A data key must be ${KEY_SIZE} bytes, got ${dataKey.length}.`);
}

export function buildHeader(chunkSize: number, noncePrefix: Buffer): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, MAGIC.length);
  header.writeUInt32BE(chunkSize, MAGIC.length + 1);
  noncePrefix.copy(header, MAGIC.length + 5);
  return header;
}

/** Parses and sanity-checks a header; anything unexpected is an IntegrityError (the bytes are not ours). */
export function parseHeader(bytes: Buffer): BlobHeader {
  if (bytes.length < HEADER_SIZE) throw new IntegrityError('Encrypted blob is shorter than its header.');
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new IntegrityError('Encrypted blob has a wrong magic number.');
  const version = bytes.readUInt8(MAGIC.length);
  if (version !== FORMAT_VERSION) throw new IntegrityError(`Encrypted blob has unknown format version ${version}.`);
  const chunkSize = bytes.readUInt32BE(MAGIC.length + 1);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new IntegrityError('Encrypted blob header has an impossible chunk size.');
  const headerBytes = Buffer.from(bytes.subarray(0, HEADER_SIZE));
  return { chunkSize, noncePrefix: headerBytes.subarray(MAGIC.length + 5), bytes: headerBytes };
}

export function chunkAad(header: Buffer, binding: BlobBinding): Buffer {
  return Buffer.concat([header, encodeBinding(AAD_LABEL, binding)]);
}

function nonceFor(prefix: Buffer, index: number, last: boolean): Buffer {
  const nonce = Buffer.allocUnsafe(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, NONCE_PREFIX_SIZE);
  nonce.writeUInt8(last ? 1 : 0, NONCE_PREFIX_SIZE + 4);
  return nonce;
}

/**
 * Seals one chunk, returning ciphertext and tag as separate buffers: joining them would copy every
 * byte once more, and the blob store writes both with one writev anyway.
 */
export function sealChunk(key: Buffer, prefix: Buffer, aad: Buffer, index: number, last: boolean, plain: Buffer): [Buffer, Buffer] {
  const cipher = createCipheriv('aes-256-gcm', key, nonceFor(prefix, index, last), { authTagLength: TAG_SIZE });
  cipher.setAAD(aad);
  const body = cipher.update(plain);
  const tail = cipher.final(); // empty for GCM, but the API requires the call before getAuthTag
  return [tail.length === 0 ? body : Buffer.concat([body, tail]), cipher.getAuthTag()];
}

/**
 * Opens one sealed chunk. The plaintext is only returned after `final()` has checked the tag:
 * Node's decipher hands out unauthenticated bytes from `update()`, which must never leave here.
 */
export function openChunk(key: Buffer, prefix: Buffer, aad: Buffer, index: number, last: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_SIZE) throw new IntegrityError('Encrypted blob is truncated.');
  if (index >= MAX_CHUNKS) throw new IntegrityError('Encrypted blob has too many chunks.');
  const tagAt = sealed.length - TAG_SIZE;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(prefix, index, last), { authTagLength: TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(tagAt));
    const body = decipher.update(sealed.subarray(0, tagAt));
    const tail = decipher.final();
    return tail.length === 0 ? body : Buffer.concat([body, tail]);
  } catch (cause) {
    throw new IntegrityError(`Encrypted blob chunk ${index} failed authentication.`, { cause });
  }
}

// ---------------------------------------------------------------------------------------------
// Sizes and range planning

/** How many sealed chunks a plaintext of this size has (at least one, even when empty). */
export function chunkCountFor(plainSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return plainSize === 0 ? 1 : Math.ceil(plainSize / chunkSize);
}

/** Size on disk of a blob holding `plainSize` bytes. */
export function encryptedSize(plainSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  checkChunkSize(chunkSize);
  if (!Number.isSafeInteger(plainSize) || plainSize < 0) throw new RangeError(`Invalid plaintext size ${plainSize}.`);
  return HEADER_SIZE + plainSize + chunkCountFor(plainSize, chunkSize) * TAG_SIZE;
}

/**
 * Plaintext size of a blob of `encryptedSize` bytes. Throws IntegrityError when no well-formed
 * blob has that size (for example a blob cut short in the middle of its final tag).
 */
export function plainSizeOf(encryptedSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return layoutOf(encryptedSize, chunkSize).plainSize;
}

interface BlobLayout {
  chunkSize: number;
  chunkCount: number;
  plainSize: number;
  encryptedSize: number;
}

function layoutOf(size: number, chunkSize: number): BlobLayout {
  checkChunkSize(chunkSize);
  const body = size - HEADER_SIZE;
  const sealedChunk = chunkSize + TAG_SIZE;
  if (!Number.isSafeInteger(size) || body < TAG_SIZE) throw new IntegrityError('Encrypted blob is too short to hold any chunk.');
  const chunkCount = Math.ceil(body / sealedChunk);
  const lastSealed = body - (chunkCount - 1) * sealedChunk;
  // A final chunk is 1..chunkSize bytes (only a lone chunk may be empty), so a leftover of just
  // a tag after full chunks, or less than a tag, cannot come from the encryptor.
  if (lastSealed < TAG_SIZE || (chunkCount > 1 && lastSealed === TAG_SIZE)) {
    throw new IntegrityError('Encrypted blob size does not match its chunk layout.');
  }
  if (chunkCount > MAX_CHUNKS) throw new IntegrityError('Encrypted blob has too many chunks.');
  return { chunkSize, chunkCount, plainSize: body - chunkCount * TAG_SIZE, encryptedSize: size };
}

export interface ChunkPlan {
  plainSize: number;
  chunkCount: number;
  /** First and last chunk index (inclusive) covering the requested plaintext range. */
  firstChunk: number;
  lastChunk: number;
  /** The sealed bytes of those chunks (inclusive end). */
  encryptedRange: ByteRange;
}

/** Where chunk `index` lies in the blob (inclusive end). */
export function encryptedChunkRange(index: number, chunkSize: number, blobSize: number): ByteRange {
  const start = HEADER_SIZE + index * (chunkSize + TAG_SIZE);
  return { start, end: Math.min(start + chunkSize + TAG_SIZE, blobSize) - 1 };
}

/**
 * Maps a plaintext range (inclusive end, as in HTTP) to the chunks and sealed bytes that hold it.
 * An end past the last byte is clamped; a start past it, or any range of an empty file, is INVALID
 * (the HTTP layer answers 416 before it gets here).
 */
export function chunkPlan(range: ByteRange, chunkSize: number, blobSize: number): ChunkPlan {
  const layout = layoutOf(blobSize, chunkSize);
  const { start } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(range.end) || start < 0 || range.end < start || start >= layout.plainSize) {
    throw new DomainError('INVALID', 'The requested range is not satisfiable.', {
      details: { start: range.start, end: range.end, size: layout.plainSize },
    });
  }
  const end = Math.min(range.end, layout.plainSize - 1);
  const firstChunk = Math.floor(start / chunkSize);
  const lastChunk = Math.floor(end / chunkSize);
  return {
    plainSize: layout.plainSize,
    chunkCount: layout.chunkCount,
    firstChunk,
    lastChunk,
    encryptedRange: {
      start: encryptedChunkRange(firstChunk, chunkSize, blobSize).start,
      end: encryptedChunkRange(lastChunk, chunkSize, blobSize).end,
    },
  };
}

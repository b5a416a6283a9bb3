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
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
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
const MAX_CHUNKS = 2 ** 32;
const KEY_SIZE = 32;
const AAD_LABEL = 'strongroom/blob/v1';

export interface BlobHeader {
  chunkSize: number;
  noncePrefix: Buffer;
  /** The exact header bytes, which are part of every chunk's AAD. */
  bytes: Buffer;
}

export interface EncryptOptions {
  /** Plaintext bytes per chunk (default 64 KiB). Larger chunks mean fewer tags but coarser range reads. */
  chunkSize?: number;
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`Chunk size must be an integer from 1 to ${MAX_CHUNK_SIZE}, got ${chunkSize}.`);
  }
}

function checkDataKey(dataKey: Buffer): void {
  if (dataKey.length !== KEY_SIZE) throw new RangeError(`A data key must be ${KEY_SIZE} bytes, got ${dataKey.length}.`);
}

function buildHeader(chunkSize: number, noncePrefix: Buffer): Buffer {
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

function chunkAad(header: Buffer, binding: BlobBinding): Buffer {
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
function sealChunk(key: Buffer, prefix: Buffer, aad: Buffer, index: number, last: boolean, plain: Buffer): [Buffer, Buffer] {
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
function openChunk(key: Buffer, prefix: Buffer, aad: Buffer, index: number, last: boolean, sealed: Buffer): Buffer {
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

// ---------------------------------------------------------------------------------------------
// A queue of buffers that hands out exact-length pieces without copying when it can.

class ByteQueue {
  private readonly buffers: Buffer[] = [];
  private headOffset = 0;
  length = 0;

  push(buffer: Buffer): void {
    if (buffer.length === 0) return;
    this.buffers.push(buffer);
    this.length += buffer.length;
  }

  /** Removes and returns the next `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    const head = this.buffers[0];
    if (head !== undefined && head.length - this.headOffset >= n) {
      const out = head.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      if (this.headOffset === head.length) {
        this.buffers.shift();
        this.headOffset = 0;
      }
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const buffer = this.buffers[0]!;
      const copied = buffer.copy(out, filled, this.headOffset, Math.min(buffer.length, this.headOffset + n - filled));
      filled += copied;
      this.headOffset += copied;
      if (this.headOffset === buffer.length) {
        this.buffers.shift();
        this.headOffset = 0;
      }
    }
    this.length -= n;
    return out;
  }
}

const toBuffer = (chunk: unknown): Buffer => {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError('Blob streams carry bytes only.');
};

// ---------------------------------------------------------------------------------------------
// Encryption

/**
 * A Transform from plaintext to the blob format. Holds at most one chunk of plaintext: a full
 * chunk is only sealed (as not-last) once a further byte arrives, because only then is it known
 * not to be the final one.
 */
export function createEncryptStream(dataKey: Buffer, binding: BlobBinding, opts: EncryptOptions = {}): Transform {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  checkChunkSize(chunkSize);
  checkDataKey(dataKey);
  const key = Buffer.from(dataKey); // our own copy: the caller may zero or reuse theirs
  const noncePrefix = randomBytes(NONCE_PREFIX_SIZE);
  const header = buildHeader(chunkSize, noncePrefix);
  const aad = chunkAad(header, binding);
  const pending = Buffer.allocUnsafe(chunkSize);
  let filled = 0;
  let index = 0;
  let headerSent = false;

  const seal = (stream: Transform, plain: Buffer, last: boolean): void => {
    if (index >= MAX_CHUNKS) throw new RangeError('Plaintext is too large for the blob format.');
    const [body, tag] = sealChunk(key, noncePrefix, aad, index++, last, plain);
    if (body.length > 0) stream.push(body);
    stream.push(tag);
  };

  return new Transform({
    // Let the encryptor run a couple of chunks ahead of the disk writer.
    readableHighWaterMark: 2 * (chunkSize + TAG_SIZE),
    writableHighWaterMark: chunkSize,
    transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        const input = toBuffer(chunk);
        if (!headerSent) {
          this.push(header);
          headerSent = true;
        }
        let offset = 0;
        while (offset < input.length) {
          if (filled === chunkSize) {
            seal(this, pending, false);
            filled = 0;
          }
          // Fast path: seal straight from the input when a whole chunk, and more, is available.
          if (filled === 0 && input.length - offset > chunkSize) {
            seal(this, input.subarray(offset, offset + chunkSize), false);
            offset += chunkSize;
            continue;
          }
          const n = Math.min(chunkSize - filled, input.length - offset);
          input.copy(pending, filled, offset, offset + n);
          filled += n;
          offset += n;
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!headerSent) {
          this.push(header);
          headerSent = true;
        }
        seal(this, pending.subarray(0, filled), true);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Decryption of a whole blob

export interface DecryptOptions {
  /** When given, a blob whose plaintext is not exactly this long is an IntegrityError. */
  expectedPlainSize?: number;
}

/**
 * A Transform from a whole blob to its plaintext. Each chunk is pushed only after its tag
 * verified; a sealed chunk is held back until either more bytes arrive (so it is not the last) or
 * the input ends (so it must carry the last flag). Truncation, extra bytes, reordering and any
 * changed byte therefore all fail as IntegrityError. Bytes already pushed are authentic, but a
 * consumer must still treat an error part-way as a failed read (abort the response).
 */
export function createDecryptStream(dataKey: Buffer, binding: BlobBinding, opts: DecryptOptions = {}): Transform {
  checkDataKey(dataKey);
  const key = Buffer.from(dataKey);
  const queue = new ByteQueue();
  let header: BlobHeader | undefined;
  let aad: Buffer | undefined;
  let sealedChunk = 0;
  let index = 0;
  let plainSize = 0;

  const fail = (error: unknown): Error =>
    error instanceof IntegrityError ? error : new IntegrityError('Encrypted blob could not be read.', { cause: error });

  return new Transform({
    readableHighWaterMark: 2 * DEFAULT_CHUNK_SIZE,
    transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        queue.push(toBuffer(chunk));
        if (header === undefined) {
          if (queue.length < HEADER_SIZE) return callback();
          header = parseHeader(queue.take(HEADER_SIZE));
          aad = chunkAad(header.bytes, binding);
          sealedChunk = header.chunkSize + TAG_SIZE;
        }
        // Strictly greater: a chunk followed by at least one more byte is known not to be the last.
        while (queue.length > sealedChunk) {
          const plain = openChunk(key, header.noncePrefix, aad!, index, false, queue.take(sealedChunk));
          index++;
          plainSize += plain.length;
          this.push(plain);
        }
        callback();
      } catch (error) {
        callback(fail(error));
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (header === undefined) throw new IntegrityError('Encrypted blob is shorter than its header.');
        if (queue.length < TAG_SIZE) throw new IntegrityError('Encrypted blob is truncated: it has no final chunk.');
        const plain = openChunk(key, header.noncePrefix, aad!, index, true, queue.take(queue.length));
        plainSize += plain.length;
        if (opts.expectedPlainSize !== undefined && plainSize !== opts.expectedPlainSize) {
          throw new IntegrityError(`Encrypted blob holds ${plainSize} bytes, expected ${opts.expectedPlainSize}.`);
        }
        if (plain.length > 0) this.push(plain);
        callback();
      } catch (error) {
        callback(fail(error));
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Decryption of a range

export interface PlainRangeOptions {
  dataKey: Buffer;
  binding: BlobBinding;
  /** Total size of the blob as stored; needed to know which chunk is the last. */
  encryptedSize: number;
  /** Reads a range (inclusive end) of the stored blob. */
  readEncrypted: (range: ByteRange) => Promise<Readable | Buffer>;
  /** Plaintext range, inclusive end; an end past the last byte is clamped. */
  range: ByteRange;
  /** When given, a blob whose plaintext size differs (truncated, or the wrong blob) is an IntegrityError. */
  expectedPlainSize?: number;
  /** How many chunks to fetch per read of the underlying store (default 16, about 1 MiB). */
  batchChunks?: number;
}

async function* readAll(source: Readable | Buffer): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    yield source;
    return;
  }
  for await (const chunk of source) yield toBuffer(chunk);
}

async function readExact(read: PlainRangeOptions['readEncrypted'], range: ByteRange): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of readAll(await read(range))) {
    parts.push(part);
    length += part.length;
  }
  const expected = range.end - range.start + 1;
  if (length !== expected) throw new IntegrityError(`Encrypted blob read returned ${length} bytes, expected ${expected}.`);
  return Buffer.concat(parts, length);
}

async function* plainRangeChunks(opts: PlainRangeOptions): AsyncGenerator<Buffer> {
  checkDataKey(opts.dataKey);
  const key = Buffer.from(opts.dataKey);
  const batchChunks = opts.batchChunks ?? 16;
  if (!Number.isInteger(batchChunks) || batchChunks < 1) throw new RangeError('batchChunks must be a positive integer.');
  if (opts.encryptedSize < HEADER_SIZE + TAG_SIZE) throw new IntegrityError('Encrypted blob is too short to hold any chunk.');

  const header = parseHeader(await readExact(opts.readEncrypted, { start: 0, end: HEADER_SIZE - 1 }));
  const { chunkSize } = header;
  const plan = chunkPlan(opts.range, chunkSize, opts.encryptedSize);
  if (opts.expectedPlainSize !== undefined && plan.plainSize !== opts.expectedPlainSize) {
    throw new IntegrityError(`Encrypted blob holds ${plan.plainSize} bytes, expected ${opts.expectedPlainSize}.`);
  }
  const aad = chunkAad(header.bytes, opts.binding);
  const start = opts.range.start;
  const end = Math.min(opts.range.end, plan.plainSize - 1);

  for (let batchFirst = plan.firstChunk; batchFirst <= plan.lastChunk; batchFirst += batchChunks) {
    const batchLast = Math.min(batchFirst + batchChunks - 1, plan.lastChunk);
    const wanted: ByteRange = {
      start: encryptedChunkRange(batchFirst, chunkSize, opts.encryptedSize).start,
      end: encryptedChunkRange(batchLast, chunkSize, opts.encryptedSize).end,
    };
    // Decrypt as the batch's bytes arrive rather than buffering the batch.
    const queue = new ByteQueue();
    let index = batchFirst;
    const sealedLength = (i: number): number => {
      const r = encryptedChunkRange(i, chunkSize, opts.encryptedSize);
      return r.end - r.start + 1;
    };
    const open = (i: number): Buffer => {
      const plain = openChunk(key, header.noncePrefix, aad, i, i === plan.chunkCount - 1, queue.take(sealedLength(i)));
      const offset = i * chunkSize;
      return plain.subarray(Math.max(start - offset, 0), Math.min(end - offset + 1, plain.length));
    };
    for await (const part of readAll(await opts.readEncrypted(wanted))) {
      queue.push(part);
      while (index <= batchLast && queue.length >= sealedLength(index)) yield open(index++);
      if (index > batchLast && queue.length > 0) throw new IntegrityError('Encrypted blob read returned more bytes than asked for.');
    }
    if (index <= batchLast) throw new IntegrityError('Encrypted blob is shorter than its recorded size.');
  }
}

/**
 * Streams a plaintext range, decrypting and verifying only the chunks that cover it, fetched from
 * the store in batches. Also checks the last flag of the final chunk when the range reaches it.
 * Errors (IntegrityError for bad bytes, DomainError INVALID for an unsatisfiable range, or the
 * store's own errors) are emitted on the stream.
 */
export function readPlainRange(opts: PlainRangeOptions): Readable {
  return Readable.from(plainRangeChunks(opts), { objectMode: false, highWaterMark: DEFAULT_CHUNK_SIZE });
}

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
import { pipeline as pipelineCallback, type Readable, Transform, type TransformCallback } from 'node:stream';
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
 * Cuts plaintext into chunks and seals them, for both ways of encrypting below. Holds at most one
 * chunk of plaintext: a full chunk is only sealed (as not-last) once a further byte arrives,
 * because only then is it known not to be the final one.
 */
class ChunkSealer {
  readonly header: Buffer;
  readonly #key: Buffer;
  readonly #noncePrefix: Buffer;
  readonly #aad: Buffer;
  readonly #chunkSize: number;
  readonly #pending: Buffer;
  #filled = 0;
  #index = 0;

  constructor(dataKey: Buffer, binding: BlobBinding, opts: EncryptOptions) {
    this.#chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    checkChunkSize(this.#chunkSize);
    checkDataKey(dataKey);
    this.#key = Buffer.from(dataKey); // our own copy: the caller may zero or reuse theirs
    this.#noncePrefix = randomBytes(NONCE_PREFIX_SIZE);
    this.header = buildHeader(this.#chunkSize, this.#noncePrefix);
    this.#aad = chunkAad(this.header, binding);
    this.#pending = Buffer.allocUnsafe(this.#chunkSize);
  }

  /** Seals every chunk that `input` completes, appending ciphertext and tags to `out`. */
  add(input: Buffer, out: Buffer[]): void {
    const chunkSize = this.#chunkSize;
    let offset = 0;
    while (offset < input.length) {
      if (this.#filled === chunkSize) {
        this.#seal(this.#pending, false, out);
        this.#filled = 0;
      }
      // Fast path: seal straight from the input when a whole chunk, and more, is available.
      if (this.#filled === 0 && input.length - offset > chunkSize) {
        this.#seal(input.subarray(offset, offset + chunkSize), false, out);
        offset += chunkSize;
        continue;
      }
      // Otherwise gather: a chunk is sealed only once it is known whether it is the last, and by
      // then the input it came from belongs to its producer again.
      const n = Math.min(chunkSize - this.#filled, input.length - offset);
      input.copy(this.#pending, this.#filled, offset, offset + n);
      this.#filled += n;
      offset += n;
    }
  }

  /** Seals what is left as the final chunk (empty for an empty file). */
  finish(out: Buffer[]): void {
    this.#seal(this.#pending.subarray(0, this.#filled), true, out);
    this.#filled = 0;
  }

  #seal(plain: Buffer, last: boolean, out: Buffer[]): void {
    if (this.#index >= MAX_CHUNKS) throw new RangeError('Plaintext is too large for the blob format.');
    const [body, tag] = sealChunk(this.#key, this.#noncePrefix, this.#aad, this.#index++, last, plain);
    if (body.length > 0) out.push(body);
    out.push(tag);
  }
}

/**
 * Encrypts a plaintext source into the blob format as the consumer pulls: the header, then each
 * chunk's ciphertext and tag as separate buffers (a blob store writes them with one writev). No
 * stream sits between source and store, so no chunk is buffered or joined on the way; an error of
 * the source ends the sequence with that error, and a consumer that stops early stops the source.
 * Throws at once for a bad key or chunk size.
 */
export function encryptChunks(source: Readable | AsyncIterable<Uint8Array>, dataKey: Buffer, binding: BlobBinding, opts: EncryptOptions = {}): AsyncGenerator<Buffer> {
  return sealAll(new ChunkSealer(dataKey, binding, opts), source);
}

async function* sealAll(sealer: ChunkSealer, source: Readable | AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  yield sealer.header;
  const out: Buffer[] = [];
  for await (const chunk of source) {
    sealer.add(toBuffer(chunk), out);
    for (let i = 0; i < out.length; i++) yield out[i]!;
    out.length = 0;
  }
  sealer.finish(out);
  yield* out;
}

/** The same as encryptChunks, as a Transform from plaintext to the blob format (for pipe chains). */
export function createEncryptStream(dataKey: Buffer, binding: BlobBinding, opts: EncryptOptions = {}): Transform {
  const sealer = new ChunkSealer(dataKey, binding, opts);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  let headerSent = false;
  const out: Buffer[] = [];
  const pushAll = (stream: Transform): void => {
    if (!headerSent) {
      stream.push(sealer.header);
      headerSent = true;
    }
    for (const piece of out) stream.push(piece);
    out.length = 0;
  };
  return new Transform({
    // Let the encryptor run a couple of chunks ahead of the disk writer.
    readableHighWaterMark: 2 * (chunkSize + TAG_SIZE),
    writableHighWaterMark: chunkSize,
    transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        sealer.add(toBuffer(chunk), out);
        pushAll(this);
        callback();
      } catch (error) {
        out.length = 0;
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        sealer.finish(out);
        pushAll(this);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Decryption: one Transform for a whole blob and for a range of it

export interface DecryptOptions {
  /** When given, a blob whose plaintext is not exactly this long is an IntegrityError. */
  expectedPlainSize?: number;
}

/**
 * What a decrypting stream is fed. `whole`: the blob from its first byte to its end, header
 * included; the last chunk is the one the input ends with. `window`: exactly the sealed chunks
 * `firstChunk`..`lastChunk` of a blob whose header and layout are already known, of which only the
 * plaintext bytes `start`..`end` (inclusive, offsets in the whole file) are wanted.
 */
type DecryptInput =
  | { kind: 'whole'; expectedPlainSize: number | undefined }
  | { kind: 'window'; header: BlobHeader; plan: ChunkPlan; blobSize: number; start: number; end: number };

/**
 * Opens sealed chunks as their bytes arrive, pushing each plaintext only after its tag verified.
 * Truncation, extra bytes, reordering and any changed byte all fail as IntegrityError. Bytes
 * already pushed are authentic, but a consumer must still treat an error part-way as a failed read
 * (abort the response).
 */
class DecryptTransform extends Transform {
  readonly #key: Buffer;
  readonly #binding: BlobBinding;
  readonly #queue = new ByteQueue();
  #input: DecryptInput = { kind: 'whole', expectedPlainSize: undefined };
  #header: BlobHeader | undefined;
  #aad: Buffer | undefined;
  #index = 0;
  #plainSize = 0;

  constructor(dataKey: Buffer, binding: BlobBinding) {
    super({ readableHighWaterMark: 2 * DEFAULT_CHUNK_SIZE });
    checkDataKey(dataKey);
    this.#key = Buffer.from(dataKey);
    this.#binding = binding;
  }

  /** Set before the first byte is written. */
  expect(input: DecryptInput): void {
    this.#input = input;
    if (input.kind === 'window') {
      this.#useHeader(input.header);
      this.#index = input.plan.firstChunk;
    }
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const queue = this.#queue;
      queue.push(toBuffer(chunk));
      if (this.#header === undefined) {
        if (queue.length < HEADER_SIZE) return callback();
        this.#useHeader(parseHeader(queue.take(HEADER_SIZE)));
      }
      const input = this.#input;
      if (input.kind === 'whole') {
        // Strictly greater: a chunk followed by at least one more byte is known not to be the last.
        const sealedChunk = this.#header!.chunkSize + TAG_SIZE;
        while (queue.length > sealedChunk) this.#open(false, queue.take(sealedChunk));
      } else {
        // The layout is known, so each chunk, the last included, is opened as soon as it is all here.
        while (this.#index <= input.plan.lastChunk) {
          const length = this.#sealedLength(input, this.#index);
          if (queue.length < length) break;
          this.#open(this.#index === input.plan.chunkCount - 1, queue.take(length));
        }
        if (this.#index > input.plan.lastChunk && queue.length > 0) throw new IntegrityError('Encrypted blob read returned more bytes than asked for.');
      }
      callback();
    } catch (error) {
      callback(asIntegrityError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      const input = this.#input;
      if (input.kind === 'window') {
        if (this.#index <= input.plan.lastChunk) throw new IntegrityError('Encrypted blob is shorter than its recorded size.');
        return callback();
      }
      if (this.#header === undefined) throw new IntegrityError('Encrypted blob is shorter than its header.');
      const queue = this.#queue;
      if (queue.length < TAG_SIZE) throw new IntegrityError('Encrypted blob is truncated: it has no final chunk.');
      this.#open(true, queue.take(queue.length), input.expectedPlainSize);
      callback();
    } catch (error) {
      callback(asIntegrityError(error));
    }
  }

  #useHeader(header: BlobHeader): void {
    this.#header = header;
    this.#aad = chunkAad(header.bytes, this.#binding);
  }

  #sealedLength(input: DecryptInput & { kind: 'window' }, index: number): number {
    const r = encryptedChunkRange(index, input.header.chunkSize, input.blobSize);
    return r.end - r.start + 1;
  }

  /** Opens the next chunk; the final one of a whole blob is checked against the expected size before it is pushed. */
  #open(last: boolean, sealed: Buffer, expectedPlainSize?: number): void {
    const header = this.#header!;
    const index = this.#index++;
    const plain = openChunk(this.#key, header.noncePrefix, this.#aad!, index, last, sealed);
    this.#plainSize += plain.length;
    if (expectedPlainSize !== undefined && this.#plainSize !== expectedPlainSize) {
      throw new IntegrityError(`Encrypted blob holds ${this.#plainSize} bytes, expected ${expectedPlainSize}.`);
    }
    const input = this.#input;
    if (input.kind === 'whole') {
      if (plain.length > 0) this.push(plain);
      return;
    }
    const offset = index * header.chunkSize;
    const wanted = plain.subarray(Math.max(input.start - offset, 0), Math.min(input.end - offset + 1, plain.length));
    if (wanted.length > 0) this.push(wanted);
  }
}

const asIntegrityError = (error: unknown): Error =>
  error instanceof IntegrityError ? error : new IntegrityError('Encrypted blob could not be read.', { cause: error });

/**
 * A Transform from a whole blob to its plaintext. A sealed chunk is held back until either more
 * bytes arrive (so it is not the last) or the input ends (so it must carry the last flag).
 */
export function createDecryptStream(dataKey: Buffer, binding: BlobBinding, opts: DecryptOptions = {}): Transform {
  const decrypt = new DecryptTransform(dataKey, binding);
  decrypt.expect({ kind: 'whole', expectedPlainSize: opts.expectedPlainSize });
  return decrypt;
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
}

async function readExact(read: PlainRangeOptions['readEncrypted'], range: ByteRange): Promise<Buffer> {
  const source = await read(range);
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of Buffer.isBuffer(source) ? [source] : source) {
    const buffer = toBuffer(part);
    parts.push(buffer);
    length += buffer.length;
  }
  const expected = range.end - range.start + 1;
  if (length !== expected) throw new IntegrityError(`Encrypted blob read returned ${length} bytes, expected ${expected}.`);
  return Buffer.concat(parts, length);
}

/**
 * Streams a plaintext range, decrypting and verifying only the chunks that cover it: the header is
 * read first, then the sealed bytes of exactly those chunks in one read of the store, through the
 * same Transform as a whole blob. Also checks the last flag of the final chunk when the range
 * reaches it. Errors (IntegrityError for bad bytes, DomainError INVALID for an unsatisfiable
 * range, or the store's own errors) are emitted on the stream.
 */
export function readPlainRange(opts: PlainRangeOptions): Readable {
  const decrypt = new DecryptTransform(opts.dataKey, opts.binding);
  const feed = async (): Promise<void> => {
    if (opts.encryptedSize < HEADER_SIZE + TAG_SIZE) throw new IntegrityError('Encrypted blob is too short to hold any chunk.');
    const header = parseHeader(await readExact(opts.readEncrypted, { start: 0, end: HEADER_SIZE - 1 }));
    const plan = chunkPlan(opts.range, header.chunkSize, opts.encryptedSize);
    if (opts.expectedPlainSize !== undefined && plan.plainSize !== opts.expectedPlainSize) {
      throw new IntegrityError(`Encrypted blob holds ${plan.plainSize} bytes, expected ${opts.expectedPlainSize}.`);
    }
    decrypt.expect({ kind: 'window', header, plan, blobSize: opts.encryptedSize, start: opts.range.start, end: Math.min(opts.range.end, plan.plainSize - 1) });
    if (decrypt.destroyed) return;
    const sealed = await opts.readEncrypted(plan.encryptedRange);
    if (Buffer.isBuffer(sealed)) {
      if (!decrypt.destroyed) decrypt.end(sealed);
      return;
    }
    // pipeline, not pipe: a read error reaches the consumer, and a consumer that stops early closes the read.
    pipelineCallback(sealed, decrypt, () => undefined);
  };
  feed().catch((error: unknown) => decrypt.destroy(error instanceof Error ? error : new Error(String(error))));
  return decrypt;
}

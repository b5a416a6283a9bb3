// The blob format (blob-format.ts) as streams: encryptChunks and createEncryptStream seal plaintext
// as it arrives, createDecryptStream opens a whole blob as it arrives (openSealedBlob one already in
// memory), and readPlainRange decrypts only the chunks that cover a plaintext range.
import { createHash, randomBytes } from 'node:crypto';
import { pipeline as pipelineCallback, type Readable, Transform, type TransformCallback } from 'node:stream';
import type { BlobBinding, ByteRange } from '../domain/ports.js';
import { IntegrityError } from '../domain/errors.js';
import {
  type BlobHeader,
  type ChunkPlan,
  DEFAULT_CHUNK_SIZE,
  HEADER_SIZE,
  MAX_CHUNKS,
  NONCE_PREFIX_SIZE,
  TAG_SIZE,
  buildHeader,
  checkChunkSize,
  checkDataKey,
  chunkAad,
  chunkPlan,
  encryptedChunkRange,
  openChunk,
  parseHeader,
  sealChunk,
} from './blob-format.js';

export interface EncryptOptions {
  /** Plaintext bytes per chunk (default 64 KiB). Larger chunks mean fewer tags but coarser range reads. */
  chunkSize?: number;
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
 * Opens sealed chunks as their bytes arrive, handing on each plaintext only after its tag verified:
 * the decrypting half shared by the stream below and the in-memory read of a small blob (as
 * ChunkSealer is the encrypting half). Truncation, extra bytes, reordering and any changed byte all
 * fail as IntegrityError.
 */
class ChunkOpener {
  readonly #key: Buffer;
  readonly #binding: BlobBinding;
  readonly #queue = new ByteQueue();
  #input: DecryptInput = { kind: 'whole', expectedPlainSize: undefined };
  #header: BlobHeader | undefined;
  #aad: Buffer | undefined;
  #index = 0;
  #plainSize = 0;

  constructor(dataKey: Buffer, binding: BlobBinding) {
    checkDataKey(dataKey);
    this.#key = Buffer.from(dataKey);
    this.#binding = binding;
  }

  /** Set before the first byte is added. */
  expect(input: DecryptInput): void {
    this.#input = input;
    if (input.kind === 'window') {
      this.#useHeader(input.header);
      this.#index = input.plan.firstChunk;
    }
  }

  /** Opens every chunk that `bytes` completes, appending its plaintext (the wanted part of it) to `out`. */
  add(bytes: Buffer, out: Buffer[]): void {
    const queue = this.#queue;
    queue.push(bytes);
    if (this.#header === undefined) {
      if (queue.length < HEADER_SIZE) return;
      this.#useHeader(parseHeader(queue.take(HEADER_SIZE)));
    }
    const input = this.#input;
    if (input.kind === 'whole') {
      // Strictly greater: a chunk followed by at least one more byte is known not to be the last.
      const sealedChunk = this.#header!.chunkSize + TAG_SIZE;
      while (queue.length > sealedChunk) this.#open(false, queue.take(sealedChunk), out);
      return;
    }
    // The layout is known, so each chunk, the last included, is opened as soon as it is all here.
    while (this.#index <= input.plan.lastChunk) {
      const length = this.#sealedLength(input, this.#index);
      if (queue.length < length) break;
      this.#open(this.#index === input.plan.chunkCount - 1, queue.take(length), out);
    }
    if (this.#index > input.plan.lastChunk && queue.length > 0) throw new IntegrityError('Encrypted blob read returned more bytes than asked for.');
  }

  /** The input has ended: opens what is left as the final chunk, or fails if the blob is short. */
  finish(out: Buffer[]): void {
    const input = this.#input;
    if (input.kind === 'window') {
      if (this.#index <= input.plan.lastChunk) throw new IntegrityError('Encrypted blob is shorter than its recorded size.');
      return;
    }
    if (this.#header === undefined) throw new IntegrityError('Encrypted blob is shorter than its header.');
    const queue = this.#queue;
    if (queue.length < TAG_SIZE) throw new IntegrityError('Encrypted blob is truncated: it has no final chunk.');
    this.#open(true, queue.take(queue.length), out, input.expectedPlainSize);
  }

  #useHeader(header: BlobHeader): void {
    this.#header = header;
    this.#aad = chunkAad(header.bytes, this.#binding);
  }

  #sealedLength(input: DecryptInput & { kind: 'window' }, index: number): number {
    const r = encryptedChunkRange(index, input.header.chunkSize, input.blobSize);
    return r.end - r.start + 1;
  }

  /** Opens the next chunk; the final one of a whole blob is checked against the expected size before it is handed on. */
  #open(last: boolean, sealed: Buffer, out: Buffer[], expectedPlainSize?: number): void {
    const header = this.#header!;
    const index = this.#index++;
    const plain = openChunk(this.#key, header.noncePrefix, this.#aad!, index, last, sealed);
    this.#plainSize += plain.length;
    if (expectedPlainSize !== undefined && this.#plainSize !== expectedPlainSize) {
      throw new IntegrityError(`Encrypted blob holds ${this.#plainSize} bytes, expected ${expectedPlainSize}.`);
    }
    const input = this.#input;
    if (input.kind === 'whole') {
      if (plain.length > 0) out.push(plain);
      return;
    }
    const offset = index * header.chunkSize;
    const wanted = plain.subarray(Math.max(input.start - offset, 0), Math.min(input.end - offset + 1, plain.length));
    if (wanted.length > 0) out.push(wanted);
  }
}

/**
 * A ChunkOpener as a Transform. Bytes already pushed are authentic, but a consumer must still treat
 * an error part-way as a failed read (abort the response).
 */
class DecryptTransform extends Transform {
  readonly #opener: ChunkOpener;
  readonly #out: Buffer[] = [];

  constructor(dataKey: Buffer, binding: BlobBinding) {
    super({ readableHighWaterMark: 2 * DEFAULT_CHUNK_SIZE });
    this.#opener = new ChunkOpener(dataKey, binding);
  }

  /** Set before the first byte is written. */
  expect(input: DecryptInput): void {
    this.#opener.expect(input);
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#handOn((out) => this.#opener.add(toBuffer(chunk), out), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#handOn((out) => this.#opener.finish(out), callback);
  }

  /** Pushes what the opener verified, even when it failed after some chunks (those are authentic). */
  #handOn(step: (out: Buffer[]) => void, callback: TransformCallback): void {
    const out = this.#out;
    let failure: Error | undefined;
    try {
      step(out);
    } catch (error) {
      failure = asIntegrityError(error);
    }
    for (let i = 0; i < out.length; i++) this.push(out[i]);
    out.length = 0;
    callback(failure);
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

/**
 * The plaintext of a whole blob already in memory, verified to its last chunk before it is returned:
 * for a small file, which is then sent from one buffer. The same checks as createDecryptStream.
 */
export function openSealedBlob(dataKey: Buffer, binding: BlobBinding, sealed: Buffer, opts: DecryptOptions = {}): Buffer {
  const opener = new ChunkOpener(dataKey, binding);
  opener.expect({ kind: 'whole', expectedPlainSize: opts.expectedPlainSize });
  const out: Buffer[] = [];
  try {
    opener.add(sealed, out);
    opener.finish(out);
  } catch (error) {
    throw asIntegrityError(error);
  }
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}

/**
 * A stored blob's bytes passed on unchanged, each sealed chunk opened as it goes by and the plaintext
 * hashed, for a copy that must be the version and not merely what a store handed over (the offsite
 * replica's). The generator fails, with an IntegrityError, before it ends when a chunk does not
 * authenticate, the blob is short or long, or the plaintext's SHA-256 is not `expectedSha256`; a store
 * writing from it therefore never completes a copy of damage (both stores complete a put only once
 * their source ends cleanly). Memory: one sealed chunk and its plaintext, whatever the blob's size.
 */
export async function* checkedAsItPasses(
  source: AsyncIterable<unknown>, dataKey: Buffer, binding: BlobBinding, expected: { plainSize: number; sha256: string },
): AsyncGenerator<Buffer> {
  const opener = new ChunkOpener(dataKey, binding);
  opener.expect({ kind: 'whole', expectedPlainSize: expected.plainSize });
  const hash = createHash('sha256');
  const out: Buffer[] = [];
  const hashOut = (): void => {
    for (const plain of out) hash.update(plain);
    out.length = 0;
  };
  for await (const chunk of source) {
    const bytes = toBuffer(chunk);
    try {
      opener.add(bytes, out);
    } catch (error) {
      throw asIntegrityError(error);
    }
    hashOut();
    yield bytes;
  }
  try {
    opener.finish(out);
  } catch (error) {
    throw asIntegrityError(error);
  }
  hashOut();
  if (hash.digest('hex') !== expected.sha256) throw new IntegrityError('Encrypted blob decrypts, but not to the content its version records (its SHA-256 differs).');
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

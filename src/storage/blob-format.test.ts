// The chunked AEAD blob format: round trips, range reads, and every way of damaging or moving a blob.
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { BlobBinding, ByteRange } from '../domain/ports.js';
import { DomainError, IntegrityError } from '../domain/errors.js';
import { DEFAULT_CHUNK_SIZE, HEADER_SIZE, TAG_SIZE, chunkPlan, encryptedSize, plainSizeOf } from './blob-format.js';
import { createDecryptStream, createEncryptStream, encryptChunks, openSealedBlob, readPlainRange } from './blob-crypto-streams.js';

const binding: BlobBinding = { organisationId: 'org-1', documentId: 'doc-1', versionId: 'ver-1', keyId: 'key-1' };

async function encrypt(plain: Buffer, key: Buffer, chunkSize?: number, pieces?: number[], bind = binding): Promise<Buffer> {
  const parts: Buffer[] = [];
  const source = Readable.from(split(plain, pieces), { objectMode: false });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  await pipeline(source, createEncryptStream(key, bind, chunkSize === undefined ? {} : { chunkSize }), sink);
  return Buffer.concat(parts);
}

/** Splits into pieces of the given sizes (cycled), to exercise chunk assembly across writes. */
function split(buffer: Buffer, pieces?: number[]): Buffer[] {
  if (pieces === undefined || buffer.length === 0) return buffer.length === 0 ? [] : [buffer];
  const out: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < buffer.length; i++) {
    const n = pieces[i % pieces.length]!;
    out.push(buffer.subarray(offset, offset + n));
    offset += n;
  }
  return out;
}

/**
 * Decrypts a whole blob, returning what was emitted and the error, if any. Every blob is also opened
 * in memory (openSealedBlob, a small download's way), which must agree: the same plaintext, or an
 * error of the same kind and no plaintext at all.
 */
async function decrypt(blob: Buffer, key: Buffer, bind = binding, pieces?: number[], expectedPlainSize?: number) {
  const emitted: Buffer[] = [];
  let error: unknown;
  const opts = expectedPlainSize === undefined ? {} : { expectedPlainSize };
  try {
    await pipeline(
      Readable.from(split(blob, pieces), { objectMode: false }),
      createDecryptStream(key, bind, opts),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          emitted.push(chunk);
          cb();
        },
      }),
    );
  } catch (e) {
    error = e;
  }
  const out = Buffer.concat(emitted);
  if (error === undefined) expect(openSealedBlob(key, bind, blob, opts).equals(out)).toBe(true);
  else expect(() => openSealedBlob(key, bind, blob, opts)).toThrow((error as Error).constructor as new () => Error);
  return { out, error };
}

/** A damaged blob must fail with IntegrityError having emitted only authentic leading plaintext. */
async function expectRejected(blob: Buffer, key: Buffer, plain: Buffer, maxEmitted: number, bind = binding): Promise<void> {
  for (const pieces of [undefined, [1000], [7, 1, 300]]) {
    const { out, error } = await decrypt(blob, key, bind, pieces);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(out.length).toBeLessThanOrEqual(maxEmitted);
    expect(out.equals(plain.subarray(0, out.length))).toBe(true);
  }
}

function readerOver(blob: Buffer, asStream: boolean) {
  return async (range: ByteRange): Promise<Readable | Buffer> => {
    const bytes = blob.subarray(range.start, range.end + 1);
    // Uneven pieces so chunk reassembly inside a batch is exercised.
    return asStream ? Readable.from(split(bytes, [333, 1, 4096]), { objectMode: false }) : bytes;
  };
}

async function collect(stream: Readable): Promise<{ out: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const part of stream) parts.push(part as Buffer);
    return { out: Buffer.concat(parts), error: undefined };
  } catch (error) {
    return { out: Buffer.concat(parts), error };
  }
}

async function rangeOf(blob: Buffer, key: Buffer, range: ByteRange, opts: { bind?: BlobBinding; asStream?: boolean; size?: number } = {}) {
  return collect(
    readPlainRange({
      dataKey: key,
      binding: opts.bind ?? binding,
      encryptedSize: opts.size ?? blob.length,
      readEncrypted: readerOver(blob, opts.asStream ?? false),
      range,
    }),
  );
}

const CS = 256; // small chunks keep the boundary tests fast and exhaustive
const sealed = CS + TAG_SIZE;
const chunkStart = (i: number): number => HEADER_SIZE + i * sealed;

describe('blob format: sizes', () => {
  it('encryptedSize and plainSizeOf agree with what the encryptor writes', async () => {
    const key = randomBytes(32);
    for (const cs of [1, 16, 100]) {
      for (let size = 0; size <= 3 * cs + 2; size++) {
        const blob = await encrypt(randomBytes(size), key, cs);
        expect(blob.length).toBe(encryptedSize(size, cs));
        expect(plainSizeOf(blob.length, cs)).toBe(size);
      }
    }
    expect(encryptedSize(0)).toBe(HEADER_SIZE + TAG_SIZE);
    expect(encryptedSize(DEFAULT_CHUNK_SIZE)).toBe(HEADER_SIZE + DEFAULT_CHUNK_SIZE + TAG_SIZE);
    expect(encryptedSize(DEFAULT_CHUNK_SIZE + 1)).toBe(HEADER_SIZE + DEFAULT_CHUNK_SIZE + 1 + 2 * TAG_SIZE);
  });

  it('plainSizeOf rejects sizes no blob can have', () => {
    expect(() => plainSizeOf(HEADER_SIZE + TAG_SIZE - 1, 16)).toThrow(IntegrityError);
    // Two full chunks then a bare tag: the encryptor never writes an empty chunk after data.
    expect(() => plainSizeOf(HEADER_SIZE + 2 * (16 + TAG_SIZE) + TAG_SIZE, 16)).toThrow(IntegrityError);
    expect(() => plainSizeOf(HEADER_SIZE + 2 * (16 + TAG_SIZE) + 5, 16)).toThrow(IntegrityError);
  });

  it('chunkPlan maps plaintext ranges to chunks and sealed bytes', () => {
    const size = encryptedSize(10 * CS + 5, CS);
    expect(chunkPlan({ start: 0, end: 0 }, CS, size)).toMatchObject({ firstChunk: 0, lastChunk: 0, chunkCount: 11, encryptedRange: { start: HEADER_SIZE, end: HEADER_SIZE + sealed - 1 } });
    expect(chunkPlan({ start: CS - 1, end: CS }, CS, size)).toMatchObject({ firstChunk: 0, lastChunk: 1 });
    expect(chunkPlan({ start: 10 * CS, end: 1e12 }, CS, size)).toMatchObject({ firstChunk: 10, lastChunk: 10, encryptedRange: { start: chunkStart(10), end: size - 1 } });
    expect(() => chunkPlan({ start: 10 * CS + 5, end: 10 * CS + 5 }, CS, size)).toThrow(DomainError);
    expect(() => chunkPlan({ start: 5, end: 4 }, CS, size)).toThrow(DomainError);
    expect(() => chunkPlan({ start: 0, end: 0 }, CS, encryptedSize(0, CS))).toThrow(DomainError);
  });
});

describe('blob format: round trips', () => {
  const key = randomBytes(32);

  it.each([0, 1, CS - 1, CS, CS + 1, 2 * CS, 7 * CS + 3])('small chunks: %i bytes', async (size) => {
    const plain = randomBytes(size);
    for (const pieces of [undefined, [1], [CS + 1], [3, 1000, 17]]) {
      const blob = await encrypt(plain, key, CS, pieces);
      expect(blob.length).toBe(encryptedSize(size, CS));
      for (const readPieces of [undefined, [1], [sealed], [sealed + 1, 5]]) {
        const { out, error } = await decrypt(blob, key, binding, readPieces, size);
        expect(error).toBeUndefined();
        expect(out.equals(plain)).toBe(true);
      }
    }
  });

  it.each([0, 1, DEFAULT_CHUNK_SIZE - 1, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE + 1, 5 * 1024 * 1024 + 123])(
    'default chunks: %i bytes',
    async (size) => {
      const plain = randomBytes(size);
      const blob = await encrypt(plain, key, undefined, [100_000, 65_536, 1]);
      expect(blob.length).toBe(encryptedSize(size));
      const { out, error } = await decrypt(blob, key, binding, [1 << 20]);
      expect(error).toBeUndefined();
      expect(out.equals(plain)).toBe(true);
    },
  );

  it('uses a fresh nonce prefix per blob, so equal plaintexts give different blobs', async () => {
    const plain = randomBytes(100);
    expect((await encrypt(plain, key, CS)).equals(await encrypt(plain, key, CS))).toBe(false);
  });

  it('rejects a wrong-sized data key or chunk size up front', () => {
    expect(() => createEncryptStream(randomBytes(16), binding)).toThrow(RangeError);
    expect(() => createEncryptStream(key, binding, { chunkSize: 0 })).toThrow(RangeError);
    expect(() => createDecryptStream(randomBytes(31), binding)).toThrow(RangeError);
  });

  it('a decrypt stream with a wrong expected size fails', async () => {
    const plain = randomBytes(600);
    const blob = await encrypt(plain, key, CS);
    const { error } = await decrypt(blob, key, binding, undefined, 601);
    expect(error).toBeInstanceOf(IntegrityError);
  });
});

describe('blob format: encryptChunks', () => {
  const key = randomBytes(32);
  async function* each(buffers: Buffer[]): AsyncGenerator<Buffer> {
    yield* buffers;
  }
  async function all(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for await (const piece of source) out.push(piece);
    return out;
  }

  it('yields the header, then each chunk\'s ciphertext and tag as separate buffers, which decrypt to the source', async () => {
    const plain = randomBytes(3 * CS + 10);
    const pieces = await all(encryptChunks(each(split(plain, [100, 7, 300])), key, binding, { chunkSize: CS }));
    expect(pieces.map((p) => p.length)).toEqual([HEADER_SIZE, CS, TAG_SIZE, CS, TAG_SIZE, CS, TAG_SIZE, 10, TAG_SIZE]);
    const { out, error } = await decrypt(Buffer.concat(pieces), key, binding, undefined, plain.length);
    expect(error).toBeUndefined();
    expect(out.equals(plain)).toBe(true);
  });

  it('seals an empty source as a header and one empty final chunk', async () => {
    const pieces = await all(encryptChunks(each([]), key, binding, { chunkSize: CS }));
    expect(pieces.map((p) => p.length)).toEqual([HEADER_SIZE, TAG_SIZE]);
    expect((await decrypt(Buffer.concat(pieces), key, binding, undefined, 0)).error).toBeUndefined();
  });

  it('ends with the source\'s error, and a consumer that stops early stops the source', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(2 * CS);
      throw new Error('the body was cut off');
    }
    await expect(all(encryptChunks(failing(), key, binding, { chunkSize: CS }))).rejects.toThrow('the body was cut off');
    let stopped = false;
    async function* endless(): AsyncGenerator<Buffer> {
      try {
        for (;;) yield randomBytes(CS);
      } finally {
        stopped = true;
      }
    }
    for await (const piece of encryptChunks(endless(), key, binding, { chunkSize: CS })) if (piece.length === CS) break;
    expect(stopped).toBe(true);
  });

  it('refuses a wrong-sized data key or chunk size before reading anything', () => {
    expect(() => encryptChunks(each([]), randomBytes(16), binding)).toThrow(RangeError);
    expect(() => encryptChunks(each([]), key, binding, { chunkSize: 0 })).toThrow(RangeError);
  });
});

describe('blob format: range reads', () => {
  const key = randomBytes(32);
  const plain = randomBytes(9 * CS + 77);
  let blob: Buffer;

  it('match slices of the plaintext at and around every chunk boundary', async () => {
    blob = await encrypt(plain, key, CS);
    const points = new Set<number>();
    for (let i = 0; i <= 10; i++) {
      for (const d of [-1, 0, 1]) {
        const p = i * CS + d;
        if (p >= 0 && p < plain.length) points.add(p);
      }
    }
    points.add(plain.length - 1);
    const sorted = [...points].sort((a, b) => a - b);
    let checked = 0;
    for (const start of sorted) {
      for (const end of sorted) {
        if (end < start) continue;
        const asStream = checked % 2 === 0;
        const { out, error } = await rangeOf(blob, key, { start, end }, { asStream });
        expect(error).toBeUndefined();
        expect(out.equals(plain.subarray(start, end + 1))).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(400);
  });

  it('clamps an end past the last byte and reads the whole file', async () => {
    const { out, error } = await rangeOf(blob, key, { start: 0, end: Number.MAX_SAFE_INTEGER });
    expect(error).toBeUndefined();
    expect(out.equals(plain)).toBe(true);
  });

  it('rejects an unsatisfiable range as INVALID', async () => {
    const { error } = await rangeOf(blob, key, { start: plain.length, end: plain.length + 10 });
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('INVALID');
  });

  it('fetches the header, then exactly the chunks it needs in one read', async () => {
    const reads: ByteRange[] = [];
    const stream = readPlainRange({
      dataKey: key,
      binding,
      encryptedSize: blob.length,
      readEncrypted: async (range) => {
        reads.push(range);
        return blob.subarray(range.start, range.end + 1);
      },
      range: { start: 3 * CS + 5, end: 8 * CS },
    });
    const { out } = await collect(stream);
    expect(out.equals(plain.subarray(3 * CS + 5, 8 * CS + 1))).toBe(true);
    expect(reads).toEqual([
      { start: 0, end: HEADER_SIZE - 1 },
      { start: chunkStart(3), end: chunkStart(9) - 1 },
    ]);
  });

  it('fails on damage inside the range, and on a wrong binding or key', async () => {
    const damaged = Buffer.from(blob);
    damaged[chunkStart(4) + 10]! ^= 1;
    expect((await rangeOf(damaged, key, { start: 4 * CS, end: 4 * CS })).error).toBeInstanceOf(IntegrityError);
    // Damage outside the range is not read, and what is read is authentic.
    const outside = await rangeOf(damaged, key, { start: 0, end: CS - 1 });
    expect(outside.out.equals(plain.subarray(0, CS))).toBe(true);
    expect((await rangeOf(blob, key, { start: 0, end: 5 }, { bind: { ...binding, versionId: 'ver-2' } })).error).toBeInstanceOf(IntegrityError);
    expect((await rangeOf(blob, randomBytes(32), { start: 0, end: 5 })).error).toBeInstanceOf(IntegrityError);
  });

  it('checks the last flag: a blob cut at a chunk boundary fails where the new end is read', async () => {
    const cut = blob.subarray(0, chunkStart(5));
    const { error, out } = await rangeOf(cut, key, { start: 4 * CS, end: 5 * CS - 1 });
    expect(error).toBeInstanceOf(IntegrityError);
    expect(out.length).toBe(0);
  });

  it('fails when the store returns fewer or more bytes than the recorded size', async () => {
    expect((await rangeOf(blob.subarray(0, blob.length - 3), key, { start: 0, end: plain.length - 1 }, { size: blob.length })).error).toBeInstanceOf(IntegrityError);
    const longer = Buffer.concat([blob, Buffer.alloc(5)]);
    const extra = readPlainRange({
      dataKey: key,
      binding,
      encryptedSize: blob.length,
      readEncrypted: async (range) => longer.subarray(range.start, range.end + 6),
      range: { start: 0, end: 10 },
    });
    expect((await collect(extra)).error).toBeInstanceOf(IntegrityError);
  });

  it('fails when the recorded plaintext size does not match the blob', async () => {
    const stream = readPlainRange({
      dataKey: key,
      binding,
      encryptedSize: blob.length,
      readEncrypted: readerOver(blob, false),
      range: { start: 0, end: 10 },
      expectedPlainSize: plain.length + 1,
    });
    expect((await collect(stream)).error).toBeInstanceOf(IntegrityError);
  });
});

describe('blob format: tampering', () => {
  const key = randomBytes(32);
  const cs = 64;
  const plain = randomBytes(3 * cs + 8); // four chunks, the last one short
  const sealedCs = cs + TAG_SIZE;
  const start = (i: number): number => HEADER_SIZE + i * sealedCs;
  let blob: Buffer;

  it('every single flipped bit, anywhere in header, ciphertext or tag, is rejected', async () => {
    blob = await encrypt(plain, key, cs);
    for (let at = 0; at < blob.length; at++) {
      const damaged = Buffer.from(blob);
      damaged[at]! ^= 1 << at % 8;
      // Plaintext of chunks before the damaged one is authentic; nothing of the damaged one may leak.
      const chunk = at < HEADER_SIZE ? 0 : Math.floor((at - HEADER_SIZE) / sealedCs);
      await expectRejected(damaged, key, plain, chunk * cs);
      if (at < HEADER_SIZE) expect((await decrypt(damaged, key)).out.length).toBe(0);
    }
  });

  it('every truncation, at chunk boundaries, mid-chunk and inside the header, is rejected', async () => {
    for (let length = 0; length < blob.length; length++) {
      // Chunks wholly present before the cut are authentic and may be emitted, except one ending
      // exactly at the cut: it is held back as possibly last, and then fails its last-flag check.
      const body = Math.max(0, length - HEADER_SIZE);
      const whole = Math.floor(body / sealedCs);
      const emittable = body % sealedCs === 0 ? Math.max(0, whole - 1) : whole;
      await expectRejected(blob.subarray(0, length), key, plain, emittable * cs);
    }
  });

  it('extra bytes after the final chunk are rejected', async () => {
    for (const extra of [Buffer.alloc(1), randomBytes(TAG_SIZE), blob.subarray(start(3))]) {
      await expectRejected(Buffer.concat([blob, extra]), key, plain, 3 * cs);
    }
  });

  it('swapped, reordered, duplicated and dropped chunks are rejected', async () => {
    const chunks = [0, 1, 2, 3].map((i) => blob.subarray(start(i), i === 3 ? blob.length : start(i + 1)));
    const header = blob.subarray(0, HEADER_SIZE);
    const build = (order: number[]): Buffer => Buffer.concat([header, ...order.map((i) => chunks[i]!)]);
    await expectRejected(build([1, 0, 2, 3]), key, plain, 0);
    await expectRejected(build([0, 2, 1, 3]), key, plain, cs);
    await expectRejected(build([0, 1, 3, 2]), key, plain, 2 * cs);
    await expectRejected(build([0, 0, 1, 2, 3]), key, plain, cs);
    await expectRejected(build([0, 2, 3]), key, plain, cs);
    await expectRejected(build([0, 1, 2]), key, plain, 2 * cs); // drops the real last chunk
  });

  it('chunks spliced in from another blob under the same key are rejected', async () => {
    const other = await encrypt(randomBytes(plain.length), key, cs);
    const spliced = Buffer.concat([blob.subarray(0, start(1)), other.subarray(start(1), start(2)), blob.subarray(start(2))]);
    await expectRejected(spliced, key, plain, cs);
  });

  it('a blob moved to another organisation, document, version or key id is rejected', async () => {
    const moved: BlobBinding[] = [
      { ...binding, organisationId: 'org-2' },
      { ...binding, documentId: 'doc-2' },
      { ...binding, versionId: 'ver-2' },
      { ...binding, keyId: 'key-2' },
    ];
    for (const bind of moved) await expectRejected(blob, key, plain, 0, bind);
  });

  it('binding fields cannot be shifted into one another', async () => {
    const a: BlobBinding = { organisationId: 'ab', documentId: 'c', versionId: 'v', keyId: 'k' };
    const b: BlobBinding = { organisationId: 'a', documentId: 'bc', versionId: 'v', keyId: 'k' };
    const sealedForA = await encrypt(plain, key, cs, undefined, a);
    expect((await decrypt(sealedForA, key, a)).error).toBeUndefined();
    await expectRejected(sealedForA, key, plain, 0, b);
  });

  it('a wrong data key is rejected', async () => {
    await expectRejected(blob, randomBytes(32), plain, 0);
  });

  it('an empty file still has a sealed final chunk, so a bare header is rejected', async () => {
    const empty = await encrypt(Buffer.alloc(0), key, cs);
    expect(empty.length).toBe(HEADER_SIZE + TAG_SIZE);
    expect((await decrypt(empty, key)).error).toBeUndefined();
    await expectRejected(empty.subarray(0, HEADER_SIZE), key, Buffer.alloc(0), 0);
  });

  it('a forged header with a huge chunk size is rejected without allocating it', async () => {
    const forged = Buffer.from(blob);
    forged.writeUInt32BE(0xffffffff, 7);
    await expectRejected(forged, key, plain, 0);
  });
});

describe('blob format: memory', () => {
  it('encrypting and decrypting a 64 MiB stream keeps memory flat', async () => {
    const gc = exposeGc();
    const key = randomBytes(32);
    const piece = randomBytes(64 * 1024);
    const total = 64 * 1024 * 1024;
    async function* source(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < total; sent += piece.length) yield piece;
    }
    gc();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakArrayBuffers = before.arrayBuffers;
    let received = 0;
    let chunks = 0;
    await pipeline(
      source(),
      createEncryptStream(key, binding),
      createDecryptStream(key, binding, { expectedPlainSize: total }),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          received += chunk.length;
          if (++chunks % 64 === 0) {
            // Collect first, so the peak measures what the streams hold rather than how lazily
            // V8 frees 64 KiB buffers that are already garbage.
            gc();
            const now = process.memoryUsage();
            peakRss = Math.max(peakRss, now.rss);
            peakArrayBuffers = Math.max(peakArrayBuffers, now.arrayBuffers);
          }
          cb();
        },
      }),
    );
    gc();
    const after = process.memoryUsage();
    expect(received).toBe(total);
    const mb = 1024 * 1024;
    // A leak guard, not a benchmark: buffering the stream would add 64 MiB or more.
    expect((peakRss - before.rss) / mb).toBeLessThan(48);
    expect((peakArrayBuffers - before.arrayBuffers) / mb).toBeLessThan(48);
    expect((after.rss - before.rss) / mb).toBeLessThan(48);
    expect((after.arrayBuffers - before.arrayBuffers) / mb).toBeLessThan(8);
  });
});

function exposeGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

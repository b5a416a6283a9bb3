// Encrypted blobs for document versions: a fresh data key per version (from the KeyRing), the
// chunked AEAD format (blob-format.ts) and a raw BlobStore, put together for writing and reading.
import { pipeline as pipelineCallback, type Readable } from 'node:stream';
import type { BlobBinding, BlobStore, ByteRange, EncryptedBlobs as EncryptedBlobsPort, EncryptedVersionRef, KeyRing, WrittenBlob } from '../domain/ports.js';
import { IntegrityError } from '../domain/errors.js';
import { DEFAULT_CHUNK_SIZE, HEADER_SIZE, TAG_SIZE, encryptedSize, plainSizeOf } from './blob-format.js';
import { checkedAsItPasses, createDecryptStream, encryptChunks, openSealedBlob, readPlainRange } from './blob-crypto-streams.js';
import { guardEarlyErrors } from './blob-streams.js';

export type { EncryptedVersionRef, WrittenBlob } from '../domain/ports.js';

/**
 * A version of at most this many bytes is sent from memory (`content`): one sealed chunk under the
 * default chunk size, whose blob (at most 64 KiB) a local folder reads in one synchronous call. Its
 * answer then costs no stream at all (a pipeline, a decrypting Transform and the socket's pipe were
 * about a tenth of a small download's CPU: docs/performance.md).
 */
export const IN_MEMORY_CONTENT_BYTES = 64 * 1024 - HEADER_SIZE - TAG_SIZE;

export interface EncryptedBlobsOptions {
  keys: KeyRing;
  store: BlobStore;
  /** Plaintext bytes per chunk for new blobs (default 64 KiB); readers take it from each blob's header. */
  chunkSize?: number;
}

export class EncryptedBlobs implements EncryptedBlobsPort {
  readonly #keys: KeyRing;
  readonly #store: BlobStore;
  readonly #chunkSize: number;

  constructor(options: EncryptedBlobsOptions) {
    this.#keys = options.keys;
    this.#store = options.store;
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /**
   * Encrypts a plaintext stream into a new durable blob. The caller tees the plaintext for hashing
   * and scanning; this only consumes it once. Records nothing: the caller commits the returned
   * facts with the version, and an uncommitted blob is an orphan for garbage collection.
   *
   * The store pulls sealed chunks straight from the plaintext source (encryptChunks), with no
   * stream between them: an error of the source fails the put with that error, and a failure of the
   * store (disk full…) stops reading the source.
   */
  async write(target: Omit<BlobBinding, 'keyId'>, plaintext: Readable | AsyncIterable<Uint8Array>): Promise<WrittenBlob> {
    // Nothing reads the source until the key is made and the store opens its file; an error it
    // emits meanwhile must not crash the process (the first read sees it).
    const unguard = guardEarlyErrors(plaintext);
    try {
      const { dataKey, wrappedKey, keyId } = await this.#keys.newDataKey(target.organisationId, target);
      const blob = await this.#store.put(encryptChunks(plaintext, dataKey, { ...target, keyId }, { chunkSize: this.#chunkSize }));
      return { blobId: blob.id, wrappedKey, keyId, encryptedSize: blob.size, plainSize: plainSizeOf(blob.size, this.#chunkSize) };
    } finally {
      unguard();
    }
  }

  /** Removes a blob (an upload that was refused, or a destroyed version). Idempotent. */
  async delete(blobId: string): Promise<void> {
    await this.#store.delete(blobId);
  }

  /**
   * The plaintext of a version, whole or an inclusive range of it (the same decrypting Transform
   * either way; a range reads the header, then exactly the chunks it covers). Authentication failures are
   * emitted as IntegrityError on the stream; a missing blob rejects with NOT_FOUND before any byte.
   */
  async openRange(version: EncryptedVersionRef, range?: ByteRange): Promise<Readable> {
    const binding = bindingOf(version);
    const dataKey = await this.#keys.openDataKey(binding, version.wrappedKey);
    if (range === undefined) {
      const raw = await this.#store.get(version.blobId);
      const decrypt = createDecryptStream(dataKey, binding, { expectedPlainSize: version.size });
      // pipeline, not pipe: a read error or an early destroy by the consumer tears down both ends.
      return pipelineCallback(raw, decrypt, () => undefined);
    }
    const encryptedSize = await this.#store.size(version.blobId);
    return readPlainRange({
      dataKey,
      binding,
      encryptedSize,
      expectedPlainSize: version.size,
      range,
      readEncrypted: (wanted) => this.#store.get(version.blobId, wanted),
    });
  }

  async content(version: EncryptedVersionRef, range?: ByteRange): Promise<Buffer | Readable> {
    // A size no file has (a row changed in the database) is damage, as a size that does not match is.
    if (!Number.isSafeInteger(version.size) || version.size < 0) throw new IntegrityError(`The version record's size (${version.size}) is not one a file can have.`);
    if (version.size > IN_MEMORY_CONTENT_BYTES) return this.openRange(version, range);
    const binding = bindingOf(version);
    const dataKey = await this.#keys.openDataKey(binding, version.wrappedKey);
    // Any chunk size the format allows could have written it (a blob keeps the one it was written
    // with), so the bound is the longest blob of this plaintext size: with one-byte chunks, about
    // 17 times it (at most 1.1 MB). A record that understates a blob's size has no more than that read.
    const sealed = await this.#store.readSmall(version.blobId, encryptedSize(version.size, 1));
    const plain = openSealedBlob(dataKey, binding, sealed, { expectedPlainSize: version.size });
    return range === undefined ? plain : plain.subarray(range.start, range.end + 1);
  }

  async copyTo(version: EncryptedVersionRef, sha256: string, target: BlobStore, options: { newId?: boolean } = {}): Promise<{ id: string; size: number }> {
    const binding = bindingOf(version);
    const dataKey = await this.#keys.openDataKey(binding, version.wrappedKey);
    const raw = await this.#store.get(version.blobId);
    const checked = checkedAsItPasses(raw, dataKey, binding, { plainSize: version.size, sha256 });
    return options.newId === true ? target.put(checked) : target.putAs(version.blobId, checked);
  }

  /** A small range of plaintext in memory, e.g. a zip's central directory. */
  async readRange(version: EncryptedVersionRef, range: ByteRange): Promise<Buffer> {
    const stream = await this.openRange(version, range);
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }
}

function bindingOf(version: EncryptedVersionRef): BlobBinding {
  if (!version.organisationId || !version.documentId || !version.versionId || !version.keyId) {
    throw new IntegrityError('The version record is missing part of its key binding.');
  }
  return {
    organisationId: version.organisationId,
    documentId: version.documentId,
    versionId: version.versionId,
    keyId: version.keyId,
  };
}

// The read path over the primary and the offsite replica. A download waits for its first plaintext
// chunk before it is handed on (a small one for all of it), so a blob that is missing or fails its
// first tag is an error status, never a 200 that stops short. When the primary copy is bad and the
// replica's is good, the download is served from the replica and a repair is asked for (asked for
// too when the replica cannot be reached); when no copy is good the caller gets a clear
// DamagedCopiesError (500) and the operators are told. A primary object in archive storage (a
// bucket's cold storage class) turns to the replica as damage does, and is otherwise answered with its
// own 503. Damage further into a large file still ends the stream with an error (the consumer aborts
// the response), never with wrong bytes.
import type { Readable } from 'node:stream';
import type { BlobBinding, BlobStore, ByteRange, EncryptedBlobs, EncryptedVersionRef, WrittenBlob } from '../domain/ports.js';
import { ArchivedBlobError, DamagedCopiesError, DomainError } from '../domain/errors.js';

export interface HealingBlobsOptions {
  primary: EncryptedBlobs;
  /** The same blobs read from the offsite replica; null when there is none. */
  replica: EncryptedBlobs | null;
  /** The primary copy is bad and the replica served instead, or could not be asked: repair the primary. Must not throw. */
  onPrimaryBad(version: EncryptedVersionRef, error: unknown): void;
  /** No copy could be read: tell the operators. Must not throw. */
  onUnreadable(version: EncryptedVersionRef, error: unknown): void;
}

export class HealingBlobs implements EncryptedBlobs {
  constructor(private readonly o: HealingBlobsOptions) {}

  write(target: Omit<BlobBinding, 'keyId'>, plaintext: Readable | AsyncIterable<Uint8Array>): Promise<WrittenBlob> {
    return this.o.primary.write(target, plaintext);
  }

  delete(blobId: string): Promise<void> {
    return this.o.primary.delete(blobId);
  }

  openRange(version: EncryptedVersionRef, range?: ByteRange): Promise<Readable> {
    return this.#fromAGoodCopy(version, async (blobs) => firstChunk(await blobs.openRange(version, range)));
  }

  /** A small version is verified whole before it is returned, so damage anywhere in it turns to the replica. */
  content(version: EncryptedVersionRef, range?: ByteRange): Promise<Buffer | Readable> {
    return this.#fromAGoodCopy(version, async (blobs) => {
      const content = await blobs.content(version, range);
      return Buffer.isBuffer(content) ? content : firstChunk(content);
    });
  }

  async #fromAGoodCopy<T>(version: EncryptedVersionRef, read: (blobs: EncryptedBlobs) => Promise<T>): Promise<T> {
    let primaryError: unknown;
    try {
      return await read(this.o.primary);
    } catch (error) {
      // A destroyed version (no key) or a storage outage is not damage: those keep their own errors.
      if (!(isDamage(error) || error instanceof ArchivedBlobError) || version.wrappedKey.length === 0) throw error;
      primaryError = error;
    }
    if (this.o.replica !== null) {
      try {
        const fromReplica = await read(this.o.replica);
        this.o.onPrimaryBad(version, primaryError);
        return fromReplica;
      } catch (error) {
        if (!isDamage(error)) {
          // The replica could not be asked (an outage, or its copy archived too): the primary's damage is
          // still reported, and its repair queued for when the replica answers again; the caller gets the
          // primary's archive error if that was its problem, otherwise the replica's outage.
          this.o.onPrimaryBad(version, primaryError);
          throw primaryError instanceof ArchivedBlobError ? primaryError : error;
        }
      }
    }
    if (primaryError instanceof ArchivedBlobError) {
      // Not lost: in archive storage. Its scrub names the object for the operators, who restore it from there.
      this.o.onPrimaryBad(version, primaryError);
      throw primaryError;
    }
    this.o.onUnreadable(version, primaryError);
    throw new DamagedCopiesError({ cause: primaryError });
  }

  /** From the primary only, and without healing: the caller (replication) is the one deciding what damage there means. */
  copyTo(version: EncryptedVersionRef, sha256: string, target: BlobStore, options?: { newId?: boolean }): Promise<{ id: string; size: number }> {
    return this.o.primary.copyTo(version, sha256, target, options);
  }

  async readRange(version: EncryptedVersionRef, range: ByteRange): Promise<Buffer> {
    const stream = await this.openRange(version, range);
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }
}

function isDamage(error: unknown): boolean {
  return error instanceof DomainError && (error.code === 'NOT_FOUND' || error.code === 'INTEGRITY');
}

/**
 * Resolves once the stream has its first chunk (or ended empty); rejects if it fails first. The
 * stream stays paused with that chunk buffered for the consumer.
 */
function firstChunk(stream: Readable): Promise<Readable> {
  // A later failure reaches the consumer through its own listeners (pipeline, for-await); this one only
  // keeps a failure between our check and the consumer's arrival from being an unheard 'error' event.
  stream.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown): void => {
      stream.off('readable', onReadable);
      stream.off('error', onError);
      if (error === undefined) resolve(stream);
      else reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onReadable = (): void => settle();
    const onError = (error: unknown): void => settle(error);
    stream.on('readable', onReadable);
    stream.on('error', onError);
  });
}

// The audit checkpoints in the replica's bucket, when STRONGROOM_REPLICA is one: every checkpoint
// the signer publishes is also written, once and never over, to <replica prefix>checkpoints/
// (`000000000120.note`, named by tree size), and `audit verify` and the restore drill read them
// back. The folder copies (storage/checkpoint-copies.ts) are kept as well: the signer's own copy
// beside its key, and the offsite folder. A write-once (object-lock) bucket suits this exactly.
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { SourcedCheckpoint } from '../domain/audit/checkpoint-history.js';
import { DomainError } from '../domain/errors.js';
import type { CheckpointCopies as CheckpointCopiesPort } from '../domain/ports.js';
import { normalisePrefix } from './s3.blob-store.js';

/** A checkpoint's name in its folder: the zero-padded size, nothing before it, no sub-folder. */
const NOTE_NAME = /^(\d{12})\.note$/;
/** A signed note is a few hundred bytes; an object larger than this is not one, and is never read whole. */
const NOTE_MAX_BYTES = 64 * 1024;

export interface BucketCheckpointCopiesOptions {
  /** The folder copies (offsite folder and the signer's own), written after the bucket. */
  local: CheckpointCopiesPort;
  client: S3Client;
  bucket: string;
  /** The replica's prefix; the checkpoints go below it, in `checkpoints/`. */
  prefix: string;
}

export class BucketCheckpointCopies implements CheckpointCopiesPort {
  readonly #o: BucketCheckpointCopiesOptions;
  readonly #folder: string;

  constructor(options: BucketCheckpointCopiesOptions) {
    this.#o = options;
    this.#folder = `${normalisePrefix(options.prefix)}checkpoints/`;
  }

  /** Where they are, for messages and audit sources. */
  get description(): string {
    return `s3://${this.#o.bucket}/${this.#folder}`;
  }

  /**
   * The bucket first: a checkpoint is offsite before the folders (and then the database) hold it, so
   * a bucket that cannot be written stops the signer (it retries at the next checkpoint) rather than
   * publishing a checkpoint that exists only beside the server.
   */
  async remember(treeSize: number, note: string): Promise<void> {
    await this.#putOnce(this.#keyOf(treeSize), note);
    await this.#o.local.remember(treeSize, note);
  }

  /**
   * The folder copies, and the bucket's newest if it is newer than they are (listed after the newest
   * the folders know, so usually an empty page): a folder rolled back or wiped does not make the
   * signer forget what it signed.
   */
  async latest(): Promise<SourcedCheckpoint[]> {
    const local = await this.#o.local.latest();
    const known = Math.max(-1, ...local.map((c) => signedSize(c.note)));
    const after = known >= 0 ? this.#keyOf(known) : undefined;
    let newest: string | undefined;
    for await (const key of this.#keys(after)) newest = key;
    return newest === undefined ? local : [await this.#read(newest), ...local];
  }

  async all(): Promise<{ offsite: SourcedCheckpoint[]; newest: SourcedCheckpoint[]; signer: SourcedCheckpoint[] }> {
    const local = await this.#o.local.all();
    const bucket: SourcedCheckpoint[] = [];
    for await (const key of this.#keys()) bucket.push(await this.#read(key));
    return { ...local, offsite: [...local.offsite, ...bucket] };
  }

  #keyOf(treeSize: number): string {
    return `${this.#folder}${String(treeSize).padStart(12, '0')}.note`;
  }

  async *#keys(startAfter?: string): AsyncIterable<string> {
    const pages = paginateListObjectsV2({ client: this.#o.client }, { Bucket: this.#o.bucket, Prefix: this.#folder, ...(startAfter ? { StartAfter: startAfter } : {}) });
    try {
      for await (const page of pages) {
        // Keys sort as their zero-padded sizes do.
        for (const object of page.Contents ?? []) if (object.Key && NOTE_NAME.test(object.Key.slice(this.#folder.length))) yield object.Key;
      }
    } catch (cause) {
      throw new DomainError('UNAVAILABLE', `Cannot list the audit checkpoints in ${this.description}.`, { cause });
    }
  }

  async #read(key: string): Promise<SourcedCheckpoint> {
    const note = await this.#get(key);
    if (note === undefined) throw new DomainError('UNAVAILABLE', `The audit checkpoint ${key} was listed in bucket ${this.#o.bucket} but could not be read.`);
    const name = key.slice(this.#folder.length);
    const size = NOTE_NAME.exec(name)?.[1];
    const claimed = size !== undefined ? { claimedSize: Number(size) } : {};
    // Kept as a checkpoint that cannot verify, so verify names it (and the signer refuses) instead of running out of memory.
    if (note === TOO_LARGE) return { source: `bucket checkpoint ${name} (${this.description}), larger than ${NOTE_MAX_BYTES} bytes and not read`, note: '', ...claimed };
    return { source: `bucket checkpoint ${name} (${this.description})`, note, ...claimed };
  }

  /** The object's text, TOO_LARGE past NOTE_MAX_BYTES (no more is read), undefined when absent. */
  async #get(key: string): Promise<string | typeof TOO_LARGE | undefined> {
    try {
      const answer = await this.#o.client.send(new GetObjectCommand({ Bucket: this.#o.bucket, Key: key }));
      const body = answer.Body as Readable;
      const chunks: Buffer[] = [];
      let bytes = 0;
      // Not a Range request (an empty object has no byte range; some servers then drop the connection):
      // the reading stops, and the connection is closed, once past the limit.
      for await (const chunk of body) {
        bytes += (chunk as Buffer).length;
        if (bytes > NOTE_MAX_BYTES) {
          body.destroy();
          return TOO_LARGE;
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    } catch (cause) {
      if (isMissing(cause)) return undefined;
      throw new DomainError('UNAVAILABLE', `Cannot read the audit checkpoint ${key} in bucket ${this.#o.bucket}.`, { cause });
    }
  }

  /**
   * Write-once: an object already there is never replaced. The same note again (a retry, or a second
   * signer signing the same tree: Ed25519 notes are deterministic) is fine; a different one is refused.
   * Checked before the PUT for servers that ignore If-None-Match, and by If-None-Match for a race.
   */
  async #putOnce(key: string, note: string): Promise<void> {
    const existing = await this.#get(key);
    if (existing === undefined) {
      try {
        // SHA-256 checksum: an object-locked bucket refuses a PUT without one (or Content-MD5).
        await this.#o.client.send(new PutObjectCommand({ Bucket: this.#o.bucket, Key: key, Body: note, ContentType: 'text/plain; charset=utf-8', IfNoneMatch: '*', ChecksumAlgorithm: 'SHA256' }));
        return;
      } catch (cause) {
        if (!isPreconditionFailed(cause)) throw new DomainError('UNAVAILABLE', `Cannot write the audit checkpoint ${key} to bucket ${this.#o.bucket}; signing waits until it can.`, { cause });
      }
    }
    const there = existing ?? (await this.#get(key));
    if (there !== note) throw new DomainError('INTEGRITY', `A different audit checkpoint is already stored as ${key} in bucket ${this.#o.bucket}; it is never overwritten.`);
  }
}

const TOO_LARGE = Symbol('larger than a checkpoint note');

/** The size line of a checkpoint note, unverified: only to know where to list from. */
function signedSize(note: string): number {
  const size = Number(note.split('\n')[1]);
  return Number.isSafeInteger(size) ? size : -1;
}

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 404 && (e.Code ?? e.name) === 'NoSuchKey';
}

function isPreconditionFailed(error: unknown): boolean {
  const e = error as { $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 412;
}

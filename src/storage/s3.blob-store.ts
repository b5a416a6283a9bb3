// BlobStore over an S3-compatible bucket (AWS S3, MinIO, Ceph RGW): blobs at <prefix><id>.
// `put` streams through lib-storage's multipart Upload with a bounded number of parts in memory;
// the object becomes visible only when the upload completes (S3 makes a multipart object visible
// atomically on CompleteMultipartUpload, a single PutObject on its success), so "durable when put
// resolves" holds as it does for the folder store. A put cut short leaves at most an incomplete
// multipart upload, which is aborted on failure and otherwise by cleanStaging.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BlobStore, ByteRange } from '../domain/ports.js';
import { ArchivedBlobError, DomainError } from '../domain/errors.js';
import { STORE_MARKER_MAX_BYTES, STORE_MARKER_NAME } from '../domain/store-marker.js';
import { checkRange, collectSmall, guardEarlyErrors, longerThanExpected, releaseSource, toBuffer } from './blob-streams.js';

/** Ids are 128 random bits in lower-case hex, as in the folder store; nothing else is ours under the prefix. */
const ID_PATTERN = /^[0-9a-f]{32}$/;
const MIB = 1024 * 1024;
/** S3's smallest part (except the last); lib-storage refuses anything smaller. */
export const S3_MIN_PART_SIZE = 5 * MIB;
/**
 * Memory one put holds: the parts in flight plus the one being gathered, about (queueSize + 2) ×
 * partSize, here 20 MiB. Measured on a 1 GiB put (docs/performance.md "S3 blob store"): process RSS
 * grew 55 MiB with 5 MiB parts, 81 MiB with 8 MiB parts, more with four parts in flight, and
 * s3rver took no faster. The bound is 64 MiB.
 */
const DEFAULT_PART_SIZE = S3_MIN_PART_SIZE;
/** S3 allows 10,000 parts; the rest is left for the encryption's few bytes per chunk. */
const PARTS_FOR_THE_LARGEST_BLOB = 9_000;
const DEFAULT_QUEUE_SIZE = 2;
const READ_HIGH_WATER_MARK = MIB;

/** Where the blobs are: parsed from STRONGROOM_BLOBS=s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true. */
export interface S3Location {
  bucket: string;
  /** '' or ending in '/'. */
  prefix: string;
  /** A custom endpoint (MinIO, Ceph RGW, a loopback test server); unset: AWS. */
  endpoint?: string;
  /** Unset: the SDK's chain (AWS_REGION, profile), or us-east-1 with a custom endpoint, which ignores it. */
  region?: string;
  /** Path-style requests (http://host/bucket/key), which MinIO and Ceph RGW usually need. */
  forcePathStyle: boolean;
}

export interface S3ClientOptions {
  /** Tests only: credentials are otherwise taken from the environment by the SDK's default chain. */
  credentials?: S3ClientConfig['credentials'];
  /** Attempts per request, retries included (SDK default 3). */
  maxAttempts?: number;
  /** How long a request may wait for the server's answer (its headers) once sent; default 2 minutes. */
  answerTimeoutMs?: number;
}

/**
 * An S3 client for a location. Checksums only when an operation requires them: the SDK's newer
 * default (a CRC on every request and response) is refused by s3rver and by many S3-compatible
 * servers. Credentials are never part of the location: the SDK reads them from the environment
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, or an instance role).
 */
export function createS3Client(location: S3Location, options: S3ClientOptions = {}): S3Client {
  const region = location.region ?? (location.endpoint !== undefined ? 'us-east-1' : undefined);
  return new S3Client({
    ...(region !== undefined ? { region } : {}),
    ...(location.endpoint !== undefined ? { endpoint: location.endpoint } : {}),
    forcePathStyle: location.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A server that does not accept a connection, or accepts and never answers, is an outage, told
    // as one rather than hanging. The answer timeout ends once the headers arrive, so it does not cut
    // a long download short; it does include sending a part, hence minutes, not seconds.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: options.answerTimeoutMs ?? 120_000, throwOnRequestTimeout: true },
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
}

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  prefix?: string;
  /** Bytes per multipart part (at least 5 MiB); default 5 MiB, or more if `largestBlobBytes` needs it. */
  partSize?: number;
  /** The largest blob a put must take (e.g. the upload limit): parts grow so it fits in S3's 10,000. */
  largestBlobBytes?: number;
  /** Parts uploaded at once; default 2. Memory per put is about (queueSize + 2) × partSize. */
  queueSize?: number;
  /** The clock cleanStaging measures ages with (tests). */
  now?: () => number;
}

export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #now: () => number;

  constructor(options: S3BlobStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = normalisePrefix(options.prefix ?? '');
    this.#partSize = Math.max(options.partSize ?? DEFAULT_PART_SIZE, Math.ceil((options.largestBlobBytes ?? 0) / PARTS_FOR_THE_LARGEST_BLOB));
    this.#queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.#now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.#partSize) || this.#partSize < S3_MIN_PART_SIZE) {
      throw new Error(`The S3 part size must be at least ${S3_MIN_PART_SIZE} bytes (5 MiB).`);
    }
    if (!Number.isSafeInteger(this.#queueSize) || this.#queueSize < 1) throw new Error('The S3 queue size must be at least 1.');
  }

  get location(): string {
    return `s3://${this.#bucket}/${this.#prefix}`;
  }

  /** Bytes per multipart part. */
  get partSize(): number {
    return this.#partSize;
  }

  async put(source: Readable | AsyncIterable<Uint8Array>): Promise<{ id: string; size: number }> {
    return this.putAs(randomBytes(16).toString('hex'), source);
  }

  /** A new PUT under the same key: S3 makes it visible whole or not at all (a versioned bucket keeps the old one too). */
  async putAs(id: string, source: Readable | AsyncIterable<Uint8Array>): Promise<{ id: string; size: number }> {
    this.#keyOf(id);
    // As in the folder store: an 'error' emitted before the upload starts reading must not go unheard.
    const unguard = guardEarlyErrors(source);
    let size = 0;
    let sourceFailed = false;
    let sourceError: unknown;
    async function* counted(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of source) {
          const buffer = toBuffer(chunk);
          if (buffer.length === 0) continue;
          size += buffer.length;
          yield buffer;
        }
      } catch (error) {
        sourceFailed = true;
        sourceError = error;
        throw error;
      }
    }
    // highWaterMark 1: the stream in between holds one chunk, not 16, so memory is the parts' alone.
    const body = Readable.from(counted(), { highWaterMark: 1 });
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: this.#keyOf(id), Body: body, ContentType: 'application/octet-stream' },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      // On any failure lib-storage aborts the multipart upload, so no parts are left to pay for.
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      // Stop reading the source and release it, also when the upload failed before reading it.
      body.destroy();
      await releaseSource(source);
      // The caller's own error comes back as it was (a client that went away is not a storage outage).
      if (sourceFailed) throw sourceError;
      throw storageError('store a blob', error);
    } finally {
      unguard();
    }
    return { id, size };
  }

  async get(id: string, range?: ByteRange): Promise<Readable> {
    if (range !== undefined) checkRange(range);
    const object = await this.#getObject(id, range);
    // A range that starts at or past the end: the folder store gives no bytes, and so does this one.
    if (object === undefined) return Readable.from([]);
    return Readable.from(bytesOf(object.body, object.served), { objectMode: false, highWaterMark: READ_HIGH_WATER_MARK });
  }

  async readSmall(id: string, maxBytes: number): Promise<Buffer> {
    const object = (await this.#getObject(id, undefined))!;
    // The answer says how long the blob is before its body is read: a longer one is refused unread.
    if (object.length !== undefined && object.length > maxBytes) {
      object.body.destroy();
      throw longerThanExpected(id, maxBytes);
    }
    return collectSmall(id, Readable.from(bytesOf(object.body, undefined), { objectMode: false }), maxBytes);
  }

  /** The object's body (and, for a range, which part of it to keep); undefined for a range past its end. */
  async #getObject(id: string, range: ByteRange | undefined): Promise<{ body: Readable; served: { skip: number; length: number } | undefined; length: number | undefined } | undefined> {
    const key = this.#keyOf(id);
    try {
      const output = await this.#client.send(new GetObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }),
      }));
      const served = range === undefined ? undefined : sliceOf(range, output.ContentRange, output.ContentLength);
      return { body: output.Body as Readable, served, length: output.ContentLength };
    } catch (error) {
      if (range !== undefined && statusOf(error) === 416) return undefined;
      if (isMissingKey(error)) throw new DomainError('NOT_FOUND', `No blob ${id}.`, { cause: error });
      // An object in a cold storage class (a lifecycle rule): that object alone is out of reach, not the bucket.
      if (codeOf(error) === 'InvalidObjectState') throw new ArchivedBlobError(id, { cause: error });
      throw storageError('read a blob', error);
    }
  }

  async size(id: string): Promise<number> {
    const key = this.#keyOf(id);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      // A HEAD answer has no body, so a 404 for a missing bucket looks like one for a missing key:
      // ask about the bucket before calling the blob missing.
      if (statusOf(error) === 404 && (await this.#bucketAnswers())) throw new DomainError('NOT_FOUND', `No blob ${id}.`, { cause: error });
      throw storageError('read a blob', error);
    }
  }

  /** Idempotent: S3 answers a delete of an absent key with success. */
  async delete(id: string): Promise<void> {
    const key = this.#keyOf(id);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      if (isMissingKey(error)) return;
      throw storageError('delete a blob', error);
    }
  }

  async *list(): AsyncIterable<string> {
    // Delimiter: keys in "folders" below the prefix are someone else's, and need not be fetched at all.
    const pages = paginateListObjectsV2({ client: this.#client }, { Bucket: this.#bucket, Prefix: this.#prefix, Delimiter: '/' });
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const id = object.Key?.slice(this.#prefix.length);
          if (id !== undefined && ID_PATTERN.test(id)) yield id;
        }
      }
    } catch (error) {
      throw storageError('list blobs', error);
    }
  }

  /**
   * Aborts incomplete multipart uploads of blobs under this prefix started more than `olderThanMs`
   * ago (by the server's Initiated time); returns how many. 0 aborts them all, including uploads in
   * flight on other nodes, so production passes an age longer than any upload can take.
   */
  async cleanStaging(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.#client.send(new ListMultipartUploadsCommand({
          Bucket: this.#bucket,
          Prefix: this.#prefix,
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
        }));
        for (const upload of page.Uploads ?? []) {
          const id = upload.Key?.slice(this.#prefix.length);
          if (id === undefined || !ID_PATTERN.test(id) || upload.UploadId === undefined) continue;
          if (olderThanMs > 0 && (upload.Initiated === undefined || upload.Initiated.getTime() > cutoff)) continue;
          if (await this.#abort(upload.Key as string, upload.UploadId)) aborted++;
        }
        if (page.IsTruncated !== true) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
        if (keyMarker === undefined && uploadIdMarker === undefined) break;
      }
    } catch (error) {
      throw storageError('clean unfinished uploads', error);
    }
    return aborted;
  }

  /** True if this call aborted it; false if it was gone already (completed or aborted by another node). */
  async #abort(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }));
      return true;
    } catch (error) {
      if (codeOf(error) === 'NoSuchUpload') return false;
      throw error;
    }
  }

  /** The marker is the key <prefix>strongroom-vault.json: not a blob id, so never listed. */
  async readMarker(): Promise<string | undefined> {
    const key = this.#prefix + STORE_MARKER_NAME;
    try {
      const answer = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const body = answer.Body as Readable;
      const parts: Buffer[] = [];
      let length = 0;
      for await (const chunk of body) {
        parts.push(chunk as Buffer);
        length += (chunk as Buffer).length;
        if (length > STORE_MARKER_MAX_BYTES) {
          body.destroy();
          throw new DomainError('UNAVAILABLE', `Could not read the store marker: s3://${this.#bucket}/${key} is larger than ${STORE_MARKER_MAX_BYTES} bytes.`);
        }
      }
      return Buffer.concat(parts).toString('utf8');
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw storageError('read the store marker', error);
    }
  }

  /**
   * Not written over one that is there. One PutObject, visible whole or not at all, asked to fail when
   * the key exists (If-None-Match: *, which AWS S3, MinIO and Ceph RGW honour), so of two vaults
   * claiming an empty prefix at the same moment the first one's stands. A server that does not
   * implement the condition gets an unconditional put (some ignore it, as s3rver does): the caller
   * reads the marker back, which catches all but two claims at the very same moment.
   */
  async writeMarker(text: string, overEmpty = false): Promise<boolean> {
    const there = await this.readMarker();
    if (there !== undefined && !(overEmpty && there === '')) return false;
    const params = { Bucket: this.#bucket, Key: this.#prefix + STORE_MARKER_NAME, Body: text, ContentType: 'application/json' };
    // An empty object there (written by hand, or a tool's half-made copy): replaced by a plain put.
    if (there === '') {
      await this.#client.send(new PutObjectCommand(params)).catch((error: unknown) => { throw storageError('write the store marker', error); });
      return true;
    }
    try {
      await this.#client.send(new PutObjectCommand({ ...params, IfNoneMatch: '*' }));
      return true;
    } catch (error) {
      if (statusOf(error) === 412 || codeOf(error) === 'PreconditionFailed' || codeOf(error) === 'ConditionalRequestConflict') return false;
      if (statusOf(error) !== 501 && codeOf(error) !== 'NotImplemented') throw storageError('write the store marker', error);
    }
    try {
      await this.#client.send(new PutObjectCommand(params));
      return true;
    } catch (error) {
      throw storageError('write the store marker', error);
    }
  }

  async #bucketAnswers(): Promise<boolean> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
      return true;
    } catch {
      return false;
    }
  }

  #keyOf(id: string): string {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new DomainError('INVALID', 'Malformed blob id.');
    return this.#prefix + id;
  }
}

/** "a/b", "/a/b/" → "a/b/"; "" and "/" → "". */
export function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

interface ServiceErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(error: unknown): number | undefined {
  return (error as ServiceErrorShape | undefined)?.$metadata?.httpStatusCode;
}

function codeOf(error: unknown): string | undefined {
  const e = error as ServiceErrorShape | undefined;
  return e?.Code ?? e?.name;
}

/** Only these say "the key is not there"; NoSuchBucket, like any other failure, is an outage. */
function isMissingKey(error: unknown): boolean {
  return statusOf(error) === 404 && codeOf(error) === 'NoSuchKey';
}

/** Error codes S3-compatible servers use for "no room": a bucket quota, a full MinIO or Ceph cluster. */
const NO_SPACE = new Set(['QuotaExceeded', 'XMinioStorageFull', 'XMinioAdminBucketQuotaExceeded']);

/**
 * Turns an S3 failure into a DomainError, keeping "no such blob" (NOT_FOUND, said only by the
 * callers above) apart from "cannot reach the blobs": refused or lost connections, timeouts,
 * 5xx, access denied, a missing bucket all mean UNAVAILABLE, never NOT_FOUND.
 */
function storageError(action: string, error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (NO_SPACE.has(codeOf(error) ?? '')) {
    return new DomainError('INSUFFICIENT_STORAGE', 'There is not enough storage space left to save this file, so nothing was stored. Ask your administrator to free some space, then try again.', { cause: error });
  }
  return new DomainError('UNAVAILABLE', `Could not ${action}: the blob storage service is unavailable.`, { cause: error });
}

/**
 * Which bytes of the answer are the ones asked for. Servers are meant to send exactly the range,
 * but some send more (s3rver 3.7 reads "bytes=0-0" as "from 0 to the end"; a server ignoring Range
 * sends the whole object with 200): what was sent is trimmed to what was asked, never passed on.
 */
function sliceOf(range: ByteRange, contentRange: string | undefined, contentLength: number | undefined): { skip: number; length: number } | undefined {
  const match = contentRange === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange);
  let start: number;
  let end: number;
  let total: number | undefined;
  if (match) {
    start = Number(match[1]);
    end = Number(match[2]);
    total = match[3] === '*' ? undefined : Number(match[3]);
  } else if (contentRange === undefined && contentLength !== undefined) {
    start = 0;
    end = contentLength - 1;
    total = contentLength;
  } else {
    throw new DomainError('UNAVAILABLE', 'Could not read a blob: the blob storage service answered with an unreadable range.');
  }
  const wantedEnd = total === undefined ? range.end : Math.min(range.end, total - 1);
  if (start === range.start && end === wantedEnd) return undefined;
  if (start <= range.start && end >= wantedEnd) return { skip: range.start - start, length: wantedEnd - range.start + 1 };
  throw new DomainError('UNAVAILABLE', 'Could not read a blob: the blob storage service answered with other bytes than those asked for.');
}

/**
 * The body's bytes (or the slice of them asked for). A connection lost half-way is an outage, said
 * as such to whoever is reading; a reader that stops early closes the connection.
 */
async function* bytesOf(body: Readable, slice: { skip: number; length: number } | undefined): AsyncGenerator<Buffer> {
  let skip = slice?.skip ?? 0;
  let left = slice?.length ?? Number.POSITIVE_INFINITY;
  try {
    for await (const chunk of body) {
      let buffer = chunk as Buffer;
      if (skip > 0) {
        const dropped = Math.min(skip, buffer.length);
        buffer = buffer.subarray(dropped);
        skip -= dropped;
      }
      if (buffer.length > left) buffer = buffer.subarray(0, left);
      if (buffer.length > 0) {
        left -= buffer.length;
        yield buffer;
      }
      if (left === 0) return;
    }
  } catch (error) {
    throw storageError('read a blob', error);
  } finally {
    if (!body.destroyed) body.destroy();
  }
}




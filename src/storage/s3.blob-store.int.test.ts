// What the S3 store must get right beyond the shared contract (test/contracts/blob-store.contract.ts):
// every way of not reaching the blobs is UNAVAILABLE, never NOT_FOUND, and a store keeps to its prefix.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import type { BlobStore } from '../domain/ports.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../../test/support/s3.js';
import { createS3Client, normalisePrefix, S3BlobStore, type S3Location } from './s3.blob-store.js';

let s3: LoopbackS3;
beforeAll(async () => {
  s3 = await startLoopbackS3();
});
afterAll(async () => {
  await s3?.stop();
});

const open = (location: S3Location, credentials: { accessKeyId: string; secretAccessKey: string } = S3RVER_CREDENTIALS): S3BlobStore =>
  new S3BlobStore({ client: createS3Client(location, { credentials, maxAttempts: 2 }), bucket: location.bucket, prefix: location.prefix });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return (error as DomainError).code;
}

async function listAll(store: BlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  return ids.sort();
}

/** Every read a download makes, on a blob that does exist when `id` is given. */
async function expectUnavailable(store: BlobStore, id = randomBytes(16).toString('hex')): Promise<void> {
  expect(await codeOf(store.get(id))).toBe('UNAVAILABLE');
  expect(await codeOf(store.get(id, { start: 0, end: 0 }))).toBe('UNAVAILABLE');
  expect(await codeOf(store.size(id))).toBe('UNAVAILABLE');
  expect(await codeOf(store.put(Readable.from([Buffer.from('x')])))).toBe('UNAVAILABLE');
  expect(await codeOf(listAll(store))).toBe('UNAVAILABLE');
  expect(await codeOf(store.cleanStaging(0))).toBe('UNAVAILABLE');
}

describe('S3BlobStore on s3rver', () => {
  it('says UNAVAILABLE, not NOT_FOUND, when the bucket does not exist (even for HEAD, whose 404 has no body)', async () => {
    await expectUnavailable(open(s3.location('no-such-bucket-here', 'blobs')));
  });

  it('says UNAVAILABLE when the credentials are refused (an unknown key: 403 InvalidAccessKeyId)', async () => {
    // s3rver does not check SigV4 signatures, so a wrong secret would pass; an unknown key id does not.
    const bucket = await s3.createBucket();
    const { id } = await open(s3.location(bucket)).put(Readable.from([Buffer.from('kept')]));
    await expectUnavailable(open(s3.location(bucket), { accessKeyId: 'AKIANOTKNOWNHERE', secretAccessKey: 'x' }), id);
  });

  it('says UNAVAILABLE when the server answers 503 SlowDown, 500 or 403 AccessDenied (after its retries)', async () => {
    const bucket = await s3.createBucket();
    const store = open(s3.location(bucket));
    const { id } = await store.put(Readable.from([Buffer.from('kept')]));
    try {
      s3.answerEveryRequestWith({ status: 503, code: 'SlowDown' });
      await expectUnavailable(store, id);
      s3.answerEveryRequestWith({ status: 500, code: 'InternalError' });
      await expectUnavailable(store, id);
      s3.answerEveryRequestWith({ status: 403, code: 'AccessDenied' });
      await expectUnavailable(store, id);
    } finally {
      s3.answerEveryRequestWith(null);
    }
    expect(await store.size(id)).toBe(4);
  });

  it('says INSUFFICIENT_STORAGE, storing nothing, when a bucket quota is used up or a MinIO cluster is full', async () => {
    const bucket = await s3.createBucket();
    const store = open(s3.location(bucket));
    try {
      for (const fault of [{ status: 403, code: 'QuotaExceeded' }, { status: 507, code: 'XMinioStorageFull' }]) {
        s3.answerEveryRequestWith(fault);
        expect(await codeOf(store.put(Readable.from([randomBytes(6 * 1024 * 1024)]))), fault.code).toBe('INSUFFICIENT_STORAGE');
      }
    } finally {
      s3.answerEveryRequestWith(null);
    }
    expect(await listAll(store)).toEqual([]);
  });

  it('says UNAVAILABLE when the server accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const location = { ...s3.location('hung-bucket'), endpoint: `http://127.0.0.1:${port}` };
      const store = new S3BlobStore({ client: createS3Client(location, { credentials: S3RVER_CREDENTIALS, maxAttempts: 1, answerTimeoutMs: 300 }), bucket: 'hung-bucket' });
      const started = Date.now();
      expect(await codeOf(store.get(randomBytes(16).toString('hex')))).toBe('UNAVAILABLE');
      expect(await codeOf(store.size(randomBytes(16).toString('hex')))).toBe('UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('does not cut short a download its reader pauses for longer than the answer timeout', async () => {
    const location = s3.location(await s3.createBucket());
    // An answer timeout a loaded machine's s3rver still answers within, and a pause well past it.
    const store = new S3BlobStore({ client: createS3Client(location, { credentials: S3RVER_CREDENTIALS, answerTimeoutMs: 1_500 }), bucket: location.bucket });
    const bytes = randomBytes(6 * 1024 * 1024);
    const { id } = await store.put(Readable.from([bytes]));
    const parts: Buffer[] = [];
    let paused = false;
    for await (const part of await store.get(id)) {
      parts.push(part as Buffer);
      if (!paused) {
        paused = true;
        await new Promise((resolve) => setTimeout(resolve, 4_000));
      }
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it('keeps to its prefix: lists and cleans only its own blobs and uploads', async () => {
    const bucket = await s3.createBucket();
    const mine = open(s3.location(bucket, 'council-a/blobs'));
    const theirs = open(s3.location(bucket, 'council-a/blobs-old'));
    const a = await mine.put(Readable.from([Buffer.from('mine')]));
    const b = await theirs.put(Readable.from([Buffer.from('theirs')]));
    // Objects that are not blobs of this store: a note beside them, a "subfolder", a look-alike.
    const raw = createS3Client(s3.location(bucket), { credentials: S3RVER_CREDENTIALS });
    for (const key of ['council-a/blobs/README.txt', `council-a/blobs/sub/${randomBytes(16).toString('hex')}`, `council-a/blobs/${randomBytes(16).toString('hex').toUpperCase()}`]) {
      await raw.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'not a blob' }));
    }
    raw.destroy();
    expect(await listAll(mine)).toEqual([a.id]);
    expect(await listAll(theirs)).toEqual([b.id]);

    await s3.leaveUnfinishedUpload(bucket, `council-a/blobs-old/${randomBytes(16).toString('hex')}`, 3_600_000);
    await s3.leaveUnfinishedUpload(bucket, 'council-a/blobs/not-a-blob-id', 3_600_000);
    expect(await mine.cleanStaging(0)).toBe(0);
    expect(await theirs.cleanStaging(0)).toBe(1);
    expect(await codeOf(mine.get(b.id))).toBe('NOT_FOUND');
  });

  it('reads a range that starts past the end as no bytes, like the folder store', async () => {
    const store = open(s3.location(await s3.createBucket()));
    const { id } = await store.put(Readable.from([Buffer.from('abc')]));
    const parts: Buffer[] = [];
    for await (const part of await store.get(id, { start: 10, end: 20 })) parts.push(part as Buffer);
    expect(Buffer.concat(parts)).toHaveLength(0);
    const tail: Buffer[] = [];
    for await (const part of await store.get(id, { start: 1, end: 20 })) tail.push(part as Buffer);
    expect(Buffer.concat(tail).toString()).toBe('bc');
  });

  it('refuses a part size S3 would refuse, and normalises prefixes', () => {
    const client = createS3Client(s3.location('x'), { credentials: S3RVER_CREDENTIALS });
    expect(() => new S3BlobStore({ client, bucket: 'x', partSize: 1024 * 1024 })).toThrow(/at least 5242880 bytes/);
    // 5 MiB parts by default; larger when the largest blob would not fit in S3's 10,000 parts.
    expect(new S3BlobStore({ client, bucket: 'x', largestBlobBytes: 16 * 1024 ** 3 }).partSize).toBe(5 * 1024 * 1024);
    const huge = new S3BlobStore({ client, bucket: 'x', largestBlobBytes: 100 * 1024 ** 3 });
    expect(huge.partSize).toBeGreaterThan(5 * 1024 * 1024);
    expect(100 * 1024 ** 3 * 1.01 / huge.partSize).toBeLessThan(10_000);
    client.destroy();
    expect(['', '/', 'a', '/a/b/', 'a//'].map(normalisePrefix)).toEqual(['', '', 'a/', 'a/b/', 'a/']);
  });
});

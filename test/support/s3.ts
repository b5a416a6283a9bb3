// A loopback S3 server for tests: s3rver on 127.0.0.1, a random port, a temporary directory.
//
// s3rver 3.7.1 runs on Node 20 but lacks two operations the S3 store relies on:
// ListMultipartUploads (GET /bucket?uploads answers 501) and AbortMultipartUpload (DELETE
// /bucket/key?uploadId answers 405). This helper adds both, as the S3 API defines them, over
// s3rver's own upload folders (<dir>/<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,parts}),
// with an upload's Initiated time taken from its `key` file, written once when it starts.
// Like s3rver, these two check the access key id but not the SigV4 signature. Other limits to keep in mind: s3rver
// checks that the access key id exists but not SigV4 signatures (a wrong secret passes), ignores If-None-Match, does not check part sizes, and does not
// paginate the uploads list (neither does this addition).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client, type S3Location } from '../../src/storage/s3.blob-store.js';

/** s3rver's default account; the SDK signs with it, and s3rver checks the signature. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LoopbackS3 {
  endpoint: string;
  port: number;
  directory: string;
  /** A fresh, empty bucket. */
  createBucket(): Promise<string>;
  /** Where s3rver keeps a bucket's unfinished multipart uploads. */
  uploadsDir(bucket: string): string;
  location(bucket: string, prefix?: string): S3Location;
  /** STRONGROOM_BLOBS for a vault on this server. */
  blobsUrl(bucket: string, prefix?: string): string;
  /** From now on every request is answered with this S3 error (e.g. 503 SlowDown), or normally again (null). */
  answerEveryRequestWith(fault: { status: number; code: string } | null): void;
  /** Starts a multipart upload of `key` with one part, and never completes it, `ageMs` old. */
  leaveUnfinishedUpload(bucket: string, key: string, ageMs: number): Promise<string>;
  stop(): Promise<void>;
}

type KoaContext = {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
};
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

export async function startLoopbackS3(): Promise<LoopbackS3> {
  const directory = await fsp.mkdtemp(join(tmpdir(), 'sr-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const uploadsDir = (bucket: string): string => join(directory, bucket, '._S3rver_uploads');
  // Before s3rver's router (the last middleware), after its XML encoding of plain-object bodies.
  const stack = (server as unknown as { middleware: KoaMiddleware[] }).middleware;
  let fault: { status: number; code: string } | null = null;
  const faults: KoaMiddleware = async (ctx, next) => {
    if (fault === null) return next();
    ctx.status = fault.status;
    ctx.body = { Error: { Code: fault.code, Message: 'Injected by the test.' } };
  };
  stack.splice(stack.length - 1, 0, faults, multipartHousekeeping(uploadsDir));
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const location = (bucket: string, prefix = ''): S3Location => ({ bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true });
  const client = createS3Client(location('unused'), { credentials: S3RVER_CREDENTIALS });
  return {
    endpoint, port, directory, uploadsDir, location,
    async createBucket() {
      const bucket = `sr-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    answerEveryRequestWith(next) {
      fault = next;
    },
    blobsUrl: (bucket, prefix = '') => `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true`,
    async leaveUnfinishedUpload(bucket, key, ageMs) {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1000) }));
      const at = new Date(Date.now() - ageMs);
      await fsp.utimes(join(uploadsDir(bucket), UploadId as string, 'key'), at, at);
      return UploadId as string;
    },
    async stop() {
      client.destroy();
      await server.close();
      await fsp.rm(directory, { recursive: true, force: true });
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function multipartHousekeeping(uploadsDir: (bucket: string) => string): KoaMiddleware {
  return async (ctx, next) => {
    const [bucket, ...keyParts] = ctx.path.split('/').filter((part) => part !== '');
    const housekeeping = (ctx.method === 'GET' && bucket && keyParts.length === 0 && 'uploads' in ctx.query)
      || (ctx.method === 'DELETE' && bucket && keyParts.length > 0 && typeof ctx.query.uploadId === 'string');
    if (!housekeeping) return next();
    // As much of s3rver's own check as it makes for SigV4: the access key id must be its account's.
    const authorization = String(ctx.headers.authorization ?? '');
    if (!authorization.includes(`Credential=${S3RVER_CREDENTIALS.accessKeyId}/`)) {
      ctx.status = 403;
      ctx.body = { Error: { Code: 'InvalidAccessKeyId', Message: 'The AWS Access Key Id you provided does not exist in our records.' } };
      return;
    }
    if (ctx.method === 'GET' && bucket && keyParts.length === 0 && 'uploads' in ctx.query) {
      if (!(await fsp.stat(join(uploadsDir(bucket), '..')).then((stat) => stat.isDirectory(), () => false))) {
        ctx.status = 404;
        ctx.body = { Error: { Code: 'NoSuchBucket', Message: 'The specified bucket does not exist', BucketName: bucket } };
        return;
      }
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const uploads: { Key: string; UploadId: string; Initiated: string }[] = [];
      const ids = await fsp.readdir(uploadsDir(bucket)).catch(() => [] as string[]);
      for (const uploadId of ids.sort()) {
        const keyFile = join(uploadsDir(bucket), uploadId, 'key');
        const key = await fsp.readFile(keyFile, 'utf8').catch(() => undefined);
        if (key === undefined || !key.startsWith(prefix)) continue;
        const { mtime } = await fsp.stat(keyFile);
        uploads.push({ Key: key, UploadId: uploadId, Initiated: mtime.toISOString() });
      }
      ctx.status = 200;
      ctx.body = { ListMultipartUploadsResult: { Bucket: bucket, Prefix: prefix, IsTruncated: 'false', Upload: uploads } };
      return;
    }
    const uploadId = ctx.query.uploadId;
    if (ctx.method === 'DELETE' && bucket && keyParts.length > 0 && typeof uploadId === 'string') {
      const dir = join(uploadsDir(bucket), uploadId.replace(/[^0-9a-zA-Z_-]/g, ''));
      const exists = await fsp.stat(dir).then(() => true, () => false);
      if (!exists) {
        ctx.status = 404;
        ctx.body = { Error: { Code: 'NoSuchUpload', Message: 'The specified upload does not exist.', UploadId: uploadId } };
        return;
      }
      await fsp.rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    await next();
  };
}

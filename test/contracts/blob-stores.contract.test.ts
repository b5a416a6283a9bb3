// Every BlobStore adapter against the one contract (blob-store.contract.ts): the folder store, and
// the S3 store on a loopback s3rver (test/support/s3.ts), each with its own leftover-making hook.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FsBlobStore } from '../../src/storage/fs.blob-store.js';
import { createS3Client, S3_MIN_PART_SIZE, S3BlobStore, type S3Location } from '../../src/storage/s3.blob-store.js';
import { closedPort, S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { blobStoreContract, type BlobStoreAdapter } from './blob-store.contract.js';

const filesystem: BlobStoreAdapter = {
  name: 'filesystem (FsBlobStore)',
  async open() {
    const dataDir = await fsp.mkdtemp(join(tmpdir(), 'sr-blob-contract-'));
    return {
      store: new FsBlobStore({ dataDir }),
      another: () => new FsBlobStore({ dataDir }),
      async leaveCrashedPut(ageMs) {
        // What #write leaves when the process dies before the rename: a staged .part file.
        const staging = join(dataDir, 'tmp');
        await fsp.mkdir(staging, { recursive: true });
        const file = join(staging, `${randomBytes(16).toString('hex')}.part`);
        await fsp.writeFile(file, randomBytes(1000));
        const at = new Date(Date.now() - ageMs);
        await fsp.utimes(file, at, at);
      },
      async unreachable() {
        // Folders that cannot be opened: each is a symbolic link to itself (ELOOP), which even root cannot open.
        const broken = join(dataDir, 'unreachable');
        await fsp.mkdir(broken);
        for (const name of ['blobs', 'tmp']) await fsp.symlink(join(broken, name), join(broken, name));
        return new FsBlobStore({ dataDir: broken });
      },
      close: () => fsp.rm(dataDir, { recursive: true, force: true }),
    };
  },
};

/** STRONGROOM_BLOBS=/some/folder: blobs in the folder itself, staged in its tmp/ subfolder. */
const ownFolder: BlobStoreAdapter = {
  name: 'filesystem in a folder of its own (FsBlobStore with blobsDir)',
  async open() {
    const root = await fsp.mkdtemp(join(tmpdir(), 'sr-blob-folder-'));
    const blobsDir = join(root, 'mounted-volume');
    const options = { dataDir: join(root, 'data'), blobsDir };
    return {
      store: new FsBlobStore(options),
      another: () => new FsBlobStore(options),
      async leaveCrashedPut(ageMs) {
        const staging = join(blobsDir, 'tmp');
        await fsp.mkdir(staging, { recursive: true });
        const file = join(staging, `${randomBytes(16).toString('hex')}.part`);
        await fsp.writeFile(file, randomBytes(1000));
        const at = new Date(Date.now() - ageMs);
        await fsp.utimes(file, at, at);
      },
      async unreachable() {
        const loop = join(root, 'loop');
        await fsp.symlink(loop, loop);
        return new FsBlobStore({ dataDir: join(root, 'data'), blobsDir: loop });
      },
      close: () => fsp.rm(root, { recursive: true, force: true }),
    };
  },
};

let s3: LoopbackS3;
beforeAll(async () => {
  s3 = await startLoopbackS3();
});
afterAll(async () => {
  await s3?.stop();
});

const s3Store = (location: S3Location, maxAttempts?: number): S3BlobStore =>
  new S3BlobStore({
    client: createS3Client(location, { credentials: S3RVER_CREDENTIALS, ...(maxAttempts ? { maxAttempts } : {}) }),
    bucket: location.bucket,
    prefix: location.prefix,
    // The smallest part S3 allows, so the contract's blobs span several parts.
    partSize: S3_MIN_PART_SIZE,
  });

const s3Adapter: BlobStoreAdapter = {
  name: 'S3 (S3BlobStore on s3rver)',
  async open() {
    const bucket = await s3.createBucket();
    const location = s3.location(bucket, 'vault/blobs');
    return {
      store: s3Store(location),
      another: () => s3Store(location),
      async leaveCrashedPut(ageMs) {
        // What a process killed mid-upload leaves: a multipart upload started, a part sent, never completed.
        await s3.leaveUnfinishedUpload(bucket, `vault/blobs/${randomBytes(16).toString('hex')}`, ageMs);
      },
      async unreachable() {
        return s3Store({ ...location, endpoint: `http://127.0.0.1:${await closedPort()}` }, 2);
      },
      close: async () => {
        await fsp.rm(join(s3.directory, bucket), { recursive: true, force: true });
      },
    };
  },
};

for (const adapter of [filesystem, ownFolder, s3Adapter]) blobStoreContract(adapter);

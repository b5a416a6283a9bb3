// Composition of blob storage: the folder or S3 bucket STRONGROOM_BLOBS (or, for the offsite replica,
// STRONGROOM_REPLICA) names, and how old its unfinished uploads must be before they are safe to clean.
import type { Config } from '../config/config.js';
import type { BlobsSetting } from '../config/storage-settings.js';
import type { BlobStore } from '../domain/ports.js';
import { FsBlobStore } from '../storage/fs.blob-store.js';

/**
 * Staging younger than this is left alone, at start-up and by the worker's sweep: other processes
 * on the same bucket may be writing it. An S3 multipart upload is aged from when it started (a
 * 16 GiB upload on a slow link takes hours); the bucket's lifecycle rule (docs/operations.md) is
 * the backstop for anything this misses.
 */
const S3_STAGING_GRACE_MS = 24 * 60 * 60 * 1000;
/**
 * A folder's staging file is aged from its last write, which a live upload moves on at least every
 * minute (STAGING_TOUCH_MS), so an hour untouched is no upload in flight on any node sharing the folder.
 */
export const FS_STAGING_GRACE_MS = 60 * 60 * 1000;

/**
 * The blob store STRONGROOM_BLOBS names, and how much of its staging is safe to clean at start-up.
 * The S3 adapter (and the AWS SDK, 20-odd MB of memory) is loaded only when a bucket is named.
 */
export async function openBlobStore(config: Config, blobs: BlobsSetting = config.blobs): Promise<{ store: BlobStore; destroy: () => void; stagingGraceMs: number }> {
  if (blobs.kind === 's3') {
    const { createS3Client, S3BlobStore } = await import('../storage/s3.blob-store.js');
    const client = createS3Client(blobs);
    return { store: new S3BlobStore({ client, bucket: blobs.bucket, prefix: blobs.prefix, largestBlobBytes: config.maxUploadBytes }), destroy: () => client.destroy(), stagingGraceMs: S3_STAGING_GRACE_MS };
  }
  // Even the data directory's own folder may be shared (NFS, or STRONGROOM_BLOBS=/path on every node).
  const store = blobs.dir === undefined ? new FsBlobStore({ dataDir: config.dataDir }) : new FsBlobStore({ dataDir: config.dataDir, blobsDir: blobs.dir });
  return { store, destroy: () => undefined, stagingGraceMs: FS_STAGING_GRACE_MS };
}

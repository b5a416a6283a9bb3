// Crypto-shredding versions: their data keys erased in the caller's transaction (so no copy of a blob, replicas
// and backups included, can be read again) and their blobs queued for deletion in that same transaction, so a
// crash or a store that is down never leaves one behind for good. Disposal, the bin purge and a quarantine
// destroy that ends a document all shred through here.
import { deleteBlobsJob } from '../domain/jobs/kinds.js';
import type { Repos } from '../domain/repositories.js';
import type { Version } from '../domain/types.js';

/** How long a blob outlives its key: a read that opened it just before the shredding finishes reading ciphertext it can no longer decrypt anyway. */
const BLOB_DELETE_DELAY_MS = 60_000;

export async function shredVersions(repos: Repos, organisationId: string, versions: readonly Version[], now: Date): Promise<void> {
  for (const v of versions) await repos.documents.destroyVersionKey(v.id);
  if (versions.length > 0) await repos.jobs.enqueue(deleteBlobsJob, { blobIds: versions.map((v) => v.blobId) }, { now, runAt: new Date(now.getTime() + BLOB_DELETE_DELAY_MS), organisationId });
}

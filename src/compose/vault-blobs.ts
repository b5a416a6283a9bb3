// The vault's blobs: its blob store and offsite replica opened and claimed for this vault, the
// unfinished uploads a crash left cleaned, and the encrypted, self-healing reads and writes over both.
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Store } from '../db/store.js';
import { scrubJob } from '../domain/jobs/kinds.js';
import type { BlobStore, Clock } from '../domain/ports.js';
import type { StoreClaim, StoreOwnership } from '../services/store-ownership.js';
import { EncryptedBlobs } from '../storage/encrypted-blobs.js';
import { HealingBlobs } from '../storage/healing-blobs.js';
import { KeyRingImpl, type MasterKey } from '../storage/keys.js';
import { openBlobStore } from './blob-stores.js';
import { claimStoresAtOpen } from './store-claims.js';

export interface VaultBlobsParts {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  master: MasterKey;
  /** A command's --dry-run: nothing written to any blob store (main.ts OpenVaultOptions.dryRun). */
  dryRun: boolean;
  /** The restore finishing in this data directory, with the store its --blobs-from named; null otherwise. */
  restore: { blobsFrom: BlobStore | null } | null;
}

export interface VaultBlobs {
  /** The folder store, or the S3 store when STRONGROOM_BLOBS is an s3:// URL. */
  blobStore: BlobStore;
  /** The offsite replica's store (STRONGROOM_REPLICA), or null when turned off. */
  replicaStore: BlobStore | null;
  vaultId: string;
  ownership: StoreOwnership;
  storeClaims: StoreClaim[];
  keys: KeyRingImpl;
  primaryBlobs: EncryptedBlobs;
  replicaBlobs: EncryptedBlobs | null;
  /** Reads and writes for the services: the primary, healed from the replica. */
  blobs: HealingBlobs;
  /** Removes the blob store's unfinished uploads older than its grace; `when` names the occasion in the log. */
  cleanStaging(when: string): Promise<void>;
  /** Lets go of both stores' clients. */
  close(): void;
}

/** Opens the blob stores, claims them for this vault (or refuses, closing the database store) and builds the blobs over them. */
export async function openVaultBlobs({ config, store, clock, logger, master, dryRun, restore }: VaultBlobsParts): Promise<VaultBlobs> {
  const { store: blobStore, destroy: closeBlobStore, stagingGraceMs } = await openBlobStore(config);
  // Age-based, never "everything": another node on the same bucket or shared folder may be
  // uploading right now. A bucket that does not answer now (or a role without
  // s3:ListBucketMultipartUploads) must not keep the process from starting: leftovers wait for the
  // worker's hourly sweep or the bucket's lifecycle rule.
  const cleanStaging = async (when: string): Promise<void> => {
    const removed = await blobStore.cleanStaging(stagingGraceMs);
    if (removed > 0) logger.warn({ removed, olderThanMs: stagingGraceMs }, `removed unfinished uploads left by a crash (${when})`);
  };
  // The offsite replica: the same encrypted bytes under the same ids, in a second store.
  const replicaOpened = config.replica === null ? null : await openBlobStore(config, config.replica);
  const replicaStore = replicaOpened?.store ?? null;
  // One vault per store: a vault pointed at another's store or replica refuses to start (compose/store-claims.ts),
  // before it touches anything there (its staging cleanup included).
  const { vaultId, ownership, claims: storeClaims } = await claimStoresAtOpen({
    store, clock, logger, primary: blobStore, primaryOutageTolerated: config.blobs.kind === 's3', replica: replicaStore,
    restore, dryRun,
  }).catch(async (error: unknown) => {
    // Nothing else was opened yet; what was is closed, so a caller that goes on (a test, a supervisor) holds nothing.
    closeBlobStore();
    replicaOpened?.destroy();
    await store.close().catch(() => undefined);
    throw error;
  });
  // Age-based, never "everything": another node on the same bucket or shared folder may be
  // uploading right now. A bucket that does not answer now (or a role without
  // s3:ListBucketMultipartUploads) must not keep the process from starting: leftovers wait for the
  // worker's hourly sweep or the bucket's lifecycle rule.
  if (!dryRun) {
    await cleanStaging('at start-up').catch((err: unknown) => {
      if (config.blobs.kind !== 's3') throw err;
      logger.warn({ err }, 'could not clean unfinished uploads in the blob bucket; the bucket lifecycle rule will');
    });
  }
  // Other nodes may be copying into it now: only leftovers older than any copy can take go.
  if (replicaOpened && !dryRun) await replicaOpened.store.cleanStaging(replicaOpened.stagingGraceMs).catch((err: unknown) => logger.warn({ err }, 'could not clean unfinished copies in the replica; they are retried at the next start'));
  const keys = keyRingOver(master, store, clock);
  const primaryBlobs = new EncryptedBlobs({ keys, store: blobStore });
  const replicaBlobs = replicaStore === null ? null : new EncryptedBlobs({ keys, store: replicaStore });
  // Downloads: a bad primary copy is served from the replica and repaired by a scrub of that version.
  const scrubSoon = (versionId: string, organisationId: string): void => {
    store.repos.jobs.enqueue(scrubJob, { versionId, bytesPerSecond: SCRUB_REPAIR_BYTES_PER_SECOND }, { now: clock.now(), organisationId })
      .catch((err: unknown) => logger.error({ err, versionId }, 'could not queue the repair of a damaged blob'));
  };
  const blobs = new HealingBlobs({
    primary: primaryBlobs, replica: replicaBlobs,
    onPrimaryBad: (version, err) => {
      logger.warn({ err, versionId: version.versionId, blobId: version.blobId }, 'the primary copy of a blob is damaged or missing: served from the replica (unless it is unavailable), repair queued');
      scrubSoon(version.versionId, version.organisationId);
    },
    onUnreadable: (version, err) => {
      logger.error({ err, versionId: version.versionId, blobId: version.blobId }, 'a download found every copy of a blob damaged or missing; a scrub of it is queued');
      scrubSoon(version.versionId, version.organisationId);
    },
  });
  return {
    blobStore, replicaStore, vaultId, ownership, storeClaims, keys, primaryBlobs, replicaBlobs, blobs, cleanStaging,
    close: () => {
      closeBlobStore();
      replicaOpened?.destroy();
    },
  };
}

/**
 * The key hierarchy over a vault's database: its organisation keys, unwrapped with the master key. Also for
 * the restore and its drill, which open a restored database's versions with it.
 */
export function keyRingOver(master: MasterKey, store: Store, clock: Clock): KeyRingImpl {
  return new KeyRingImpl({
    master,
    clock,
    store: {
      current: (orgId) => store.repos.organisations.currentKey(orgId),
      byId: (keyId) => store.repos.organisations.keyById(keyId),
      insert: (row) => store.repos.organisations.insertKey(row),
    },
  });
}

/** A download that found a bad copy has that version scrubbed at this rate (bytes a second). */
export const SCRUB_REPAIR_BYTES_PER_SECOND = 50 * 1024 * 1024;

// Composition for `strongroom restore`: a backup into an empty data directory (and database), then
// its blobs from the replica into the new primary store. See docs/operations.md "Backup and restore".
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import type { BackupManifest } from './domain/backup/manifest.js';
import { DomainError } from './domain/errors.js';
import { openVault } from './main.js';
import { BackupService } from './services/backup.service.js';
import { systemActor } from './services/identity.service.js';
import { EncryptedBlobs } from './storage/encrypted-blobs.js';
import { loadMasterKey } from './storage/keys.js';
import { blobList, blobStoreAt, blobStoreFor, loadInto, openBackup } from './backup-open.js';
import { lockForRestore, markRestoreFinished } from './compose/restore-marker.js';
import { makeFolderDurably } from './storage/fs-folders.js';
import { keyRingOver, SCRUB_REPAIR_BYTES_PER_SECOND } from './compose/vault-blobs.js';
import { versionRef } from './services/document-ingestion.js';
import { extractTextJob, replicateJob, scrubJob } from './domain/jobs/kinds.js';
import type { TextStatus } from './domain/search/types.js';

/** A version whose blob did not come back: its id, its document's, and the blob id the backup names. */
export interface UnrestoredVersion {
  versionId: string;
  documentId: string;
  blobId: string;
}

export interface RestoreResult {
  manifest: BackupManifest;
  copied: number;
  shredded: number;
  /** Versions whose blob the replica does not have (not shredded ones). */
  missing: UnrestoredVersion[];
  /**
   * Versions whose replica copy is not the version (a chunk fails its tag, it is short or long, another
   * blob is in its place, or its plaintext's SHA-256 differs): nothing of it was written to the new
   * primary. `problem` says what failed.
   */
  damaged: Array<UnrestoredVersion & { problem: string }>;
}

/**
 * Restores a backup into the (empty) data directory and database `config` names, then copies
 * every referenced blob from `blobsFrom` (the replica) into the new primary blob store, each checked as
 * it passes (EncryptedBlobs.copyTo). A version whose replica copy is missing or damaged is reported and
 * left as a missing one is: naming a blob the new primary does not hold.
 */
export async function restoreBackup(config: Config, options: { from: string; blobsFrom?: string; key?: string; logger: Logger }): Promise<RestoreResult> {
  await makeFolderDurably(config.dataDir);
  const master = await loadMasterKey({ dataDir: config.dataDir, base64: config.masterKey, create: false }).catch((cause: unknown) => {
    throw new Error(`No master key: set STRONGROOM_MASTER_KEY, or put the vault's master key in ${path.join(config.dataDir, 'keys', 'master.key')} (mode 0600). It is never in a backup.`, { cause });
  });
  const opened = await openBackup(options.from, master, options.key);
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockForRestore(config.dataDir);
    const restoreId = await loadInto(opened, { dataDir: config.dataDir, databaseUrl: config.databaseUrl }, options.logger);
    // By default from the replica the configuration names (STRONGROOM_REPLICA), where the blobs are.
    const replica = options.blobsFrom ? blobStoreAt(options.blobsFrom, config.dataDir) : config.replica ? blobStoreFor(config.replica, config.dataDir) : null;
    let vault: Awaited<ReturnType<typeof openVault>>;
    try {
      // A --blobs-from store's marker is one the restored vault may take, if it holds the backup's blobs (compose/store-claims.ts vaultToAdopt).
      vault = await openVault(config, { logger: options.logger, startClamd: false, finishingRestore: true, ...(options.blobsFrom && replica ? { restoreBlobsFrom: replica.store } : {}) });
    } catch (error) {
      replica?.close();
      throw error;
    }
    try {
      // The backup's orphan candidates were the lost store's: here every blob gets a new id, and sweeps start afresh.
      await vault.store.repos.orphanBlobs.forgetAll();
      // The replica's copies read with the restored keys, so each is checked on its way into the new primary.
      const replicaBlobs = replica ? new EncryptedBlobs({ keys: keyRingOver(master, vault.store, vault.clock), store: replica.store }) : null;
      let copied = 0;
      let shredded = 0;
      const missing: RestoreResult['missing'] = [];
      const damaged: RestoreResult['damaged'] = [];
      for await (const entry of blobList(opened)) {
        if (entry.shredded) {
          shredded += 1;
          continue;
        }
        const unrestored = { versionId: entry.versionId, documentId: entry.documentId, blobId: entry.blobId };
        const restored: BlobOutcome = replicaBlobs ? await restoreBlob(vault, replicaBlobs, entry.versionId) : { outcome: 'missing' };
        if (restored.outcome === 'copied') copied += 1;
        else if (restored.outcome === 'missing') missing.push(unrestored);
        else damaged.push({ ...unrestored, problem: restored.problem });
      }
      await renderThumbnailsAgain(vault);
      await scrubSoon(vault, [...missing, ...damaged]);
      await new BackupService({ store: vault.store, access: vault.access, clock: vault.clock })
        .recordRestore(systemActor(), opened.manifest.id, { copied, shredded, missing: missing.length, damaged: damaged.length });
      // What rescans found infected after the backup is back as it was then, clean: scan it again (QuarantineService.rescanAfterRestore).
      await vault.quarantine.rescanAfterRestore(opened.manifest);
      await vault.store.durable();
      await markRestoreFinished(config.dataDir, restoreId);
      return { manifest: opened.manifest, copied, shredded, missing, damaged };
    } finally {
      replica?.close();
      await vault.close();
    }
  } finally {
    opened.location.close();
    await release?.();
  }
}

/**
 * One version's blob from the replica into the new primary store, under the id the store gives it, checked as
 * it passes with the version's restored row (every chunk opened with its data key, the plaintext hashed
 * against its SHA-256: EncryptedBlobs.copyTo, as the replicate job and scrub copy). Until 7 December the bytes
 * were copied unchecked, so a damaged replica copy (bit rot, a truncation, another blob put in its place by
 * someone who can write the replica) became the restored primary copy. Now a damaged copy completes nothing
 * in the new primary (a folder's staging file is removed, a bucket's upload aborted), and the version stays
 * as a missing one does, naming a blob the new primary does not hold: reading it is the same "stored copies
 * are damaged" error (for damage a read finds before its first byte), and a scrub reports it unrecoverable.
 * An outage or a full disk stops the restore.
 */
async function restoreBlob(vault: Awaited<ReturnType<typeof openVault>>, replicaBlobs: EncryptedBlobs, versionId: string): Promise<BlobOutcome> {
  const version = await vault.store.repos.documents.versionById(versionId);
  // The blob list and the database are the same snapshot, both checked against the signed manifest.
  if (version === undefined) throw new Error(`The backup's blob list names version ${versionId}, which its database does not hold.`);
  let id: string;
  try {
    ({ id } = await replicaBlobs.copyTo(versionRef(version, { id: version.documentId, organisationId: version.organisationId }), version.sha256, vault.blobStore, { newId: true }));
  } catch (error) {
    if (error instanceof DomainError && error.code === 'NOT_FOUND') return { outcome: 'missing' };
    if (error instanceof DomainError && error.code === 'INTEGRITY') return { outcome: 'damaged', problem: error.message };
    throw error;
  }
  // Blob ids are the store's: the copy may get a new one. The id is not in the blob's AAD (the version is), so re-pointing is safe.
  if (id !== version.blobId) await restoredAs(vault, version.id, id);
  return { outcome: 'copied' };
}

type BlobOutcome = { outcome: 'copied' } | { outcome: 'missing' } | { outcome: 'damaged'; problem: string };

/**
 * The version names its blob's new id. The replica holds the bytes only under the old one (which its ledger
 * and the older backups name), and the backups taken from now on name the new one: so the version waits for
 * the replica, counted by the lag gauges, and its `replicate` job copies it across. Until 7 December it kept
 * the backup's "replicated" mark: the gauges said the replica held everything, and after the next loss of the
 * primary a restore from a backup taken since found none of its blobs there.
 */
async function restoredAs(vault: Awaited<ReturnType<typeof openVault>>, versionId: string, blobId: string): Promise<void> {
  // Not awaited durable one by one: the restore waits for everything before it says it has finished.
  await vault.store.transaction(async (repos) => {
    await repos.replicas.restoredAs(versionId, blobId);
    if (vault.replicaStore === null) return;
    const version = await repos.documents.versionById(versionId);
    if (version === undefined) return;
    await repos.jobs.enqueue(replicateJob, { versionId }, { now: vault.clock.now(), organisationId: version.organisationId, bytes: version.size });
  }, { awaitDurable: false });
}

/**
 * A scrub of each version that did not come back, queued in the restored database, so that the restored vault's
 * worker finds it without a good copy as soon as it starts: it is marked unrecoverable (the ledger, the admin
 * page, `strongroom_blobs_unrecoverable`) and its organisation's security admins are told, as for any version a
 * scrub finds so. Until 7 December only the operator running the restore heard of them, and the ledger waited for
 * the daily scrub's random sample, or for somebody's download, to reach each one. A scrub reads the copies again
 * rather than trust this restore: a good copy put into the new primary under the blob's id meanwhile is found good.
 */
async function scrubSoon(vault: Awaited<ReturnType<typeof openVault>>, unrestored: readonly UnrestoredVersion[]): Promise<void> {
  for (let i = 0; i < unrestored.length; i += SCRUB_QUEUE_BATCH) {
    await vault.store.transaction(async (repos) => {
      for (const { versionId } of unrestored.slice(i, i + SCRUB_QUEUE_BATCH)) {
        const version = await repos.documents.versionById(versionId);
        if (version === undefined) continue;
        await repos.jobs.enqueue(scrubJob, { versionId, bytesPerSecond: SCRUB_REPAIR_BYTES_PER_SECOND }, { now: vault.clock.now(), organisationId: version.organisationId });
      }
    }, { awaitDurable: false });
  }
}

/** Scrub jobs queued a transaction at a time: a restore from a replica that lost everything names every version. */
const SCRUB_QUEUE_BATCH = 500;

/**
 * Thumbnails are kept in the primary store alone (derived from the version, never copied to the replica nor
 * listed in a backup), so none comes back with a restore. A version still naming one named a blob no store
 * held: every page showing it asked for it, and was answered 500 "This file's stored copies are damaged",
 * with an error logged and a scrub queued for an id that is no version's (attack review, 7 December 2026).
 * So each is forgotten, and a document's current version is queued for text extraction, which renders it again.
 */
async function renderThumbnailsAgain(vault: Awaited<ReturnType<typeof openVault>>): Promise<void> {
  let afterId = '';
  for (;;) {
    const page = await vault.store.db.selectFrom('versions as v').innerJoin('documents as d', 'd.id', 'v.document_id')
      .select(['v.id', 'v.size', 'v.organisation_id', 'v.text_status', 'v.text_reason', 'd.current_version_id'])
      .where('v.thumbnail_blob_id', 'is not', null).where('v.id', '>', afterId).orderBy('v.id').limit(500).execute();
    if (page.length === 0) return;
    await vault.store.transaction(async (repos) => {
      for (const row of page) {
        await repos.documents.setTextState(row.id, { status: row.text_status as TextStatus, reason: row.text_reason }, null);
        if (row.current_version_id !== row.id) continue;
        await repos.jobs.enqueue(extractTextJob, { versionId: row.id }, { now: vault.clock.now(), organisationId: row.organisation_id, bytes: row.size });
      }
    }, { awaitDurable: false });
    afterId = page[page.length - 1]!.id;
  }
}

// Composition for the replica's garbage collection: the blob ids the backups on the replica's shelf
// list. A restore of any of them copies those blobs from the replica under those ids, and a restore
// gives the primary's blobs new ids, so after one the replica's older blobs are named by backups alone.
import type { BlobsSetting } from './config/storage-settings.js';
import type { BackupBlobReferences } from './domain/ports.js';
import { blobList, openBackup } from './backup-open.js';
import { openBackupShelf } from './storage/backup-shelf.js';
import type { MasterKey } from './storage/keys.js';

/**
 * Every complete backup on the shelf that the master key opens counts, signed by this vault's audit key
 * or not: keeping too much is the safe side. One the master key cannot open (another vault's, or
 * something planted) throws, so the replica's sweep deletes nothing: a second vault's backups there
 * mean a second vault's blobs may be there too. A backup without a manifest is unfinished (being
 * written now, from versions the database names) or failed (restore refuses it): not read.
 */
export function shelfBlobReferences(replica: BlobsSetting, master: MasterKey): BackupBlobReferences {
  return {
    async among(blobIds) {
      const found = new Set<string>();
      if (blobIds.size === 0) return found;
      const shelf = openBackupShelf(replica);
      try {
        for (const backup of await shelf.list()) {
          if (!backup.complete) continue;
          const opened = await openBackup(backup.where, master, undefined, { checkParts: false }).catch((cause: unknown) => {
            throw new Error(`the backup ${backup.where} on the replica's shelf cannot be read, so what it needs from the replica is not known`, { cause });
          });
          try {
            for await (const entry of blobList(opened)) if (blobIds.has(entry.blobId)) found.add(entry.blobId);
          } finally {
            opened.location.close();
          }
        }
      } finally {
        shelf.close();
      }
      return found;
    },
  };
}

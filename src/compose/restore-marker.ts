// A restore leaves a marker in the data directory until it has finished: the keys, the database
// and the blobs come back one after another, and a data directory that holds some of them is not
// the vault. While the marker is there no process opens the vault on it (a start would otherwise
// open the restored keys beside a missing database as a new, empty vault), and a new restore may
// begin over what a failed one left.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { syncDirectory } from '../storage/fs-folders.js';
import { writeNewFileDurably } from '../storage/fs-file-writes.js';

export const RESTORE_MARKER = 'restore-unfinished';

const markerPath = (dataDir: string): string => path.join(dataDir, RESTORE_MARKER);

/** Written durably before the first file a restore writes. */
export async function markRestoreStarted(dataDir: string, backupId: string): Promise<void> {
  await fsp.rm(markerPath(dataDir), { force: true });
  await writeNewFileDurably(markerPath(dataDir), [Buffer.from(`A restore of backup ${backupId} into this data directory has not finished.\n`, 'utf8')], 0o600);
}

/** Removed durably once everything is back. */
export async function markRestoreFinished(dataDir: string): Promise<void> {
  await fsp.rm(markerPath(dataDir), { force: true });
  await syncDirectory(dataDir);
}

export async function restoreUnfinished(dataDir: string): Promise<boolean> {
  return fsp.lstat(markerPath(dataDir)).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return false;
    throw error;
  });
}

/**
 * Removes what a restore that did not finish left, so a new one starts from an empty data directory:
 * everything but the master key (which a restore never writes) and the marker itself.
 */
export async function clearUnfinishedRestore(dataDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await fsp.readdir(dataDir)) {
    if (entry === RESTORE_MARKER) continue;
    if (entry === 'keys') {
      for (const key of await fsp.readdir(path.join(dataDir, 'keys'))) {
        if (key === 'master.key') continue;
        await fsp.rm(path.join(dataDir, 'keys', key), { recursive: true, force: true });
        removed.push(`keys/${key}`);
      }
      continue;
    }
    await fsp.rm(path.join(dataDir, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

/** Refuses a data directory a restore has not finished with. */
export async function assertNoUnfinishedRestore(dataDir: string): Promise<void> {
  if (await restoreUnfinished(dataDir)) {
    throw new Error(`A restore into ${dataDir} did not finish (${markerPath(dataDir)} is there), so it does not hold a whole vault. Run "strongroom restore" again into it: it starts over from what the failed restore left (after emptying a PostgreSQL database it loaded), or restore into a new data directory.`);
  }
}

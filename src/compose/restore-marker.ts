// A restore leaves a marker in the data directory until it has finished: the keys, the database
// and the blobs come back one after another, and a data directory that holds some of them is not
// the vault. While the marker is there no process opens the vault on it (a start would otherwise
// open the restored keys beside a missing database as a new, empty vault). A restore holds a lock
// for as long as it runs, so a second one into the same directory is refused rather than clearing
// the first one's files under it; a restore run again after one that failed removes only
// what a restore writes, and refuses anything else it finds.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FileLockHeldError, takeFileLock } from '../storage/file-lock.js';
import { syncDirectory } from '../storage/fs-folders.js';
import { writeNewFileDurably } from '../storage/fs-file-writes.js';

export const RESTORE_MARKER = 'restore-unfinished';
export const RESTORE_LOCK = 'restore.lock';

/** What a restore writes into a data directory, and so all that starting one over may remove. */
const RESTORED_ENTRIES = ['strongroom.db', 'strongroom.db-wal', 'strongroom.db-shm', 'strongroom.db-journal', 'blobs', 'tmp'];
// The lock beside the signer's copy is there only while a signer holds it, or after one was killed holding it.
const RESTORED_KEYS = ['audit-signing.key', 'audit-last-checkpoint.note', 'audit-last-checkpoint.note.lock'];

const markerPath = (dataDir: string): string => path.join(dataDir, RESTORE_MARKER);
/** A marker staged by markRestoreStarted and not yet renamed into place (a restore stopped between the two). */
const isStagedMarker = (entry: string): boolean => entry.startsWith(`.${RESTORE_MARKER}.`) && entry.endsWith('.tmp');

/**
 * Takes the data directory for one restore: fails at once when another restore holds it. The lock is
 * the kernel's (storage/file-lock.ts), so a restore that was killed lets go of it as it dies, and the
 * next one starts over what it left. Returns the release.
 */
export async function lockForRestore(dataDir: string): Promise<() => Promise<void>> {
  const lock = path.join(dataDir, RESTORE_LOCK);
  try {
    return await takeFileLock(lock, { waitMs: 0 });
  } catch (error) {
    if (!(error instanceof FileLockHeldError)) throw error;
    throw new Error(`Another restore into ${dataDir} is running${error.holder ? ` (${lock} says: ${error.holder})` : ''}. Wait for it to finish, or stop it, and run this one again.`, { cause: error });
  }
}

/**
 * Written durably before the first file a restore writes; answers the id the restore finishes with.
 * A marker a failed restore left is replaced in one rename, so the directory is never unmarked.
 */
export async function markRestoreStarted(dataDir: string, backupId: string): Promise<string> {
  const id = randomBytes(12).toString('hex');
  const staged = path.join(dataDir, `.${RESTORE_MARKER}.${id}.tmp`);
  await writeNewFileDurably(staged, [Buffer.from(`${id}\nA restore of backup ${backupId} into this data directory has not finished.\n`, 'utf8')], 0o600);
  await fsp.rename(staged, markerPath(dataDir));
  await syncDirectory(dataDir);
  return id;
}

/** Removed durably once everything is back, and only if it is still this restore's marker. */
export async function markRestoreFinished(dataDir: string, id: string): Promise<void> {
  const marker = await fsp.readFile(markerPath(dataDir), 'utf8');
  if (marker.split('\n')[0] !== id) throw new Error(`The restore marker in ${dataDir} is not this restore's: another restore ran into the same data directory. Restore into it again.`);
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
 * Removes what a restore that did not finish wrote (the database, the primary blob folder, the
 * restored audit key and note), so a new one starts from an empty data directory. Anything else
 * there, or a `keys` that is not a plain folder, is left alone and refused: the marker says a
 * restore began here, not that everything beside it may go.
 */
export async function clearUnfinishedRestore(dataDir: string): Promise<string[]> {
  const entries = await fsp.readdir(dataDir);
  const keysDir = path.join(dataDir, 'keys');
  const keys = entries.includes('keys') ? await plainFolderEntries(keysDir) : [];
  const restored = (entry: string): boolean => RESTORED_ENTRIES.includes(entry) || isStagedMarker(entry);
  const unknown = [
    ...entries.filter((e) => e !== 'keys' && e !== RESTORE_MARKER && e !== RESTORE_LOCK && !restored(e)),
    ...keys.filter((k) => k !== 'master.key' && !RESTORED_KEYS.includes(k)).map((k) => `keys/${k}`),
  ];
  if (unknown.length > 0) {
    throw new Error(`Refusing to start the unfinished restore into ${dataDir} over: it also holds ${unknown.slice(0, 3).join(', ')}, which no restore writes. Move that away, or restore into a new, empty data directory.`);
  }
  const removed = [...entries.filter(restored), ...keys.filter((k) => RESTORED_KEYS.includes(k)).map((k) => `keys/${k}`)];
  for (const entry of removed) await fsp.rm(path.join(dataDir, entry), { recursive: true, force: true });
  if (keys.length > 0) await syncDirectory(keysDir);
  await syncDirectory(dataDir);
  return removed;
}

async function plainFolderEntries(folder: string): Promise<string[]> {
  const stat = await fsp.lstat(folder);
  if (!stat.isDirectory()) throw new Error(`${folder} is not a folder (a link or a file is there): refusing to clear a restore through it.`);
  return fsp.readdir(folder);
}

/** Refuses a data directory a restore has not finished with. */
export async function assertNoUnfinishedRestore(dataDir: string): Promise<void> {
  if (await restoreUnfinished(dataDir)) {
    throw new Error(`A restore into ${dataDir} did not finish (${markerPath(dataDir)} is there), so it does not hold a whole vault. Run "strongroom restore" again into it: it starts over from what the failed restore left (after emptying a PostgreSQL database it loaded), or restore into a new data directory.`);
  }
}

// Composition for the scheduled backup (the `backup` job, STRONGROOM_BACKUP=daily) and the choice on
// the replica's backups shelf: which backups count as this vault's, the newest one (restore's and the
// drill's default --from), and which are pruned. See docs/operations.md "Backup and restore".
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config/config.js';
import { verifierKeyFromSigner } from './domain/audit/signed-note.js';
import { auditKeyPath } from './compose/audit-keys.js';
import type { Vault } from './main.js';
import { backupFolderName, beyondKept, openBackupShelf, type BackupShelf, type ShelvedBackup } from './storage/backup-shelf.js';
import { loadMasterKey, type MasterKey } from './storage/keys.js';
import { takeBackup } from './backup.js';
import { openBackup } from './backup-open.js';

/**
 * The day's backup into the replica's `backups/<UTC time>/` (the same signed, encrypted backup
 * `strongroom backup` writes, with its `storage.backup` event), recorded for /metrics and the
 * Storage page; then the backups beyond STRONGROOM_BACKUP_KEEP are removed, oldest first. Once a
 * UK day across the cluster: the day is recorded in the database, and the job's key is the day.
 */
export async function scheduledBackup(vault: Vault, date: string): Promise<'taken' | 'already-taken' | 'off'> {
  const { config, logger } = vault;
  if (config.backupSchedule === 'off' || config.replica === null) return 'off';
  if (await vault.backups.scheduledOn(date)) return 'already-taken';
  const shelf = openBackupShelf(config.replica);
  try {
    const where = shelf.whereFor(backupFolderName(vault.clock.now()));
    const manifest = await takeBackup(vault, where);
    await vault.backups.recordScheduled(date, { id: manifest.id, at: manifest.createdAt, location: where });
    logger.info({ backupId: manifest.id, where }, 'scheduled backup written to the replica');
    // Only backups this vault signed are counted as kept, so folders planted on the shelf never push them out.
    const master = await loadMasterKey({ dataDir: config.dataDir, base64: config.masterKey, create: false });
    const { backups, skipped } = await signedBackups(shelf, master, manifest.auditKey);
    for (const s of skipped) logger.warn({ backup: s.backup.where, problem: s.problem }, 'a folder on the backups shelf is not a backup of this vault: not counted, and left unless older than those kept');
    for (const old of beyondKept(backups, config.backupKeep, { now: vault.clock.now() })) {
      // A write-once bucket refuses until its retention ends: the backup stays, and is tried again tomorrow.
      await shelf.remove(old).catch((err: unknown) => logger.warn({ err, backup: old.where }, 'could not remove an old backup beyond STRONGROOM_BACKUP_KEEP (a write-once bucket?); retried after the next backup'));
    }
    return 'taken';
  } finally {
    shelf.close();
  }
}

/**
 * The newest backup of this vault on the replica's backups shelf: restore's and the drill's default
 * --from. "Newest" by the time in its signed manifest, among those the master key opens and whose
 * signature verifies (with `pinnedKey` when given: the vault's audit key), never by folder name:
 * whoever can write the shelf can plant a later-named folder, or copy an old backup there.
 */
export async function newestBackup(config: Config, pinnedKey?: string): Promise<string> {
  if (config.replica === null) throw new Error('No --from given, and STRONGROOM_REPLICA is none: give the backup with --from.');
  const master = await loadMasterKey({ dataDir: config.dataDir, base64: config.masterKey, create: false }).catch((cause: unknown) => {
    throw new Error(`No master key: set STRONGROOM_MASTER_KEY, or put the vault's master key in ${path.join(config.dataDir, 'keys', 'master.key')} (mode 0600). It is needed to tell this vault's backups from others.`, { cause });
  });
  // On a live vault (the drill) its own audit key; into an empty data directory (restore), --key or the backup's.
  const ownKey = await readFile(auditKeyPath(config.dataDir), 'utf8').then((k) => verifierKeyFromSigner(k.trim()), () => undefined);
  const shelf = openBackupShelf(config.replica);
  try {
    const { backups, skipped } = await signedBackups(shelf, master, pinnedKey ?? ownKey);
    const newest = backups.filter((b) => b.signed !== undefined)
      .sort((a, b) => b.signed!.createdAt.localeCompare(a.signed!.createdAt) || a.name.localeCompare(b.name))[0];
    if (newest === undefined) {
      const why = skipped.map((s) => ` Skipped ${s.backup.name}: ${s.problem}`).join('');
      throw new Error(`No --from given, and there is no complete backup of this vault in ${shelf.description} (STRONGROOM_REPLICA): give the backup with --from.${why}`);
    }
    return newest.where;
  } finally {
    shelf.close();
  }
}

/** The shelf's backups, each complete one's signed manifest opened (parts not read): `signed` set on those that verify. */
async function signedBackups(shelf: BackupShelf, master: MasterKey, pinnedKey?: string): Promise<{ backups: ShelvedBackup[]; skipped: Array<{ backup: ShelvedBackup; problem: string }> }> {
  const backups: ShelvedBackup[] = [];
  const skipped: Array<{ backup: ShelvedBackup; problem: string }> = [];
  for (const backup of await shelf.list()) {
    if (!backup.complete) {
      backups.push(backup);
      continue;
    }
    try {
      const opened = await openBackup(backup.where, master, pinnedKey, { checkParts: false });
      opened.location.close();
      backups.push({ ...backup, signed: { id: opened.manifest.id, createdAt: opened.manifest.createdAt } });
    } catch (error) {
      backups.push(backup);
      skipped.push({ backup, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  return { backups, skipped };
}

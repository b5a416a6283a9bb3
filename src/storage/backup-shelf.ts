// The scheduled backups kept in the replica: `backups/<UTC time>/` below the replica's folder or
// prefix, one backup each (storage/backup-archive.ts writes inside). Lists them newest first, finds
// the newest complete one (restore's default --from) and removes those beyond the number kept.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { BlobsSetting } from '../config/storage-settings.js';
import { MANIFEST_FILE } from './backup-archive.js';
import { createS3Client, normalisePrefix } from './s3.blob-store.js';

/** A backup folder's name: the UTC time it was started, sortable (20261130T080000Z). */
const BACKUP_NAME = /^\d{8}T\d{6}Z$/;

/** How long a folder without a signed manifest may still be a backup in progress. */
const IN_PROGRESS_MS = 2 * 24 * 3600 * 1000;

export function backupFolderName(at: Date): string {
  return `${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
}

export interface ShelvedBackup {
  name: string;
  /** Where it is, as `strongroom restore --from` takes it. */
  where: string;
  /** Whether it has a manifest (a backup that failed half-way has none). */
  complete: boolean;
  /** Set once its manifest was opened with the master key and verified with the vault's audit key. */
  signed?: { id: string; createdAt: string };
}

export interface BackupShelf {
  /** The shelf itself, for messages. */
  readonly description: string;
  /** Where a new backup named `name` goes (for takeBackup's `out`). */
  whereFor(name: string): string;
  /** Every backup folder, newest first. */
  list(): Promise<ShelvedBackup[]>;
  /** Deletes one backup folder, every file in it. */
  remove(backup: ShelvedBackup): Promise<void>;
  close(): void;
}

/** The backups shelf of a replica: `<folder>/backups/` or `s3://bucket/<prefix>backups/`. */
export function openBackupShelf(replica: BlobsSetting): BackupShelf {
  if (replica.kind === 's3') return bucketShelf(replica);
  if (replica.dir === undefined) throw new Error('The replica is the data directory\'s own blob folder: backups need a replica elsewhere.');
  return folderShelf(path.join(replica.dir, 'backups'));
}

/**
 * Which backups to remove so that `keep` backups of this vault stay. Only backups whose signed
 * manifest was opened (`signed`) are kept or counted, newest by their signed time, one copy of each:
 * whoever can write the shelf can plant folders with later names (a copy of an old backup, a
 * "manifest" of their own), and those must never push the real ones out. Removed: every other copy
 * of a kept backup and every signed backup beyond `keep`, and anything else named before the oldest
 * kept one (half-written backups); folders named after it that are not signed backups are left
 * (another node's backup in progress, or something to look at, never deleted on a guess).
 */
export function beyondKept(backups: ShelvedBackup[], keep: number, options: { now?: Date } = {}): ShelvedBackup[] {
  // A folder without a signed manifest started in the last two days may be another worker's backup
  // still being written (a retry running late beside the next day's job): never deleted under it.
  const recent = options.now === undefined ? undefined : backupFolderName(new Date(options.now.getTime() - IN_PROGRESS_MS));
  const signed = backups.filter((b) => b.signed !== undefined)
    .sort((a, b) => b.signed!.createdAt.localeCompare(a.signed!.createdAt) || a.name.localeCompare(b.name));
  const kept: ShelvedBackup[] = [];
  const ids = new Set<string>();
  for (const b of signed) {
    if (kept.length === keep) break;
    if (ids.has(b.signed!.id)) continue;
    ids.add(b.signed!.id);
    kept.push(b);
  }
  if (kept.length < keep) return signed.filter((b) => !kept.includes(b)); // only extra copies
  const oldestKeptName = kept.map((b) => b.name).sort()[0]!;
  return [...backups].sort((a, b) => b.name.localeCompare(a.name))
    .filter((b) => !kept.includes(b) && (b.signed !== undefined || (b.name < oldestKeptName && (recent === undefined || b.name < recent))));
}

function folderShelf(root: string): BackupShelf {
  return {
    description: root,
    whereFor: (name) => path.join(root, name),
    async list() {
      const names = (await readdir(root).catch(() => [] as string[])).filter((n) => BACKUP_NAME.test(n)).sort().reverse();
      const found: ShelvedBackup[] = [];
      for (const name of names) {
        const complete = await stat(path.join(root, name, MANIFEST_FILE)).then((s) => s.isFile(), () => false);
        found.push({ name, where: path.join(root, name), complete });
      }
      return found;
    },
    async remove(backup) {
      if (!BACKUP_NAME.test(backup.name)) throw new Error(`${backup.name} is not a scheduled backup's folder.`);
      await rm(path.join(root, backup.name), { recursive: true, force: true });
    },
    close: () => undefined,
  };
}

function bucketShelf(replica: Extract<BlobsSetting, { kind: 's3' }>): BackupShelf {
  const client = createS3Client(replica);
  const folder = `${normalisePrefix(replica.prefix)}backups/`;
  const query = new URLSearchParams();
  if (replica.endpoint !== undefined) query.set('endpoint', replica.endpoint);
  if (replica.region !== undefined) query.set('region', replica.region);
  if (replica.forcePathStyle) query.set('forcePathStyle', 'true');
  const suffix = query.size > 0 ? `?${query.toString()}` : '';
  const whereFor = (name: string) => `s3://${replica.bucket}/${folder}${name}${suffix}`;
  return {
    description: `s3://${replica.bucket}/${folder}`,
    whereFor,
    async list() {
      const names: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: replica.bucket, Prefix: folder, Delimiter: '/' })) {
        for (const p of page.CommonPrefixes ?? []) {
          const name = (p.Prefix ?? '').slice(folder.length).replace(/\/$/, '');
          if (BACKUP_NAME.test(name)) names.push(name);
        }
      }
      names.sort().reverse();
      const found: ShelvedBackup[] = [];
      for (const name of names) {
        const answer = await client.send(new ListObjectsV2Command({ Bucket: replica.bucket, Prefix: `${folder}${name}/${MANIFEST_FILE}`, MaxKeys: 1 }));
        found.push({ name, where: whereFor(name), complete: (answer.KeyCount ?? 0) > 0 });
      }
      return found;
    },
    async remove(backup) {
      if (!BACKUP_NAME.test(backup.name)) throw new Error(`${backup.name} is not a scheduled backup's folder.`);
      // The manifest first: a backup half-deleted is then one restore refuses, never one it trusts.
      await client.send(new DeleteObjectCommand({ Bucket: replica.bucket, Key: `${folder}${backup.name}/${MANIFEST_FILE}` }));
      for await (const page of paginateListObjectsV2({ client }, { Bucket: replica.bucket, Prefix: `${folder}${backup.name}/` })) {
        for (const object of page.Contents ?? []) if (object.Key) await client.send(new DeleteObjectCommand({ Bucket: replica.bucket, Key: object.Key }));
      }
    },
    close: () => client.destroy(),
  };
}

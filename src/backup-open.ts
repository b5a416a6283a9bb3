// Opening a backup (every check before anything is written) and loading its keys and database into
// an empty data directory: shared by restore (backup-restore.ts) and the drill (backup-restore-drill.ts),
// and used to tell this vault's backups from others on the shelf (backup-schedule.ts).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { parseBlobsSetting, type BlobsSetting } from './config/storage-settings.js';
import { verifierKeyFromSigner } from './domain/audit/signed-note.js';
import type { BackupManifest, BlobEntry } from './domain/backup/manifest.js';
import { MANIFEST_KIND, openJson } from './domain/backup/signed-json.js';
import type { BlobStore } from './domain/ports.js';
import { openPostgres, type DatabaseHandle } from './db/kysely.js';
import { assertEmptyPostgres, assertKnownMigrations, loadPostgres } from './db/snapshot.js';
import { auditKeyPath, auditLastCheckpointPath } from './compose/audit-keys.js';
import { clearUnfinishedRestore, markRestoreStarted, RESTORE_LOCK, RESTORE_MARKER, restoreUnfinished } from './compose/restore-marker.js';
import { checkPart, MANIFEST_FILE, openBackupKey, openBackupLocation, partLines, readPart, readPartText, type BackupLocation } from './storage/backup-archive.js';
import { FsBlobStore } from './storage/fs.blob-store.js';
import { writeNewFileDurably } from './storage/fs-file-writes.js';
import { makeFolderDurably } from './storage/fs-folders.js';
import type { MasterKey } from './storage/keys.js';
import { createS3Client, S3BlobStore } from './storage/s3.blob-store.js';

/** The embedded SQLite database's file in a data directory (and in a backup's scratch copy). */
export const DATABASE_FILE = 'strongroom.db';

export interface OpenedBackup {
  location: BackupLocation;
  manifest: BackupManifest;
  key: Buffer;
  keys: { 'audit-signing.key': string; 'audit-last-checkpoint.note': string | null };
  part(name: string): BackupManifest['parts'][number];
}

/**
 * Opens a backup and checks everything before anything is written: the master key opens its key,
 * every part's SHA-256 matches, the keys part decrypts, and the manifest's signature verifies with
 * the audit key (the one given as `pinnedKey`, or else the one in the backup).
 */
export async function openBackup(from: string, master: MasterKey, pinnedKey?: string, options: { checkParts?: boolean } = {}): Promise<OpenedBackup> {
  const location = openBackupLocation(from);
  try {
    const note = await location.readText(MANIFEST_FILE, MANIFEST_MAX_BYTES);
    const claimed = unverifiedManifest(note, from);
    let key: Buffer;
    try {
      key = openBackupKey(master, claimed.id, claimed.wrappedKey);
    } catch (cause) {
      throw new Error(`The master key does not open the backup in ${from}: give the master key of the vault that made it (STRONGROOM_MASTER_KEY, or keys/master.key in the target data directory).`, { cause });
    }
    // Skipped only to tell this vault's backups from others on a shelf: a restore reads every part through its hash anyway.
    if (options.checkParts !== false) for (const part of claimed.parts) await checkPart(location, part);
    const partOf = (name: string) => {
      const found = claimed.parts.find((p) => p.name === name);
      if (!found) throw new Error(`The backup in ${from} has no ${name} part.`);
      return found;
    };
    const keys = JSON.parse(await readPartText(location, claimed.id, key, partOf('keys.json'))) as OpenedBackup['keys'];
    const verifier = pinnedKey ?? verifierKeyFromSigner(keys['audit-signing.key']);
    let manifest: BackupManifest;
    try {
      manifest = openJson<BackupManifest>(MANIFEST_KIND, note, verifier);
    } catch (cause) {
      throw new Error(`The manifest of the backup in ${from} does not verify with the audit key: it was changed, or made by another vault.`, { cause });
    }
    if (verifierKeyFromSigner(keys['audit-signing.key']) !== verifier) throw new Error(`The backup in ${from} holds another audit key than the one given.`);
    // The parts were checked against the manifest as read before its signature was; they must be the signed ones.
    if (JSON.stringify(manifest) !== JSON.stringify(claimed)) throw new Error(`The manifest of the backup in ${from} is not the one that was signed.`);
    return { location, manifest, key, keys, part: partOf };
  } catch (error) {
    location.close();
    throw error;
  }
}

/** A manifest lists a handful of parts and tables: far below this. */
const MANIFEST_MAX_BYTES = 1024 * 1024;

function unverifiedManifest(note: string, from: string): BackupManifest {
  try {
    const value = JSON.parse(note.split('\n')[1] ?? '') as BackupManifest;
    if (value.format !== 'strongroom-backup/1' || typeof value.id !== 'string' || !Array.isArray(value.parts)) throw new Error('not a manifest');
    return value;
  } catch (cause) {
    throw new Error(`${from} does not hold a Strongroom backup manifest.`, { cause });
  }
}

/** Lets only keys/master.key (and a restore's own lock and marker) through: anything else means the data directory is in use. */
async function assertEmptyDataDir(dataDir: string): Promise<void> {
  const entries = await readdir(dataDir).catch(() => [] as string[]);
  const keys = entries.includes('keys') ? await readdir(path.join(dataDir, 'keys')) : [];
  const other = [...entries.filter((e) => e !== 'keys' && e !== RESTORE_MARKER && e !== RESTORE_LOCK), ...keys.filter((k) => k !== 'master.key').map((k) => `keys/${k}`)];
  if (other.length > 0) throw new Error(`Refusing to restore into ${dataDir}: the data directory is not empty (it holds ${other.slice(0, 3).join(', ')}). Restore into a new, empty data directory.`);
}

/**
 * Writes the keys and the database of an opened backup into an empty data directory (and empty
 * PostgreSQL database), after marking the restore as unfinished there. Answers the marker's id: the
 * caller removes the mark with it once it has brought the rest back (markRestoreFinished). What a
 * restore that failed or was cut off wrote is removed first, and this one starts over.
 */
export async function loadInto(opened: OpenedBackup, target: { dataDir: string; databaseUrl?: string | undefined }, logger?: Logger): Promise<string> {
  const { manifest } = opened;
  if ((manifest.dialect === 'postgres') !== Boolean(target.databaseUrl)) {
    throw new Error(manifest.dialect === 'postgres'
      ? 'This backup is of a PostgreSQL vault: restore it with --database-url (an empty PostgreSQL database).'
      : 'This backup is of an embedded SQLite vault: restore it without --database-url.');
  }
  assertKnownMigrations(manifest.migrations);
  if (await restoreUnfinished(target.dataDir)) {
    const removed = await clearUnfinishedRestore(target.dataDir);
    logger?.warn({ dataDir: target.dataDir, removed }, 'a restore into this data directory had not finished: what it left was removed, and this one starts over');
  }
  await assertEmptyDataDir(target.dataDir);
  let handle: DatabaseHandle | null = null;
  if (target.databaseUrl) {
    handle = openPostgres(target.databaseUrl, 2);
    try {
      await assertEmptyPostgres(handle.db, 'the given PostgreSQL database');
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  try {
    // Until the caller has brought every part back (markRestoreFinished), no process opens the vault here.
    const restoreId = await markRestoreStarted(target.dataDir, manifest.id);
    await makeFolderDurably(path.join(target.dataDir, 'keys'));
    // Every file restored is flushed with its folder, so a crash soon after a restore loses nothing of it.
    await writeNewFileDurably(auditKeyPath(target.dataDir), [Buffer.from(`${opened.keys['audit-signing.key']}\n`, 'utf8')], 0o600);
    const note = opened.keys['audit-last-checkpoint.note'];
    if (note !== null) await writeNewFileDurably(auditLastCheckpointPath(target.dataDir), [Buffer.from(note, 'utf8')], 0o600);
    if (handle) {
      const loaded = await loadPostgres(handle.db, handle.caps, manifest.migrations, partLines(opened.location, manifest.id, opened.key, opened.part('database.jsonl')));
      const wrong = Object.entries(manifest.tables).filter(([table, count]) => (loaded[table] ?? 0) !== count);
      if (wrong.length > 0) throw new Error(`The restored row counts differ from the manifest for ${wrong.map(([t]) => t).join(', ')}.`);
    } else {
      const plain = await readPart(opened.location, manifest.id, opened.key, opened.part('database.sqlite'));
      await writeNewFileDurably(path.join(target.dataDir, DATABASE_FILE), plain, 0o600);
    }
    logger?.info({ backupId: manifest.id }, 'database restored');
    return restoreId;
  } finally {
    await handle?.close();
  }
}

export async function* blobList(opened: OpenedBackup): AsyncIterable<BlobEntry> {
  for await (const line of partLines(opened.location, opened.manifest.id, opened.key, opened.part('blobs.jsonl'))) {
    if (line !== '') yield JSON.parse(line) as BlobEntry;
  }
}

/** A blob store named the way STRONGROOM_BLOBS names one: a folder or s3://bucket/prefix?…. */
export function blobStoreAt(where: string, dataDir: string): { store: BlobStore; close: () => void } {
  const { setting, problems } = parseBlobsSetting(where);
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
  return blobStoreFor(setting, dataDir);
}

export function blobStoreFor(setting: BlobsSetting, dataDir: string): { store: BlobStore; close: () => void } {
  if (setting.kind === 's3') {
    const client = createS3Client(setting);
    return { store: new S3BlobStore({ client, bucket: setting.bucket, prefix: setting.prefix, largestBlobBytes: Number.MAX_SAFE_INTEGER }), close: () => client.destroy() };
  }
  return { store: new FsBlobStore({ dataDir, blobsDir: setting.dir ?? path.join(dataDir, 'blobs') }), close: () => undefined };
}

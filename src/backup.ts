// Composition for `strongroom backup | restore | restore-drill`: wires the database snapshot
// (db/snapshot.ts), the encrypted archive (storage/backup-archive.ts), blob stores and the audit
// machinery. What each step records is the BackupService's (services/backup.service.ts).
// See docs/operations.md "Backup and restore".
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import pg from 'pg';
import { parseBlobsSetting, type BlobsSetting, type Config } from './config/config.js';
import { openCheckpoint, verifierKeyFromSigner } from './domain/audit/signed-note.js';
import type { SourcedCheckpoint } from './domain/audit/checkpoint-history.js';
import type { BackupManifest, BlobEntry, DrillDocumentResult, DrillReport } from './domain/backup/manifest.js';
import { DRILL_REPORT_KIND, MANIFEST_KIND, openJson, signJson } from './domain/backup/signed-json.js';
import { DomainError } from './domain/errors.js';
import { systemClock, type BlobStore, type CheckpointCopies as CheckpointCopiesPort } from './domain/ports.js';
import { openPostgres, openSqlite, type DatabaseHandle } from './db/kysely.js';
import { migrate } from './db/migrate.js';
import { assertEmptyPostgres, assertKnownMigrations, blobEntries, loadPostgres, snapshotFacts, sqliteSnapshot, withPostgresSnapshot } from './db/snapshot.js';
import { Store } from './db/store.js';
import { auditKeyPath, auditLastCheckpointPath, openCheckpointCopies, openVault, type Vault } from './main.js';
import { AccessService } from './services/access.service.js';
import { AuditService } from './services/audit.service.js';
import { BackupService } from './services/backup.service.js';
import { systemActor } from './services/identity.service.js';
import { checkPart, MANIFEST_FILE, newBackupKey, openBackupKey, openBackupLocation, partLines, readPart, readPartText, writePart, type BackupLocation } from './storage/backup-archive.js';
import { backupFolderName, beyondKept, openBackupShelf, type BackupShelf, type ShelvedBackup } from './storage/backup-shelf.js';
import { EncryptedBlobs } from './storage/encrypted-blobs.js';
import { FsBlobStore } from './storage/fs.blob-store.js';
import { deriveKey, KeyRingImpl, loadMasterKey, type MasterKey } from './storage/keys.js';
import { DerivedSearchKeys } from './storage/search-keys.js';
import { createS3Client, normalisePrefix, S3BlobStore } from './storage/s3.blob-store.js';

const DATABASE_FILE = 'strongroom.db';

// ---------------------------------------------------------------------------------------------
// Backup

/** Takes a backup of the open vault to a folder or s3:// prefix; answers the signed manifest. */
export async function takeBackup(vault: Vault, out: string): Promise<BackupManifest> {
  const { config, store } = vault;
  const master = await loadMasterKey({ dataDir: config.dataDir, base64: config.masterKey, create: false });
  const signerKey = (await readFile(auditKeyPath(config.dataDir), 'utf8')).trim();
  const location = openBackupLocation(out);
  try {
    if ((await location.names()).length > 0) throw new DomainError('CONFLICT', `${location.description} already holds files: give each backup a folder (or prefix) of its own.`);
    const id = `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${randomBytes(4).toString('hex')}`;
    // The backup's own event goes in first and is signed for, so the backup holds it under a checkpoint
    // and a restore of the newest backup verifies against the offsite copies without a gap.
    await new BackupService({ store, access: vault.access, clock: vault.clock }).recordBackup(systemActor(), id, location.description);
    await vault.audit.flush();
    const { key, wrapped } = newBackupKey(master, id);

    const keys = writePart(location, id, key, 'keys.json');
    const signerNote = await readFile(auditLastCheckpointPath(config.dataDir), 'utf8').catch(() => null);
    await keys.write(JSON.stringify({ 'audit-signing.key': signerKey, 'audit-last-checkpoint.note': signerNote }));
    const parts = [await keys.done()];

    let facts: Awaited<ReturnType<typeof snapshotFacts>>;
    let counts: { referenced: number; shredded: number };
    if (store.caps.dialect === 'sqlite') {
      // VACUUM INTO a private temporary folder; the copy is encrypted with the database key, as the original.
      const scratch = await mkdtemp(path.join(tmpdir(), 'sr-backup-'));
      try {
        const file = path.join(scratch, DATABASE_FILE);
        await sqliteSnapshot(store.db, file);
        const snapshot = openSqlite({ file, key: deriveKey(master, 'sqlite-database') });
        try {
          facts = await snapshotFacts(snapshot.db, snapshot.caps);
          const blobs = writePart(location, id, key, 'blobs.jsonl');
          counts = await writeBlobList(blobs, blobEntries(snapshot.db));
          parts.push(await blobs.done());
        } finally {
          await snapshot.close();
        }
        const database = writePart(location, id, key, 'database.sqlite');
        await pipeline(createReadStream(file), database.input);
        parts.push(await database.done());
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    } else {
      ({ facts, counts } = await withPostgresSnapshot(store.db, store.caps, async (trx, rows) => {
        const snapshotFactsNow = await snapshotFacts(trx, store.caps);
        const blobs = writePart(location, id, key, 'blobs.jsonl');
        const blobCounts = await writeBlobList(blobs, blobEntries(trx));
        parts.push(await blobs.done());
        const database = writePart(location, id, key, 'database.jsonl');
        await rows((line) => database.write(line));
        parts.push(await database.done());
        return { facts: snapshotFactsNow, counts: blobCounts };
      }));
    }

    const manifest: BackupManifest = {
      format: 'strongroom-backup/1', id, createdAt: vault.clock.now().toISOString(), dialect: store.caps.dialect,
      migrations: facts.migrations, tables: facts.tables,
      audit: { origin: config.auditOrigin, treeSize: facts.treeSize, checkpoint: facts.checkpoint },
      auditKey: verifierKeyFromSigner(signerKey), wrappedKey: wrapped, parts, blobs: counts,
    };
    await location.writeText(MANIFEST_FILE, signJson(MANIFEST_KIND, manifest, signerKey));
    return manifest;
  } finally {
    location.close();
  }
}

async function writeBlobList(part: ReturnType<typeof writePart>, entries: AsyncIterable<BlobEntry>): Promise<{ referenced: number; shredded: number }> {
  let referenced = 0;
  let shredded = 0;
  for await (const entry of entries) {
    referenced += 1;
    if (entry.shredded) shredded += 1;
    await part.write(`${JSON.stringify(entry)}\n`);
  }
  return { referenced, shredded };
}

// ---------------------------------------------------------------------------------------------
// The scheduled backup (the `backup` job, STRONGROOM_BACKUP=daily)

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

// ---------------------------------------------------------------------------------------------
// Opening a backup

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

/** Lets only keys/master.key through: anything else means the data directory is in use. */
async function assertEmptyDataDir(dataDir: string): Promise<void> {
  const entries = await readdir(dataDir).catch(() => [] as string[]);
  const keys = entries.includes('keys') ? await readdir(path.join(dataDir, 'keys')) : [];
  const other = [...entries.filter((e) => e !== 'keys'), ...keys.filter((k) => k !== 'master.key').map((k) => `keys/${k}`)];
  if (other.length > 0) throw new Error(`Refusing to restore into ${dataDir}: the data directory is not empty (it holds ${other.slice(0, 3).join(', ')}). Restore into a new, empty data directory.`);
}

/** Writes the keys and the database of an opened backup into an empty data directory (and empty PostgreSQL database). */
async function loadInto(opened: OpenedBackup, target: { dataDir: string; databaseUrl?: string | undefined }, logger?: Logger): Promise<void> {
  const { manifest } = opened;
  if ((manifest.dialect === 'postgres') !== Boolean(target.databaseUrl)) {
    throw new Error(manifest.dialect === 'postgres'
      ? 'This backup is of a PostgreSQL vault: restore it with --database-url (an empty PostgreSQL database).'
      : 'This backup is of an embedded SQLite vault: restore it without --database-url.');
  }
  assertKnownMigrations(manifest.migrations);
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
    await mkdir(path.join(target.dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await writeFile(auditKeyPath(target.dataDir), `${opened.keys['audit-signing.key']}\n`, { flag: 'wx', mode: 0o600 });
    const note = opened.keys['audit-last-checkpoint.note'];
    if (note !== null) await writeFile(auditLastCheckpointPath(target.dataDir), note, { flag: 'wx', mode: 0o600 });
    if (handle) {
      const loaded = await loadPostgres(handle.db, handle.caps, manifest.migrations, partLines(opened.location, manifest.id, opened.key, opened.part('database.jsonl')));
      const wrong = Object.entries(manifest.tables).filter(([table, count]) => (loaded[table] ?? 0) !== count);
      if (wrong.length > 0) throw new Error(`The restored row counts differ from the manifest for ${wrong.map(([t]) => t).join(', ')}.`);
    } else {
      const plain = await readPart(opened.location, manifest.id, opened.key, opened.part('database.sqlite'));
      await pipeline(plain, createWriteStream(path.join(target.dataDir, DATABASE_FILE), { flags: 'wx', mode: 0o600 }));
    }
    logger?.info({ backupId: manifest.id }, 'database restored');
  } finally {
    await handle?.close();
  }
}

async function* blobList(opened: OpenedBackup): AsyncIterable<BlobEntry> {
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

function blobStoreFor(setting: BlobsSetting, dataDir: string): { store: BlobStore; close: () => void } {
  if (setting.kind === 's3') {
    const client = createS3Client(setting);
    return { store: new S3BlobStore({ client, bucket: setting.bucket, prefix: setting.prefix, largestBlobBytes: Number.MAX_SAFE_INTEGER }), close: () => client.destroy() };
  }
  return { store: new FsBlobStore({ dataDir, blobsDir: setting.dir ?? path.join(dataDir, 'blobs') }), close: () => undefined };
}

// ---------------------------------------------------------------------------------------------
// Restore

export interface RestoreResult {
  manifest: BackupManifest;
  copied: number;
  shredded: number;
  /** Versions whose blob the replica does not have (not shredded ones). */
  missing: Array<{ versionId: string; documentId: string; blobId: string }>;
}

/**
 * Restores a backup into the (empty) data directory and database `config` names, then copies
 * every referenced blob from `blobsFrom` (the replica) into the new primary blob store.
 */
export async function restoreBackup(config: Config, options: { from: string; blobsFrom?: string; key?: string; logger: Logger }): Promise<RestoreResult> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const master = await loadMasterKey({ dataDir: config.dataDir, base64: config.masterKey, create: false }).catch((cause: unknown) => {
    throw new Error(`No master key: set STRONGROOM_MASTER_KEY, or put the vault's master key in ${path.join(config.dataDir, 'keys', 'master.key')} (mode 0600). It is never in a backup.`, { cause });
  });
  const opened = await openBackup(options.from, master, options.key);
  try {
    await loadInto(opened, { dataDir: config.dataDir, databaseUrl: config.databaseUrl }, options.logger);
    const vault = await openVault(config, { logger: options.logger, startClamd: false });
    // By default from the replica the configuration names (STRONGROOM_REPLICA), where the blobs are.
    const replica = options.blobsFrom ? blobStoreAt(options.blobsFrom, config.dataDir) : config.replica ? blobStoreFor(config.replica, config.dataDir) : null;
    try {
      let copied = 0;
      let shredded = 0;
      const missing: RestoreResult['missing'] = [];
      for await (const entry of blobList(opened)) {
        if (entry.shredded) {
          shredded += 1;
          continue;
        }
        if (!replica) {
          missing.push({ versionId: entry.versionId, documentId: entry.documentId, blobId: entry.blobId });
          continue;
        }
        try {
          const { id } = await vault.blobStore.put(await replica.store.get(entry.blobId));
          // Blob ids are the store's: the copy may get a new one. The id is not in the blob's AAD (the version is), so re-pointing is safe.
          if (id !== entry.blobId) await vault.store.db.updateTable('versions').set({ blob_id: id }).where('id', '=', entry.versionId).execute();
          copied += 1;
        } catch (error) {
          if (!(error instanceof DomainError && error.code === 'NOT_FOUND')) throw error;
          missing.push({ versionId: entry.versionId, documentId: entry.documentId, blobId: entry.blobId });
        }
      }
      await new BackupService({ store: vault.store, access: vault.access, clock: vault.clock }).recordRestore(systemActor(), opened.manifest.id, { copied, shredded, missing: missing.length });
      return { manifest: opened.manifest, copied, shredded, missing };
    } finally {
      replica?.close();
      await vault.close();
    }
  } finally {
    opened.location.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Restore drill

export interface DrillOptions {
  from: string;
  /** The replica (a folder or s3:// URL); by default the vault's replica, or its own blob store without one. */
  replica?: string;
  sample: number;
  logger: Logger;
}

/** The signed report file: the report, and the same report in a note signed with the audit key. */
export interface SignedDrillReport {
  report: DrillReport;
  signedNote: string;
}

/**
 * Restores the backup into a scratch area (a temporary data directory; for PostgreSQL, a scratch
 * database created beside the live one and dropped after), reads a random sample of documents'
 * current versions from the replica through the restored keys, checks every byte against the
 * recorded SHA-256, verifies the restored audit log against the offsite checkpoints, and records
 * the signed report in the LIVE log.
 */
export async function restoreDrill(vault: Vault, options: DrillOptions): Promise<SignedDrillReport> {
  const { config } = vault;
  const master = await loadMasterKey({ dataDir: config.dataDir, base64: config.masterKey, create: false });
  const signerKey = (await readFile(auditKeyPath(config.dataDir), 'utf8')).trim();
  const opened = await openBackup(options.from, master, verifierKeyFromSigner(signerKey));
  const scratch = await mkdtemp(path.join(tmpdir(), 'sr-drill-'));
  const scratchDb = config.databaseUrl ? await createScratchDatabase(config.databaseUrl) : null;
  // By default the vault's replica (STRONGROOM_REPLICA), or its primary store when the replica is off.
  const replica = options.replica ? blobStoreAt(options.replica, scratch) : { store: vault.replicaStore ?? vault.blobStore, close: () => undefined };
  let handle: DatabaseHandle | null = null;
  try {
    await loadInto(opened, { dataDir: scratch, databaseUrl: scratchDb?.url }, options.logger);
    handle = scratchDb ? openPostgres(scratchDb.url, 2) : openSqlite({ file: path.join(scratch, DATABASE_FILE), key: deriveKey(master, 'sqlite-database') });
    await migrate(handle.db, handle.caps);
    const store = new Store(handle, deriveKey(master, 'audit-event-seal'), new DerivedSearchKeys(master));
    const keys = new KeyRingImpl({
      master, clock: systemClock,
      store: { current: (o) => store.repos.organisations.currentKey(o), byId: (k) => store.repos.organisations.keyById(k), insert: (r) => store.repos.organisations.insertKey(r) },
    });
    const blobs = new EncryptedBlobs({ keys, store: replica.store });

    const sample = await sampleCurrent(blobEntries(store.db), options.sample);
    const documents: DrillDocumentResult[] = [];
    for (const entry of sample) documents.push(await checkDocument(store, blobs, entry));

    const audit = await verifyRestoredLog(store, config, scratch, signerKey);
    const totals = { ok: 0, shredded: 0, missing: 0, corrupt: 0 };
    for (const d of documents) totals[d.result] += 1;
    const report: DrillReport = {
      format: 'strongroom-restore-drill/1', when: vault.clock.now().toISOString(),
      backup: { id: opened.manifest.id, createdAt: opened.manifest.createdAt, dialect: opened.manifest.dialect },
      sampleSize: documents.length, documents, audit, totals, passed: audit.ok && totals.missing === 0 && totals.corrupt === 0,
    };
    const signedNote = signJson(DRILL_REPORT_KIND, report, signerKey);
    await new BackupService({ store: vault.store, access: vault.access, clock: vault.clock })
      .recordDrill(systemActor(), report, createHash('sha256').update(signedNote).digest('hex'));
    return { report, signedNote };
  } finally {
    await handle?.close();
    replica.close();
    opened.location.close();
    await scratchDb?.drop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Verifies a drill report file offline with the audit public key; any edit to it fails. */
export function checkDrillReport(file: SignedDrillReport, verifierKey: string): DrillReport {
  const signed = openJson<DrillReport>(DRILL_REPORT_KIND, file.signedNote, verifierKey);
  if (JSON.stringify(signed) !== JSON.stringify(file.report)) throw new DomainError('INTEGRITY', 'The report differs from what was signed: it was edited.');
  return signed;
}

/** N documents' current versions chosen uniformly at random (reservoir sampling: bounded memory). */
async function sampleCurrent(entries: AsyncIterable<BlobEntry>, n: number): Promise<BlobEntry[]> {
  const chosen: BlobEntry[] = [];
  let seen = 0;
  for await (const entry of entries) {
    if (!entry.current) continue;
    seen += 1;
    if (chosen.length < n) chosen.push(entry);
    else {
      const at = randomInt(seen);
      if (at < n) chosen[at] = entry;
    }
  }
  return chosen;
}

async function checkDocument(store: Store, blobs: EncryptedBlobs, entry: BlobEntry): Promise<DrillDocumentResult> {
  const base = { documentId: entry.documentId, versionId: entry.versionId };
  if (entry.shredded) return { ...base, result: 'shredded' };
  const row = await store.db.selectFrom('versions').select('wrapped_key').where('id', '=', entry.versionId).executeTakeFirstOrThrow();
  try {
    const plain = await blobs.openRange({ blobId: entry.blobId, organisationId: entry.organisationId, documentId: entry.documentId, versionId: entry.versionId, keyId: entry.keyId, wrappedKey: row.wrapped_key!, size: entry.size });
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of plain) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    const sha = hash.digest('hex');
    if (sha !== entry.sha256 || bytes !== entry.size) return { ...base, result: 'corrupt', problem: `read ${bytes} bytes with SHA-256 ${sha}; recorded ${entry.size} bytes with ${entry.sha256}` };
    return { ...base, result: 'ok', bytes };
  } catch (error) {
    if (error instanceof DomainError && error.code === 'NOT_FOUND') return { ...base, result: 'missing', problem: `blob ${entry.blobId} is not in the replica` };
    return { ...base, result: 'corrupt', problem: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The restored log against the offsite checkpoints: those up to its size must all be consistent
 * with it (the usual `audit verify`); newer ones are expected (written after the backup) and counted.
 */
async function verifyRestoredLog(store: Store, config: Config, scratch: string, signerKey: string): Promise<DrillReport['audit']> {
  const verifierKey = verifierKeyFromSigner(signerKey);
  const treeSize = await store.repos.audit.treeSize();
  // The offsite folder, and the replica's bucket when it is one.
  const opened = openCheckpointCopies(config, scratch);
  const live = opened.copies;
  let newer = 0;
  // A note that does not open stays in (size 0), for verify to name.
  const sizeOf = (c: SourcedCheckpoint) => {
    try {
      return openCheckpoint(c.note, verifierKey).treeSize;
    } catch {
      return 0;
    }
  };
  const upToBackup = (list: SourcedCheckpoint[]) => list.filter((c) => {
    if (sizeOf(c) > treeSize) newer += 1;
    return sizeOf(c) <= treeSize;
  });
  // Whether the signer's own copy of its last checkpoint (restored from the backup) is among the offsite copies.
  let signerCopyOffsite = true;
  const copies: CheckpointCopiesPort = {
    remember: () => Promise.resolve(),
    latest: async () => (await live.latest()).filter((c) => sizeOf(c) <= treeSize),
    all: async () => {
      newer = 0;
      const all = await live.all();
      const outside = new Set([...all.offsite, ...all.newest].map((c) => c.note));
      signerCopyOffsite = all.signer.every((c) => outside.has(c.note));
      const result = { offsite: upToBackup(all.offsite), newest: all.newest.filter((c) => sizeOf(c) <= treeSize), signer: all.signer };
      return result;
    },
  };
  const access = new AccessService(store, systemClock);
  const audit = new AuditService({
    store, access, clock: systemClock, origin: config.auditOrigin, signerKey, verifierKey, copies,
    checkpointEvents: Number.MAX_SAFE_INTEGER, checkpointSeconds: Number.MAX_SAFE_INTEGER, logger: { error: () => undefined },
  });
  const result = await audit.verify(systemActor()).finally(() => opened.close());
  if (result.ok && !signerCopyOffsite) {
    // The signer writes every checkpoint offsite before its own copy: with none of them left there, the
    // check above was against nothing outside the backup, and a rollback would pass it.
    const signed = (await readFile(auditLastCheckpointPath(scratch), 'utf8').then((n) => sizeOf({ source: '', note: n }), () => 0));
    const where = [config.offsiteDir, ...(config.replica?.kind === 's3' ? [`s3://${config.replica.bucket}/${normalisePrefix(config.replica.prefix)}checkpoints/`] : [])].join(' and ');
    return {
      ok: false, treeSize, checkpointsChecked: result.checkpoints + result.offsiteCheckpoints, newerOffsiteCheckpoints: newer,
      problem: `The backup's last signed checkpoint (${signed} events, the signer's own copy in the backup) is in none of the offsite copies (${where}): they were deleted, or are not where this vault kept them, so the restored log was not checked against them.`,
    };
  }
  return result.ok
    ? { ok: true, treeSize: result.treeSize, checkpointsChecked: result.checkpoints + result.offsiteCheckpoints, newerOffsiteCheckpoints: newer }
    : { ok: false, treeSize, checkpointsChecked: result.offsiteCheckpoints, newerOffsiteCheckpoints: newer, problem: result.problem };
}

/** A scratch PostgreSQL database beside the live one (the live role needs CREATEDB), dropped after the drill. */
async function createScratchDatabase(liveUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `strongroom_drill_${randomBytes(6).toString('hex')}`;
  const run = async (text: string) => {
    const client = new pg.Client({ connectionString: liveUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await run(`create database ${name}`);
  const url = new URL(liveUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

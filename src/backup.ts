// Composition for `strongroom backup`: wires the database snapshot (db/snapshot.ts), the encrypted
// archive (storage/backup-archive.ts) and the audit machinery into one signed, encrypted backup. What
// each step records is the BackupService's (services/backup.service.ts). Its siblings, one job each:
// backup-open.ts (opening a backup and loading it into an empty data directory), backup-restore.ts,
// backup-restore-drill.ts and backup-schedule.ts (the daily backup and the newest one on the shelf).
// See docs/operations.md "Backup and restore".
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { verifierKeyFromSigner } from './domain/audit/signed-note.js';
import type { BackupManifest, BlobEntry } from './domain/backup/manifest.js';
import { MANIFEST_KIND, signJson } from './domain/backup/signed-json.js';
import { DomainError } from './domain/errors.js';
import { openSqlite, SNAPSHOT_CACHE_MIB } from './db/kysely.js';
import { blobEntries, snapshotFacts, withPostgresSnapshot } from './db/snapshot.js';
import { auditKeyPath, auditLastCheckpointPath } from './compose/audit-keys.js';
import type { Vault } from './main.js';
import { BackupService } from './services/backup.service.js';
import { systemActor } from './services/identity.service.js';
import { MANIFEST_FILE, newBackupKey, openBackupLocation, writePart } from './storage/backup-archive.js';
import { deriveKey, loadMasterKey } from './storage/keys.js';
import { DATABASE_FILE } from './backup-open.js';

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
    await vault.audit.sequencer.flush();
    const { key, wrapped } = newBackupKey(master, id);

    const keys = writePart(location, id, key, 'keys.json');
    const signerNote = await readFile(auditLastCheckpointPath(config.dataDir), 'utf8').catch(() => null);
    await keys.write(JSON.stringify({ 'audit-signing.key': signerKey, 'audit-last-checkpoint.note': signerNote }));
    const parts = [await keys.done()];

    let facts: Awaited<ReturnType<typeof snapshotFacts>>;
    let counts: { referenced: number; shredded: number };
    if (store.caps.dialect === 'sqlite') {
      // VACUUM INTO a private temporary folder, on a thread of its own; the copy is encrypted with the database key, as the original.
      const scratch = await mkdtemp(path.join(tmpdir(), 'sr-backup-'));
      try {
        const file = path.join(scratch, DATABASE_FILE);
        await store.snapshotInto(file);
        // What the copy holds goes offsite: every commit in it is on disk here first, so a crash cannot
        // leave a backup holding writes the vault itself lost (docs/architecture.md "Durability").
        await store.durable();
        // Its facts and blob list are read on this thread, a page at a time, through a cache as small as the copy's.
        const snapshot = openSqlite({ file, key: deriveKey(master, 'sqlite-database'), mainCacheMib: SNAPSHOT_CACHE_MIB });
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

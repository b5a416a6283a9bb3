// Composition for `strongroom restore-drill`: restores a backup into a scratch area, reads a sample of
// documents from the replica, verifies the restored audit log against the offsite checkpoints, and
// records the signed report in the live log. See docs/operations.md "Backup and restore".
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import pg from 'pg';
import type { Config } from './config/config.js';
import { openCheckpoint, verifierKeyFromSigner } from './domain/audit/signed-note.js';
import type { SourcedCheckpoint } from './domain/audit/checkpoint-history.js';
import type { BlobEntry, DrillDocumentResult, DrillReport } from './domain/backup/manifest.js';
import { DRILL_REPORT_KIND, openJson, signJson } from './domain/backup/signed-json.js';
import { DomainError } from './domain/errors.js';
import { systemClock, type CheckpointCopies as CheckpointCopiesPort } from './domain/ports.js';
import { openPostgres, openSqlite, type DatabaseHandle } from './db/kysely.js';
import { migrateSealing } from './compose/sign-in-seals.js';
import { blobEntries } from './db/snapshot.js';
import { Store } from './db/store.js';
import { auditKeyPath, auditLastCheckpointPath, openCheckpointCopies } from './compose/audit-keys.js';
import type { Vault } from './main.js';
import { AccessService } from './services/access.service.js';
import { PersonStanding } from './services/person-standing.js';
import { composeAudit } from './compose/audit.js';
import { keyRingOver } from './compose/vault-blobs.js';
import { BackupService } from './services/backup.service.js';
import { systemActor } from './services/identity.service.js';
import { EncryptedBlobs } from './storage/encrypted-blobs.js';
import { deriveKey, loadMasterKey } from './storage/keys.js';
import { DerivedSearchKeys } from './storage/search-keys.js';
import { DerivedSignInSeals } from './storage/sign-in-seals.js';
import { normalisePrefix } from './storage/s3.blob-store.js';
import { blobStoreAt, DATABASE_FILE, loadInto, openBackup } from './backup-open.js';

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
    // Migrated as an open would migrate it, so an older backup's rows are sealed as its restore would seal them.
    const store = new Store(handle, deriveKey(master, 'audit-event-seal'), new DerivedSearchKeys(master), new DerivedSignInSeals(master));
    await migrateSealing(handle, store, systemClock, options.logger, { verifierKey: verifierKeyFromSigner(signerKey), origin: config.auditOrigin });
    const blobs = new EncryptedBlobs({ keys: keyRingOver(master, store, systemClock), store: replica.store });

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
  const opened = await openCheckpointCopies(config, scratch);
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
  // Only the audit log's verification runs here, as the system: no person is read.
  const access = new AccessService(store, systemClock, new PersonStanding({ clock: systemClock }));
  const audit = composeAudit({
    store, access, clock: systemClock, origin: config.auditOrigin, signerKey, verifierKey, copies,
    checkpointEvents: Number.MAX_SAFE_INTEGER, checkpointSeconds: Number.MAX_SAFE_INTEGER, logger: { error: () => undefined },
  });
  const result = await audit.verification.verify(systemActor()).finally(() => opened.close());
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

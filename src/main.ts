// Composition root: reads the Config once, picks the adapters (SQLite or PostgreSQL, filesystem blobs,
// our own clamd or an existing one), builds the services and starts background work.
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { composeAudit } from './compose/audit.js';
import { loadSigningKey, openCheckpointCopies } from './compose/audit-keys.js';
import { assertNoUnfinishedRestore } from './compose/restore-marker.js';
import { openBlobStore } from './compose/blob-stores.js';
import { claimStoresAtOpen } from './compose/store-claims.js';
import type { StoreClaim } from './services/store-ownership.js';
import { queueDailyBackup, queueDailyRecordsSweeps, scheduleDailyJobsPrune, scheduleDailyOrphanSweep, scheduleDailyScrub } from './compose/daily-jobs.js';
import { composeIdentity } from './compose/identity.js';
import { migrateSealing } from './compose/sign-in-seals.js';
import { composeMail } from './compose/mail.js';
import type { Config } from './config/config.js';
import { offsiteInsideDataDir } from './config/storage-settings.js';
import { verifierKeyFromSigner } from './domain/audit/signed-note.js';
import { systemClock, type BlobStore, type Clock, type Scanner } from './domain/ports.js';
import { DEFAULT_SERVICE_AREAS } from './domain/types.js';
import { parseRetentionSchedule, type SeriesTerms } from './domain/records/schedule.js';
import type { SyncFile } from './db/group-commit.js';
import { openPostgres, openSqlite, ping } from './db/kysely.js';
import { Store } from './db/store.js';
import { DerivedSignInSeals } from './storage/sign-in-seals.js';
import { ClamdScanner } from './integrations/clamd.scanner.js';
import { ClamdSupervisor } from './integrations/clamd.supervisor.js';
import { PolicyFileInspector } from './integrations/policy.file-inspector.js';
import { compactSearchJob, extractTextJob, pruneFinishedJobsJob, searchPurgeJob, searchRenameJob, sendAccountNoticeSummaryJob, sendEmailJob, sweepOrphanBlobsJob } from './domain/jobs/kinds.js';
import { backupJob, deleteBlobsJob, disposalSweepJob, disposeBatchJob, purgeBinJob, replicaDeleteJob, replicateJob, rescanJob, scanVersionJob, scrubJob } from './domain/jobs/kinds.js';
import { BackupService } from './services/backup.service.js';
import { JobRegistry, handle as handleJob } from './jobs/registry.js';
import { JobWorker } from './jobs/worker.js';
import { AccessService } from './services/access.service.js';
import type { AppServices } from './services/app-services.js';
import { ArrangementsService } from './services/arrangements.service.js';
import { CertificatesService } from './services/certificates.service.js';
import { PdfCertificateRenderer } from './integrations/certificate-pdf.js';
import { CollectionCreationService } from './services/collection-creation.service.js';
import { CollectionMovesService } from './services/collection-moves.service.js';
import { CollectionsService } from './services/collections.service.js';
import { DavService } from './services/dav.service.js';
import { FolderCopyService } from './services/folder-copy.service.js';
import { DisposalService } from './services/disposal.service.js';
import { DocumentFilingService } from './services/document-filing.service.js';
import { DocumentIngestion } from './services/document-ingestion.js';
import { RATE_GRACE_MS } from './services/ingest.js';
import { DocumentsService } from './services/documents.service.js';
import { FairScanner } from './services/fair-scanner.js';
import { HoldsService } from './services/holds.service.js';
import { SubjectAccessAnswersService } from './services/subject-access-answers.service.js';
import { SubjectAccessPackageService } from './services/subject-access-package.service.js';
import { SubjectAccessRequestsService } from './services/subject-access-requests.service.js';
import { SubjectAccessViewsService } from './services/subject-access-views.service.js';
import { ukWorkingDays } from './integrations/uk-working-days.js';
import { systemActor } from './services/identity.service.js';
import { JobsAdminService } from './services/jobs-admin.service.js';
import { KeysService } from './services/keys.service.js';
import { DocumentLifecycle } from './services/lifecycle.js';
import { LocksService } from './services/locks.service.js';
import { QuarantineNotifier, QuarantineService } from './services/quarantine.service.js';
import { DueDateChecks } from './services/retention-due-dates.js';
import { RemovalsService } from './services/removals.service.js';
import { SubtreeAccess } from './services/subtree-access.js';
import { RetentionEventsService } from './services/retention-events.service.js';
import { RetentionService } from './services/retention.service.js';
import { ReplicationService } from './services/replication.service.js';
import { ScrubService } from './services/scrub.service.js';
import { OrphanBlobsService } from './services/orphan-blobs.service.js';
import { SearchService } from './services/search.service.js';
import { SearchBudget } from './services/search-budget.js';
import { ContainedTextExtractor } from './integrations/text-extraction/extractor.js';
import { ContainedThumbnailer } from './integrations/thumbnails.js';
import { ContainedLogoImages } from './integrations/logo-images.js';
import { BrandingService } from './services/branding.service.js';
import { makeSnippet } from './domain/search/snippet.js';
import { subscribeSearch, TextIndexing } from './services/text-indexing.js';
import type { TextExtractor, Thumbnailer } from './domain/ports.js';
import { UploadAdmission } from './services/upload-admission.js';
import { EncryptedBlobs } from './storage/encrypted-blobs.js';
import { HealingBlobs } from './storage/healing-blobs.js';
import { KeyRingImpl, deriveKey, loadMasterKey } from './storage/keys.js';
import { DerivedSearchKeys } from './storage/search-keys.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Everything openVault built. Interfaces are given it as `AppServices` (services only); the adapters
 * here (store, scanner, worker, blob store) are for the process's own lifecycle and for tests.
 */
export interface Vault extends AppServices {
  store: Store;
  scanner: Scanner;
  worker: JobWorker;
  /** Document lifecycle hooks; main.ts subscribes the scan job, later slices their own jobs. */
  lifecycle: DocumentLifecycle;
  /** The folder store, or the S3 store when STRONGROOM_BLOBS is an s3:// URL. */
  blobStore: BlobStore;
  /** The offsite replica's store (STRONGROOM_REPLICA), or null when turned off. */
  replicaStore: BlobStore | null;
  /** This vault's id, which its blob stores' markers name (services/vault-identity.ts). */
  vaultId: string;
  /** The stores this open claimed (their markers written), or in a dry run would have claimed (services/store-ownership.ts). */
  storeClaims: StoreClaim[];
  /** Upload slots shared by every process over this database (for tests and diagnosis). */
  admission: UploadAdmission;
  /**
   * For the worker and all roles: starts the job worker (refusing, by throwing, when the job table
   * holds a kind no handler runs), audit sequencing and the signature-update watcher. The web role
   * runs none of these. See docs/operations.md "Process roles".
   */
  startBackground(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenVaultOptions {
  /** Create the data directory and keys if absent (init, demo, serve). */
  create?: boolean;
  /**
   * Start our own clamd when STRONGROOM_CLAMD is unset (serve); 'unless-running' reuses the clamd of a
   * server already running on this data directory; CLI commands that do not scan leave it alone.
   */
  startClamd?: boolean | 'unless-running';
  logger?: Logger;
  clock?: Clock;
  /** How SQLite's write-ahead log is made durable (fdatasync unless a test holds it back). */
  syncDatabaseLog?: SyncFile;
  /** Test seam: holds SQLite's search reads on their thread (db/sqlite-read-protocol.ts ReaderSettings.gate). */
  searchReadGate?: Int32Array;
  /** The restore itself, bringing the blobs back into a data directory marked as being restored; everything else is refused there. */
  finishingRestore?: boolean;
  /** The restore's --blobs-from store: one whose marker the restored vault may take (compose/store-claims.ts vaultToAdopt). */
  restoreBlobsFrom?: BlobStore;
  /**
   * A command's --dry-run: the open writes nothing to any blob store. It claims no store (an unmarked one
   * it would claim is in `storeClaims`, unclaimed, and claimed by the next real open), still refuses a store
   * another vault's marker names, and leaves crash leftovers in the stores' staging for a real run to clean.
   */
  dryRun?: boolean;
}

export async function openVault(config: Config, options: OpenVaultOptions = {}): Promise<Vault> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const create = options.create ?? false;
  if (create) {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  } else if (!(await exists(config.dataDir))) {
    throw new Error(`No data directory at ${config.dataDir}: run "strongroom init --data ${config.dataDir}" first.`);
  }
  if (!options.finishingRestore) await assertNoUnfinishedRestore(config.dataDir);
  if (offsiteInsideDataDir(config)) {
    logger.warn(
      { offsiteDir: config.offsiteDir, dataDir: config.dataDir },
      'the offsite folder is inside the data directory it protects: a restored or rewritten data directory takes its audit checkpoints with it; set STRONGROOM_OFFSITE to another disk or host',
    );
  }
  const formerOffsite = path.join(config.dataDir, 'offsite', 'audit-checkpoints');
  if (path.resolve(config.offsiteDir, 'audit-checkpoints') !== formerOffsite && (await exists(formerOffsite))) {
    // Before the default moved out of the data directory; left there, these checkpoints are no longer checked.
    logger.warn({ formerOffsite, offsiteDir: config.offsiteDir }, `audit checkpoints found in ${formerOffsite}: move them into ${path.join(config.offsiteDir, 'audit-checkpoints')}, where they are checked`);
  }
  const master = await loadMasterKey({ dataDir: config.dataDir, base64: config.masterKey, create });
  const signerKey = await loadSigningKey(config, create);

  const handle = config.databaseUrl
    ? openPostgres(config.databaseUrl, 10, (err) => logger.warn({ err }, 'a pooled PostgreSQL connection was closed by the server; the next query opens a new one'))
    : openSqlite({
      file: path.join(config.dataDir, 'strongroom.db'), key: deriveKey(master, 'sqlite-database'), cacheMib: config.sqliteCacheMib,
      ...(options.syncDatabaseLog ? { syncFile: options.syncDatabaseLog } : {}),
      ...(options.searchReadGate ? { searchReadGate: options.searchReadGate } : {}),
    });
  const store = new Store(handle, deriveKey(master, 'audit-event-seal'), new DerivedSearchKeys(master), new DerivedSignInSeals(master));
  await migrateSealing(handle, store, clock, logger);

  const { store: blobStore, destroy: closeBlobStore, stagingGraceMs } = await openBlobStore(config);
  // Age-based, never "everything": another node on the same bucket or shared folder may be
  // uploading right now. A bucket that does not answer now (or a role without
  // s3:ListBucketMultipartUploads) must not keep the process from starting: leftovers wait for the
  // worker's hourly sweep or the bucket's lifecycle rule.
  const cleanStaging = async (when: string): Promise<void> => {
    const removed = await blobStore.cleanStaging(stagingGraceMs);
    if (removed > 0) logger.warn({ removed, olderThanMs: stagingGraceMs }, `removed unfinished uploads left by a crash (${when})`);
  };
  // The offsite replica: the same encrypted bytes under the same ids, in a second store.
  const replicaOpened = config.replica === null ? null : await openBlobStore(config, config.replica);
  const replicaStore = replicaOpened?.store ?? null;
  // One vault per store: a vault pointed at another's store or replica refuses to start (compose/store-claims.ts),
  // before it touches anything there (its staging cleanup included).
  const dryRun = options.dryRun ?? false;
  const { vaultId, ownership, claims: storeClaims } = await claimStoresAtOpen({
    store, clock, logger, primary: blobStore, primaryOutageTolerated: config.blobs.kind === 's3', replica: replicaStore,
    restore: options.finishingRestore ? { blobsFrom: options.restoreBlobsFrom ?? null } : null, dryRun,
  }).catch(async (error: unknown) => {
    // Nothing else was opened yet; what was is closed, so a caller that goes on (a test, a supervisor) holds nothing.
    closeBlobStore();
    replicaOpened?.destroy();
    await store.close().catch(() => undefined);
    throw error;
  });
  // Age-based, never "everything": another node on the same bucket or shared folder may be
  // uploading right now. A bucket that does not answer now (or a role without
  // s3:ListBucketMultipartUploads) must not keep the process from starting: leftovers wait for the
  // worker's hourly sweep or the bucket's lifecycle rule.
  if (!dryRun) {
    await cleanStaging('at start-up').catch((err: unknown) => {
      if (config.blobs.kind !== 's3') throw err;
      logger.warn({ err }, 'could not clean unfinished uploads in the blob bucket; the bucket lifecycle rule will');
    });
  }
  // Other nodes may be copying into it now: only leftovers older than any copy can take go.
  if (replicaOpened && !dryRun) await replicaOpened.store.cleanStaging(replicaOpened.stagingGraceMs).catch((err: unknown) => logger.warn({ err }, 'could not clean unfinished copies in the replica; they are retried at the next start'));
  const keys = new KeyRingImpl({
    master,
    clock,
    store: {
      current: (orgId) => store.repos.organisations.currentKey(orgId),
      byId: (keyId) => store.repos.organisations.keyById(keyId),
      insert: (row) => store.repos.organisations.insertKey(row),
    },
  });
  const primaryBlobs = new EncryptedBlobs({ keys, store: blobStore });
  const replicaBlobs = replicaStore === null ? null : new EncryptedBlobs({ keys, store: replicaStore });
  // Downloads: a bad primary copy is served from the replica and repaired by a scrub of that version.
  const scrubSoon = (versionId: string): void => {
    store.repos.jobs.enqueue(scrubJob, { versionId, bytesPerSecond: SCRUB_REPAIR_BYTES_PER_SECOND }, { now: clock.now() })
      .catch((err: unknown) => logger.error({ err, versionId }, 'could not queue the repair of a damaged blob'));
  };
  const blobs = new HealingBlobs({
    primary: primaryBlobs, replica: replicaBlobs,
    onPrimaryBad: (version, err) => {
      logger.warn({ err, versionId: version.versionId, blobId: version.blobId }, 'the primary copy of a blob is damaged or missing: served from the replica (unless it is unavailable), repair queued');
      scrubSoon(version.versionId);
    },
    onUnreadable: (version, err) => {
      logger.error({ err, versionId: version.versionId, blobId: version.blobId }, 'a download found every copy of a blob damaged or missing; a scrub of it is queued');
      scrubSoon(version.versionId);
    },
  });

  let supervisor: ClamdSupervisor | null = null;
  let scanner: ClamdScanner;
  // No stream to clamd is longer than the whole-scan limit (larger versions go in segments), so
  // clamd's tmpfs holds at most that per stream, plus what it unpacks (MaxScanSize, twice it).
  // Small files (up to a megabyte) go over kept clamd sessions: no connection per upload.
  const keptSessions = {};
  if (config.clamd) {
    scanner = new ClamdScanner({ ...parseClamdAddress(config.clamd), maxStreamBytes: config.scanWholeMaxBytes, keptSessions });
  } else {
    const own = new ClamdSupervisor({
      stateDir: path.join(config.dataDir, 'clamd'), signaturesDir: path.join(PROJECT_ROOT, 'assets', 'clamav'), logger,
      ...(config.clamavDatabaseDir ? { officialDatabaseDir: config.clamavDatabaseDir } : {}),
      maxStreamBytes: config.scanWholeMaxBytes, maxScanBytes: 2 * config.scanWholeMaxBytes, concurrentStreams: config.scanStreamsTotal,
    });
    supervisor = own;
    scanner = new ClamdScanner({ socketPath: own.socketPath, maxStreamBytes: own.maxStreamBytes, versionSuffix: () => own.signaturesVersion, keptSessions });
    // A one-shot command (import) beside a running server uses that server's clamd rather than
    // starting a second one in the same directory (which would replace the server's).
    const reuse = options.startClamd === 'unless-running' && (await scanner.ping());
    if (options.startClamd && !reuse) await own.start();
  }

  // Lifecycle hooks: what happens, in the same transaction, when a document's life moves on.
  const lifecycle = new DocumentLifecycle().on('version.committed', async (event, tx) => {
    if (event.scanStatus === 'pending') await tx.jobs.enqueue(scanVersionJob, { versionId: event.versionId }, { now: tx.now });
  });
  if (replicaStore !== null) {
    lifecycle
      .on('version.committed', async (event, tx) => void (await tx.jobs.enqueue(replicateJob, { versionId: event.versionId }, { now: tx.now })))
      .on('document.destroyed', async (event, tx) => {
        for (const versionId of event.versionIds) await tx.jobs.enqueue(replicaDeleteJob, { versionId }, { now: tx.now });
      });
  }

  // Search follows documents' lives: extraction when a version becomes readable, renames, purges (services/text-indexing.ts).
  subscribeSearch(lifecycle);

  const serviceAreas = DEFAULT_SERVICE_AREAS;
  const access = new AccessService(store, clock);
  const checkpointCopies = await openCheckpointCopies(config, config.dataDir);
  const audit = composeAudit({
    store, access, clock, origin: config.auditOrigin, signerKey, verifierKey: verifierKeyFromSigner(signerKey),
    copies: checkpointCopies.copies,
    checkpointEvents: config.auditCheckpointEvents, checkpointSeconds: config.auditCheckpointSeconds, logger,
  });
  // E-mail through SMTP when STRONGROOM_SMTP_URL is set, otherwise into the log (compose/mail.ts).
  const { mail, close: closeMail } = composeMail({ config, store, clock, logger, access, master });
  // Accounts, web sessions, federated sign-in (OIDC, SAML) and SCIM (compose/identity.ts). Every new
  // organisation gets the file plan of the retention schedule (retention is built below; seeding runs later).
  const identityServices = composeIdentity({
    config, store, clock, access, serviceAreas, master, mail, logger, filePlan: { seed: (...args) => retention.seedFilePlan(...args) },
  });
  const locks = new LocksService({ store, access, clock });
  // Records management's file plan: moves of documents and collections are checked against it, as refiling
  // and retention events are (a due date brought earlier is refused unless a records manager confirms it).
  const dueDates = new DueDateChecks({ access });
  const retention = new RetentionService({ store, access, clock, serviceAreas, schedule: await loadRetentionSchedule(), dueDates, identity: identityServices.identity });
  const retentionEvents = new RetentionEventsService({ store, access, clock, dueDates, identity: identityServices.identity });
  // The file plan's collections: browsing, creating, moving, and binning what is removed. SubtreeAccess decides on a
  // folder with everything in it, for moves and removals alike.
  const collections = new CollectionsService({ store, access });
  const subtrees = new SubtreeAccess({ store, access });
  const removals = new RemovalsService({ store, access, locks, subtrees });
  const collectionCreation = new CollectionCreationService({ store, access, locks, clock, serviceAreas, removals });
  const collectionMoves = new CollectionMovesService({ store, access, locks, clock, dueDates, subtrees, removals });
  const notifier = new QuarantineNotifier(clock, mail);
  const inspector = new PolicyFileInspector((orgId) => store.repos.organisations.filePolicy(orgId));
  // Every scan, inline or by the job, goes through the fair share; per process, as each process's
  // clamd is its own (see fair-scanner.ts). Upload admission is cluster-wide (upload_slots).
  const fairScanner = new FairScanner(scanner, {
    perAccount: config.scanStreamsPerAccount, perOrganisation: config.scanStreamsPerOrganisation, total: config.scanStreamsTotal,
  });
  const admission = new UploadAdmission({
    perAccount: config.uploadsPerAccount, perClient: config.uploadsPerClient, perOrganisation: config.uploadsPerOrganisation,
    total: config.uploadsTotal, retryAfterSeconds: 5,
  }, { store, clock, onError: (err, what) => logger.warn({ err }, `upload slot ${what} failed; the slot lapses when its lease ends`) });
  // The ingest steps uploads and copies share (admission, encryption, scan, file policy).
  const ingestion = new DocumentIngestion({
    store, access, locks, blobs, scanner: fairScanner, inspector, notifier, clock, maxUploadBytes: config.maxUploadBytes, inlineScanMaxBytes: config.inlineScanMaxBytes,
    admission, bodyDeadlines: { idleMs: config.uploadIdleSeconds * 1000, minBytesPerSecond: config.uploadMinBytesPerSecond, graceMs: RATE_GRACE_MS }, lifecycle,
  });
  const documents = new DocumentsService({ store, access, locks, blobs, clock, ingestion, identity: identityServices.identity });
  const filing = new DocumentFilingService({ store, access, locks, blobs, clock, ingestion, lifecycle, dueDates, removals, identity: identityServices.identity });
  const arrangements = new ArrangementsService({ store, access, collectionCreation, clock, serviceAreas, mail, identity: identityServices.identity });
  const quarantine = new QuarantineService({ store, access, blobs, scanner: fairScanner, notifier, clock, system: systemActor('job'), rescanDays: config.rescanDays, lifecycle, identity: identityServices.identity,
    segments: { wholeMaxBytes: config.scanWholeMaxBytes, overlapBytes: config.scanSegmentOverlapBytes },
  });

  const keysService = new KeysService({ store, access, clock, keys });
  const folderCopy = new FolderCopyService({ store, access, clock, collections, collectionCreation, filing, identity: identityServices.identity });
  const dav = new DavService({ store, access, clock, collections, collectionMoves, removals, locks, folderCopy });
  const jobsAdmin = new JobsAdminService({ store, access, clock });
  // Records management: the file plan, legal holds, disposal review and certificates of destruction.
  const holds = new HoldsService({ store, access, clock, identity: identityServices.identity });
  const certificates = new CertificatesService({ store, access, audit: audit.proofs, clock, renderer: new PdfCertificateRenderer() });
  const replication = new ReplicationService({ store, access, primary: blobStore, replica: replicaStore, clock, logger, system: systemActor('job') });
  const scrub = new ScrubService({
    store, clock, logger, system: systemActor('job'), mail,
    primary: { store: blobStore, blobs: primaryBlobs },
    replica: replicaStore === null || replicaBlobs === null ? null : { store: replicaStore, blobs: replicaBlobs },
  });
  const backups = new BackupService({ store, access, clock, recordSealKey: deriveKey(master, 'backup-record-seal') });
  const replicaSetting = config.replica;
  // The garbage collection of blobs nothing names, in both stores; on the replica the backups on its shelf name blobs too.
  const orphanBlobs = new OrphanBlobsService({
    store, clock, logger, system: systemActor('job'), primary: blobStore, replica: replicaStore, ownership,
    // Loaded when a sweep first needs it: the shelf's readers bring the S3 client, which serve loads only on demand.
    replicaBackups: replicaSetting === null ? null : {
      among: async (ids) => (await import('./backup-references.js')).shelfBlobReferences(replicaSetting, master).among(ids),
    },
    sweepClock: () => store.repos.orphanBlobs.databaseNow(),
  });
  const disposal = new DisposalService({
    store, access, clock, blobs, lifecycle, retention, certificates, audit: audit.alarm, identity: identityServices.identity, system: systemActor('job'), binDays: config.binDays, mail,
    onWarning: (message, details) => logger.warn(details, message),
  });
  // Subject access requests: due dates counted in the requesting council's working days.
  const subjectAccessParts = { store, access, clock, blobs, identity: identityServices.identity, workingDaysIn: ukWorkingDays, mail };
  const subjectAccessViews = new SubjectAccessViewsService(subjectAccessParts);
  const subjectAccess = {
    requests: new SubjectAccessRequestsService({ ...subjectAccessParts, views: subjectAccessViews }),
    views: subjectAccessViews,
    answers: new SubjectAccessAnswersService(subjectAccessParts),
    package: new SubjectAccessPackageService(subjectAccessParts),
  };

  // Search: text extraction and first-page thumbnails, each in a contained child process
  // (integrations/text-extraction, integrations/thumbnails.ts) with time and memory limits.
  const extractor: TextExtractor = new ContainedTextExtractor();
  const thumbnailer: Thumbnailer = new ContainedThumbnailer();
  const indexing = new TextIndexing({ store, access, blobs, extractor, thumbnailer, clock, logger, system: systemActor('job') });
  const search = new SearchService({
    store, access, blobs, clock, serviceAreas, queryAuditKey: deriveKey(master, 'search-query-audit'), indexing,
    scopeOf: (actor) => access.readableScope(actor), snippet: makeSnippet,
    budget: new SearchBudget({ perPersonMs: config.searchMsPerPerson, perOrganisationMs: config.searchMsPerOrganisation, windowMs: config.searchWindowSeconds * 1000, atOnce: config.searchesAtOnce,
      ...(handle.abandonedSearchReads ? { abandoned: handle.abandonedSearchReads } : {}) }, clock),
    timeoutMs: config.searchTimeoutMs,
  });

  // Organisations' own header brands; their logos re-encoded by sharp in a contained child process too.
  const branding = new BrandingService({ store, access, clock, logos: new ContainedLogoImages() });

  // One handler per kind in domain/jobs/kinds.ts; a kind left out fails here, at start-up.
  const registry = new JobRegistry([
    handleJob(scanVersionJob, (p, context) => quarantine.scanPending(p.versionId, context.complete)),
    handleJob(rescanJob, (p) => quarantine.rescanSince(new Date(p.since))),
    handleJob(disposalSweepJob, (p) => disposal.dailySweep(p.organisationId, p.date)),
    handleJob(purgeBinJob, (p) => disposal.dailyPurge(p.organisationId, p.date)),
    handleJob(disposeBatchJob, (p) => disposal.execute(p.batchId)),
    handleJob(deleteBlobsJob, (p) => disposal.deleteBlobs(p.blobIds)),
    handleJob(replicateJob, (p, context) => replication.replicate(p.versionId, context.complete)),
    handleJob(scrubJob, (p) => scrub.run(p)),
    handleJob(replicaDeleteJob, (p, context) => replication.deleteReplica(p.versionId, context.attempt >= replicaDeleteJob.maxAttempts)),
    // backup-schedule.ts composes the snapshot, archive and shelf adapters over the open vault (and imports this file).
    handleJob(backupJob, async (p) => void (await (await import('./backup-schedule.js')).scheduledBackup(vault, p.date))),
    handleJob(extractTextJob, (p, context) => search.extract(p.versionId, context.signal, context.complete)),
    handleJob(searchRenameJob, (p) => indexing.rename(p.documentId)),
    handleJob(searchPurgeJob, (p) => indexing.purge(p)),
    handleJob(compactSearchJob, () => indexing.compact()),
    handleJob(sendEmailJob, (p, context) => mail.deliver(p, context)),
    handleJob(sendAccountNoticeSummaryJob, (p, context) => mail.deliverSummary(p, context.complete)),
    handleJob(sweepOrphanBlobsJob, async () => {
      // A store not swept is retried, then left among the failed jobs (`strongroom jobs failed`) for the operator.
      const unswept = (await orphanBlobs.sweep()).stores.filter((s) => s.error !== undefined);
      if (unswept.length > 0) throw new Error(`orphan blob sweep: ${unswept.map((s) => `the ${s.store} store was not swept (${s.error})`).join('; ')}`);
    }),
    handleJob(pruneFinishedJobsJob, async () => {
      const deleted = await jobsAdmin.pruneFinished();
      await mail.forgetFinishedNotices();
      if (deleted > 0) logger.info({ deleted }, 'finished jobs pruned');
    }),
  ]);
  const worker = new JobWorker({ jobs: store.repos.jobs, durable: () => store.durable(), registry, clock, logger, leaseSeconds: 60 });

  const timers: NodeJS.Timeout[] = [];
  let backgroundStarted = false;
  const vault: Vault = {
    ...identityServices,
    config, logger, clock, store, scanner, serviceAreas, access, audit, collections, collectionCreation, collectionMoves, documents, filing, locks, arrangements, quarantine, keys: keysService, worker, lifecycle, blobStore, admission,
    dav, jobs: jobsAdmin, retention, retentionEvents, holds, disposal, subjectAccess, certificates, replicaStore, vaultId, storeClaims, replication, scrub, orphanBlobs, backups, search, branding, mail,
    durable: () => store.durable(),
    async health() {
      const database = await ping(store.db).then(() => 'ok', () => 'unavailable');
      const scannerState = await scanner.version().then(() => 'ok', () => 'unavailable');
      return { database, scanner: scannerState };
    },
    async startBackground() {
      // Its work writes to the stores (replication, repairs, staging cleanup, the orphan sweep), which a dry run never does.
      if (dryRun) throw new Error('A vault opened for a dry run runs no background work.');
      if (backgroundStarted || config.role === 'web') return;
      backgroundStarted = true;
      try {
        await worker.start();
        await audit.alarm.clearStoredAlarm().catch((err: unknown) => logger.warn({ err }, 'could not clear the stored audit alarm'));
      } catch (error) {
        backgroundStarted = false;
        throw error;
      }
      timers.push(setInterval(() => void audit.sequencer.integrate().catch((err: unknown) => logger.error({ err }, 'audit sequencing failed')), 1000));
      timers.push(setInterval(() => void quarantine.checkSignatureVersion().catch((err: unknown) => logger.warn({ err }, 'signature check failed')), 60_000));
      // Web nodes never restart on a schedule: the worker clears what a crashed node left, by age.
      timers.push(setInterval(() => void cleanStaging('hourly sweep').catch((err: unknown) => logger.warn({ err }, 'staging sweep failed')), STAGING_SWEEP_MS));
      void quarantine.checkSignatureVersion().catch(() => undefined);
      // Disposal sweep and bin purge: queued hourly, one job per organisation per UK day (the unique key
      // and the date each last ran, kept in the database, make it once a day across every node).
      const queueDailyRecordsJobs = () => queueDailyRecordsSweeps(store, clock);
      timers.push(setInterval(() => void queueDailyRecordsJobs().catch((err: unknown) => logger.warn({ err }, 'queueing the daily disposal sweep and bin purge failed')), 3_600_000));
      void queueDailyRecordsJobs().catch((err: unknown) => logger.warn({ err }, 'queueing the daily disposal sweep and bin purge failed'));
      // One scrub of a random sample a day across the cluster; the hourly check only queues it once a day.
      const scheduleScrub = () => void scheduleDailyScrub(store, clock).catch((err: unknown) => logger.warn({ err }, 'could not schedule the daily scrub'));
      timers.push(setInterval(scheduleScrub, 60 * 60 * 1000));
      scheduleScrub();
      // Finished jobs kept a month (FINISHED_JOBS_KEPT_DAYS), pruned once a day across the cluster.
      const scheduleJobsPrune = () => void scheduleDailyJobsPrune(store, clock).catch((err: unknown) => logger.warn({ err }, 'could not schedule the pruning of finished jobs'));
      timers.push(setInterval(scheduleJobsPrune, 60 * 60 * 1000));
      scheduleJobsPrune();
      // Blobs nothing names (uploads that never committed, copies cut off), recorded one day and removed the next.
      const scheduleOrphanSweep = () => void scheduleDailyOrphanSweep(store, clock).catch((err: unknown) => logger.warn({ err }, 'could not schedule the daily sweep of orphan blobs'));
      timers.push(setInterval(scheduleOrphanSweep, 60 * 60 * 1000));
      scheduleOrphanSweep();
      // The daily signed backup into the replica, from STRONGROOM_BACKUP_HOUR (UK time), once a day across the
      // cluster. First asked a few minutes after start, not at once: a process restarted in a loop (a bad
      // deployment) then does not add a backup's load to every start, and one-shot runs take none.
      if (config.backupSchedule === 'daily') {
        const scheduleBackup = () => void queueDailyBackup(vault).catch((err: unknown) => logger.warn({ err }, 'could not schedule the daily backup'));
        timers.push(setInterval(scheduleBackup, 60 * 60 * 1000));
        const first = setTimeout(scheduleBackup, FIRST_BACKUP_CHECK_MS);
        first.unref();
        timers.push(first);
      }
    },
    async close() {
      timers.forEach(clearInterval);
      await worker.stop();
      // Sequencing and signing are background work: a web node leaves them to the worker, so its
      // shutdown signs nothing (and writes no checkpoint copy on its own disk).
      // Nor does a dry run's: a checkpoint copy goes to the offsite folder and, with a bucket replica, into its prefix.
      if (config.role !== 'web' && !dryRun) await audit.sequencer.flush().catch((err: unknown) => logger.error({ err }, 'final audit sequencing failed'));
      scanner.close();
      await supervisor?.stop();
      await store.close();
      closeBlobStore();
      replicaOpened?.destroy();
      checkpointCopies.close();
      closeMail();
    },
  };
  return vault;
}

/** How long after start-up a worker first asks whether today's backup is due (then hourly). */
const FIRST_BACKUP_CHECK_MS = 5 * 60 * 1000;
/** How often the worker sweeps unfinished uploads a crash left, by age (compose/blob-stores.ts). */
const STAGING_SWEEP_MS = 60 * 60 * 1000;

/** A download that found a bad copy has that version scrubbed at this rate (bytes a second). */
const SCRUB_REPAIR_BYTES_PER_SECOND = 50 * 1024 * 1024;

export function parseClamdAddress(value: string): { socketPath: string } | { host: string; port: number } {
  const tcp = /^([^:/]+):(\d+)$/.exec(value);
  return tcp ? { host: tcp[1]!, port: Number(tcp[2]) } : { socketPath: value };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** The retention schedule every organisation's file plan starts from (a copy of ../shared/data/retention-schedule.csv). */
async function loadRetentionSchedule(): Promise<SeriesTerms[]> {
  return parseRetentionSchedule(await readFile(path.join(PROJECT_ROOT, 'assets', 'retention-schedule.csv'), 'utf8'));
}

// Composition root: reads the Config once, picks the adapters (SQLite or PostgreSQL, filesystem blobs,
// our own clamd or an existing one), builds the services and starts background work.
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { composeAudit } from './compose/audit.js';
import { loadSigningKey, openCheckpointCopies } from './compose/audit-keys.js';
import { assertNoUnfinishedRestore } from './compose/restore-marker.js';
import { openVaultBlobs } from './compose/vault-blobs.js';
import { composeScanner } from './compose/scanner.js';
import { buildJobRegistry } from './compose/job-registry.js';
import { startBackgroundTimers } from './compose/background-timers.js';
import { composeLifecycle } from './compose/lifecycle.js';
import type { StoreClaim } from './services/store-ownership.js';
import { composeIdentity, sealAlarmFor } from './compose/identity.js';
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
import { PolicyFileInspector } from './integrations/policy.file-inspector.js';
import { BackupService } from './services/backup.service.js';
import { JobWorker } from './jobs/worker.js';
import { AccessService } from './services/access.service.js';
import { PersonStanding } from './services/person-standing.js';
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
import type { DocumentLifecycle } from './services/lifecycle.js';
import { LocksService } from './services/locks.service.js';
import { QuarantineNotifier } from './services/quarantine-notifier.js';
import { QuarantineService } from './services/quarantine.service.js';
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
import { TextIndexing } from './services/text-indexing.js';
import type { PasswordHasher, TextExtractor, Thumbnailer } from './domain/ports.js';
import type { SamlProtocol } from './domain/identity/saml.js';
import { UploadAdmission } from './services/upload-admission.js';
import { deriveKey, loadMasterKey } from './storage/keys.js';
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
  /** Document lifecycle hooks; compose/lifecycle.ts subscribes the scan job, later slices their own jobs. */
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
  /** Test seam: holds SQLite's backup copy on its thread before it copies (db/sqlite-snapshot.ts SnapshotSettings.gate). */
  snapshotGate?: Int32Array;
  /** Test seam: wraps the argon2 hasher beneath the process's password-check gate (tests count the checks running at once). */
  passwordHasherBeneathGate?: (argon2: PasswordHasher) => PasswordHasher;
  /** Test seam: the SAML protocol (a test sets its thread's time limit and watches its checks); the vault ends it on close. */
  samlProtocol?: SamlProtocol;
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
      file: path.join(config.dataDir, 'strongroom.db'), key: deriveKey(master, 'sqlite-database'), cacheMib: config.sqliteCacheMib, mainCacheMib: config.sqliteMainCacheMib,
      ...(options.syncDatabaseLog ? { syncFile: options.syncDatabaseLog } : {}),
      ...(options.searchReadGate ? { searchReadGate: options.searchReadGate } : {}),
      ...(options.snapshotGate ? { snapshotGate: options.snapshotGate } : {}),
    });
  const store = new Store(handle, deriveKey(master, 'audit-event-seal'), new DerivedSearchKeys(master), new DerivedSignInSeals(master));
  await migrateSealing(handle, store, clock, logger, { verifierKey: verifierKeyFromSigner(signerKey), origin: config.auditOrigin });

  // A dry run writes nothing to any blob store (OpenVaultOptions.dryRun).
  const dryRun = options.dryRun ?? false;
  // The blob store and replica, claimed for this vault, and the encrypted, self-healing blobs over them (compose/vault-blobs.ts).
  const { blobStore, replicaStore, vaultId, ownership, storeClaims, keys, primaryBlobs, replicaBlobs, blobs, cleanStaging, close: closeBlobStores } = await openVaultBlobs({
    config, store, clock, logger, master, dryRun, restore: options.finishingRestore ? { blobsFrom: options.restoreBlobsFrom ?? null } : null,
  });

  // An existing clamd, or our own (compose/scanner.ts).
  const { scanner, supervisor } = await composeScanner({ config, logger, signaturesDir: path.join(PROJECT_ROOT, 'assets', 'clamav'), startClamd: options.startClamd });

  // Lifecycle hooks: the jobs a document's life queues, and search's indexing (compose/lifecycle.ts).
  const lifecycle = composeLifecycle({ replicated: replicaStore !== null });

  const serviceAreas = DEFAULT_SERVICE_AREAS;
  // Whether a person may still act, read in the transaction that decides a change again (AccessService.requireWithin)
  // and by IdentityService for a request that waited; a seal that does not match is logged for the operator.
  const standing = new PersonStanding({ clock, alarm: sealAlarmFor(logger) });
  const access = new AccessService(store, clock, standing);
  const checkpointCopies = await openCheckpointCopies(config, config.dataDir);
  const audit = composeAudit({
    store, access, clock, origin: config.auditOrigin, signerKey, verifierKey: verifierKeyFromSigner(signerKey),
    copies: checkpointCopies.copies,
    checkpointEvents: config.auditCheckpointEvents, checkpointSeconds: config.auditCheckpointSeconds, logger,
  });
  // E-mail through SMTP when STRONGROOM_SMTP_URL is set, otherwise into the log (compose/mail.ts).
  const { mail, close: closeMail } = composeMail({ config, store, clock, logger, access, master });
  // Organisations, accounts, credentials, web sessions, federated sign-in (OIDC, SAML) and SCIM (compose/identity.ts).
  // Every new organisation gets the file plan of the retention schedule (retention is built below; seeding runs
  // later). How people are named (personNames) goes to the services that show records, not into the vault.
  const { personNames, close: closeIdentity, ...identityServices } = composeIdentity({
    config, store, clock, access, standing, serviceAreas, master, mail, logger, filePlan: { seed: (...args) => retention.seedFilePlan(...args) },
    ...(options.passwordHasherBeneathGate ? { beneathGate: options.passwordHasherBeneathGate } : {}),
    ...(options.samlProtocol ? { samlProtocol: options.samlProtocol } : {}),
  });
  const locks = new LocksService({ store, access, clock });
  // Records management's file plan: moves of documents and collections are checked against it, as refiling
  // and retention events are (a due date brought earlier is refused unless a records manager confirms it).
  const dueDates = new DueDateChecks({ access });
  const retention = new RetentionService({ store, access, clock, serviceAreas, schedule: await loadRetentionSchedule(), dueDates, identity: identityServices.identity });
  const retentionEvents = new RetentionEventsService({ store, access, clock, dueDates, identity: identityServices.identity });
  // The file plan's collections: browsing, creating, moving, and binning what is removed. SubtreeAccess decides on a
  // folder with everything in it, for moves and removals alike.
  const collections = new CollectionsService({ store, access, identity: identityServices.identity });
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
  const documents = new DocumentsService({ store, access, locks, blobs, clock, ingestion, identity: identityServices.identity, personNames });
  const filing = new DocumentFilingService({ store, access, locks, blobs, clock, ingestion, lifecycle, dueDates, removals, identity: identityServices.identity });
  const arrangements = new ArrangementsService({ store, access, collectionCreation, clock, serviceAreas, mail, personNames, identity: identityServices.identity });
  const quarantine = new QuarantineService({ store, access, blobs, scanner: fairScanner, notifier, clock, system: systemActor('job'), rescanDays: config.rescanDays, lifecycle, personNames,
    segments: { wholeMaxBytes: config.scanWholeMaxBytes, overlapBytes: config.scanSegmentOverlapBytes },
  });

  const keysService = new KeysService({ store, access, clock, keys });
  const folderCopy = new FolderCopyService({ store, access, clock, collections, collectionCreation, filing, identity: identityServices.identity });
  const dav = new DavService({ store, access, clock, collections, collectionMoves, removals, locks, folderCopy });
  const jobsAdmin = new JobsAdminService({ store, access, clock });
  // Records management: the file plan, legal holds, disposal review and certificates of destruction.
  const holds = new HoldsService({ store, access, clock, identity: identityServices.identity });
  const certificates = new CertificatesService({ store, access, audit: audit.proofs, clock, renderer: new PdfCertificateRenderer() });
  const scrub = new ScrubService({
    store, clock, logger, system: systemActor('job'), mail,
    primary: { store: blobStore, blobs: primaryBlobs },
    replica: replicaStore === null || replicaBlobs === null ? null : { store: replicaStore, blobs: replicaBlobs },
  });
  // The replica's copies are checked against the version as they are made; damage found on the way is the scrub's to settle.
  const replication = new ReplicationService({
    store, access, clock, logger, system: systemActor('job'), primaryBlobs, replica: replicaBlobs === null ? null : replicaStore, replicaBlobs, scrub,
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
  const subjectAccessParts = { store, access, clock, blobs, identity: identityServices.identity, personNames, workingDaysIn: ukWorkingDays, mail };
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
  const indexing = new TextIndexing({ store, access, blobs, extractor, thumbnailer, clock, logger, system: systemActor('job'), alarm: audit.alarm });
  const search = new SearchService({
    store, access, blobs: primaryBlobs, clock, serviceAreas, queryAuditKey: deriveKey(master, 'search-query-audit'), indexing,
    scopeOf: (actor) => access.readableScope(actor), snippet: makeSnippet,
    actorNow: (actor) => identityServices.identity.actorNow(actor, 'search.query', { organisationId: actor.organisationId, ids: {} }, 'search'),
    budget: new SearchBudget({ perPersonMs: config.searchMsPerPerson, perOrganisationMs: config.searchMsPerOrganisation, windowMs: config.searchWindowSeconds * 1000, atOnce: config.searchesAtOnce,
      ...(handle.abandonedSearchReads ? { abandoned: handle.abandonedSearchReads } : {}) }, clock),
    timeoutMs: config.searchTimeoutMs,
  });

  // Organisations' own header brands; their logos re-encoded by sharp in a contained child process too.
  const branding = new BrandingService({ store, access, clock, logos: new ContainedLogoImages(), identity: identityServices.identity });

  // One handler per kind in domain/jobs/kinds.ts; a kind left out fails here, at start-up (compose/job-registry.ts).
  const registry = buildJobRegistry({
    quarantine, disposal, replication, scrub, search, indexing, mail, orphanBlobs, jobsAdmin, logger,
    // backup-schedule.ts composes the snapshot, archive and shelf adapters over the open vault (and imports this file).
    scheduledBackup: async (date: string) => void (await (await import('./backup-schedule.js')).scheduledBackup(vault, date)),
  });
  const worker = new JobWorker({
    jobs: store.repos.jobs, durable: () => store.durable(), registry, clock, logger, leaseSeconds: 60, slots: { availability: config.scanJobsAtOnce },
  });

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
      timers.push(...startBackgroundTimers({ config, store, clock, logger, audit, quarantine, backups, cleanStaging }));
    },
    async close() {
      timers.forEach(clearInterval);
      await worker.stop();
      // Sequencing and signing are background work: a web node leaves them to the worker, so its
      // shutdown signs nothing (and writes no checkpoint copy on its own disk).
      // Nor does a dry run's: a checkpoint copy goes to the offsite folder and, with a bucket replica, into its prefix.
      if (config.role !== 'web' && !dryRun) await audit.sequencer.flush().catch((err: unknown) => logger.error({ err }, 'final audit sequencing failed'));
      scanner.close();
      await closeIdentity();
      await supervisor?.stop();
      await store.close();
      closeBlobStores();
      checkpointCopies.close();
      closeMail();
    },
  };
  return vault;
}


async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** The retention schedule every organisation's file plan starts from (a copy of ../shared/data/retention-schedule.csv). */
async function loadRetentionSchedule(): Promise<SeriesTerms[]> {
  return parseRetentionSchedule(await readFile(path.join(PROJECT_ROOT, 'assets', 'retention-schedule.csv'), 'utf8'));
}

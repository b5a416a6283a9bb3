// Ports: the database as services see it. `Store` is the unit of work (the repositories, and short
// transactions that hand out the same set); each repository is described by what services ask of it,
// in domain words. db/ implements them over Kysely (SQLite and PostgreSQL); main.ts wires one in.
// Adapter-only operations (job leasing, organisation keys for the key ring) are not here: services never call them.
import type { AuditEvent } from './audit/event.js';
import type { FederationRepository } from './identity/repositories.js';
import type { BrandingRepository } from './branding/repositories.js';
import type { ScimRepository } from './identity/scim-repositories.js';
import type { JobQueue } from './jobs/define-job.js';
import type { MailRepository } from './mail/repositories.js';
import type { DisposalRepository, HoldsRepository, RetentionRepository } from './records/repositories.js';
import type { SearchIndex } from './search/repositories.js';
import type { TextStatus } from './search/types.js';
import type {
  Arrangement, ArrangementStatus, Classification, Collection, Document, DocumentStatus, Organisation, Role, ScanStatus, User, Version,
} from './types.js';

/** The unit of work services depend on (db/store.ts `Store` implements it). */
export interface Store {
  /** Repositories outside any transaction: each call is its own statement. */
  readonly repos: Repos;
  /**
   * Runs `work` in one transaction, resolving once it is durable. Keep it short: never stream a file inside one.
   * `{ awaitDurable: false }` resolves at commit instead: only for a write that protects nothing once
   * every process using the database has stopped (an upload slot, a lease that lapses by itself), since
   * on SQLite only a crash of the machine loses a commit not yet synced. The answer to the request still
   * waits for it (the response barrier); PostgreSQL always commits durably.
   */
  transaction<T>(work: (repos: Repos) => Promise<T>, options?: { awaitDurable?: boolean }): Promise<T>;
  /**
   * Resolves once every write committed before the call (a transaction, or a single statement through
   * `repos`) is on disk. Await it before anything irreversible outside the database depends on such a
   * write: deleting a blob or a key, sending mail, copying to the replica (docs/architecture.md "Durability").
   */
  durable(): Promise<void>;
}

export interface Repos {
  organisations: OrganisationsRepository;
  users: UsersRepository;
  collections: CollectionsRepository;
  documents: DocumentsRepository;
  arrangements: ArrangementsRepository;
  audit: AuditRepository;
  jobs: JobsRepository;
  notifications: NotificationsRepository;
  sessions: SessionsRepository;
  signInThrottles: SignInThrottlesRepository;
  dav: DavRepository;
  locks: LocksRepository;
  settings: SettingsRepository;
  uploadSlots: UploadSlotsRepository;
  retention: RetentionRepository;
  holds: HoldsRepository;
  disposal: DisposalRepository;
  replicas: BlobReplicasRepository;
  /** Mail preferences and invitation tokens. */
  mail: MailRepository;
  search: SearchIndex;
  federation: FederationRepository;
  /** Each organisation's own header brand (name, colour, logo). */
  branding: BrandingRepository;
  scim: ScimRepository;
}

export interface OrganisationsRepository {
  insert(org: Organisation): Promise<void>;
  byId(id: string): Promise<Organisation | undefined>;
  bySlug(slug: string): Promise<Organisation | undefined>;
  /** Every organisation, by name. */
  list(): Promise<Organisation[]>;
}

export interface NewUser extends User {
  passwordHash: string | null;
}

export interface CredentialRow {
  id: string;
  userId: string;
  kind: 'api_token' | 'app_password';
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What signing in needs about a person beyond `User` (column names as stored). */
export interface SignInState {
  password_hash: string | null;
  mfa_secret: string | null;
  mfa_enabled: number;
  recovery_codes: string | null;
  disabled: number;
}

export type UserPatch = Partial<{
  /** Lower-cased by the caller (SCIM renames people when the directory changes their userName). */
  email: string;
  name: string; roles: Role[]; teams: string[]; clearance: Classification; disabled: boolean; passwordHash: string;
  mfaSecret: string | null; mfaEnabled: boolean; recoveryCodes: string | null;
}>;

export interface UsersRepository {
  insert(user: NewUser): Promise<void>;
  byId(id: string): Promise<User | undefined>;
  /** Case-insensitive: e-mail addresses are stored lower-cased. */
  byEmail(email: string): Promise<User | undefined>;
  signInState(id: string): Promise<SignInState | undefined>;
  /** True only if `step` is later than the last TOTP step accepted for this person (one statement: no replay across processes). */
  acceptTotpStep(id: string, step: number): Promise<boolean>;
  /** True only for the one caller that removes this recovery code (by hash). */
  spendRecoveryCode(id: string, codeHash: string): Promise<boolean>;
  listByOrganisation(organisationId: string): Promise<User[]>;
  update(id: string, patch: UserPatch): Promise<void>;
  insertCredential(row: CredentialRow & { secretHash: string }): Promise<void>;
  /** The credential with that secret hash and the person it belongs to, as `byId` gives them. */
  credentialBySecretHash(secretHash: string): Promise<{ credential: CredentialRow; holder: User } | undefined>;
  listCredentials(userId: string): Promise<CredentialRow[]>;
  /** Every credential not revoked, with its secret hash: for `audit verify` only. */
  usableCredentials(): Promise<{ id: string; userId: string; kind: string; secretHash: string }[]>;
  revokeCredential(id: string, at: string): Promise<void>;
}

export interface CollectionsRepository {
  insert(c: Collection): Promise<void>;
  byId(id: string): Promise<Collection | undefined>;
  /** Those of the ids that exist, in no particular order. */
  byIds(ids: readonly string[]): Promise<Collection[]>;
  /**
   * A collection read inside a transaction that files something into it: ordered against a
   * concurrent move of the collection (a share lock where the database has row locks).
   */
  byIdForFiling(id: string): Promise<Collection | undefined>;
  /** Live (not deleted) children, by name; `parentId` null for the top level. */
  children(organisationId: string, parentId: string | null): Promise<Collection[]>;
  childByName(organisationId: string, parentId: string | null, name: string): Promise<Collection | undefined>;
  listByOrganisation(organisationId: string): Promise<Collection[]>;
  /** Writes a collection's name, place and the facts derived from its place (domain/placement.ts). */
  place(id: string, p: { name: string; parentId: string | null; serviceArea: string; classification: string; arrangementId: string | null }): Promise<void>;
  softDelete(id: string, at: string): Promise<void>;
}

export type DocumentPatch = Partial<{
  name: string; collectionId: string; status: DocumentStatus; deletedAt: string | null; classification: string;
  arrangementId: string | null; serviceArea: string;
}>;

export interface DocumentsRepository {
  insertDocument(d: Omit<Document, 'size' | 'sha256' | 'mediaType' | 'sourceModifiedAt'>): Promise<void>;
  insertVersion(v: Version): Promise<void>;
  /** A document with its current version's size, hash and media type. */
  byId(id: string): Promise<Document | undefined>;
  /** `byId` and its current version (what `versionById(document.currentVersionId)` gives), in one read. */
  withCurrentVersion(id: string): Promise<{ document: Document; version: Version } | undefined>;
  /** Those of the ids that exist (with their current versions' facts), in no particular order. */
  byIds(ids: readonly string[]): Promise<Document[]>;
  /** The live document of that name in a collection. */
  byName(collectionId: string, name: string): Promise<Document | undefined>;
  inCollection(collectionId: string, options?: { includeDeleted?: boolean; limit?: number; after?: string }): Promise<Document[]>;
  recentInOrganisations(organisationIds: string[], limit: number): Promise<Document[]>;
  versions(documentId: string): Promise<Version[]>;
  version(documentId: string, number: number): Promise<Version | undefined>;
  versionById(id: string): Promise<Version | undefined>;
  versionsByScanStatus(statuses: ScanStatus[], organisationId?: string): Promise<Version[]>;
  /** Readable (clean or released) versions created since `since`, by id, after `afterId`. */
  versionsSince(since: string, limit: number, afterId?: string): Promise<Version[]>;
  /** Points the document at a new current version if its current number is still `expectedCurrent`. */
  setCurrentVersion(documentId: string, expectedCurrent: number, version: Version, status: DocumentStatus, at: string): Promise<boolean>;
  update(id: string, patch: DocumentPatch, at: string): Promise<void>;
  updateVersionScan(versionId: string, scan: { status: ScanStatus; detail: string | null; engine: string | null; at: string }): Promise<void>;
  /** Crypto-shredding: without the wrapped key no copy of the blob (nor of its thumbnail) can ever be decrypted. */
  destroyVersionKey(versionId: string): Promise<void>;
  /** A version's text extraction state and thumbnail (search). */
  textState(versionId: string): Promise<VersionTextState | undefined>;
  /** Ends (or restarts) a version's extraction; `thumbnail` undefined leaves the stored one, null forgets it. */
  setTextState(versionId: string, state: { status: TextStatus; reason: string | null }, thumbnail?: ThumbnailRef | null): Promise<void>;
  /**
   * Current versions whose text is in one of `statuses` and that extraction could read (scanned clean
   * or released, key not destroyed, document not disposed), in id order after `afterId`: the reindex sweep.
   */
  versionsAwaitingText(options: { statuses: readonly TextStatus[]; organisationId?: string; afterId?: string; limit: number }): Promise<string[]>;
}

/** A version's first-page image, encrypted like a version (its own data key, binding versionId `${id}:thumbnail`). */
export interface ThumbnailRef {
  blobId: string;
  wrappedKey: Uint8Array;
  keyId: string;
  size: number;
}

export interface VersionTextState {
  status: TextStatus;
  reason: string | null;
  /** Null when there is none, or its key was destroyed with the version's. */
  thumbnail: ThumbnailRef | null;
  /** The thumbnail's blob, kept until it is deleted (after its key is destroyed too). */
  thumbnailBlobId: string | null;
}

export interface ArrangementFilter {
  organisationId?: string;
  serviceArea?: string;
  status?: ArrangementStatus;
  region?: string;
}

export interface ArrangementRevision {
  revision: number;
  change: string;
  changedBy: string | null;
  changedAt: string;
  snapshot: Arrangement;
}

export interface ArrangementsRepository {
  insert(a: Arrangement, createdBy: string | null): Promise<void>;
  byId(id: string): Promise<Arrangement | undefined>;
  /** Every arrangement any of these organisations hosts or is a partner in. */
  involving(organisationIds: string[]): Promise<Arrangement[]>;
  list(filter: ArrangementFilter): Promise<Arrangement[]>;
  /**
   * Writes the arrangement and its parties exactly as `a` says if the stored revision is still
   * `expectedRevision` (compare-and-set); false when another change got there first.
   */
  save(a: Arrangement, expectedRevision: number, changedBy: string | null): Promise<boolean>;
  addRevision(r: { arrangementId: string; revision: number; change: string; snapshot: Arrangement; changedBy: string | null; changedAt: string }): Promise<void>;
  revisions(arrangementId: string): Promise<ArrangementRevision[]>;
}

/** An event as written by a service, before the sequencer gives it a sequence number. */
export type PendingAuditEvent = Omit<AuditEvent, 'seq'>;

/** A stored event not yet in the tree: its row id, its seal (null only before seals existed) and what it says. */
export interface UnsequencedAuditEvent {
  id: number;
  seal: string | null;
  event: PendingAuditEvent;
}

export interface AuditQuery {
  organisationId: string;
  actorUserId?: string;
  documentId?: string;
  action?: string;
  from?: string;
  to?: string;
  afterSeq?: number;
  limit: number;
}

export interface StoredCheckpoint {
  treeSize: number;
  note: string;
  createdAt: string;
}

export interface AuditRepository {
  /** Within a transaction: makes this the only sequencer until it commits. */
  lockSequencer(): Promise<void>;
  insert(events: PendingAuditEvent[]): Promise<void>;
  /** Whether a stored row is an event this service wrote (its seal matches, or it predates seals). */
  writtenByService(row: { id: number | string; seal: string | null }, event: PendingAuditEvent): Promise<boolean>;
  /** Every recorded change of an arrangement (sequenced or not), for `audit verify`. */
  arrangementChanges(): Promise<AuditEvent[]>;
  /** Every recorded creation of an API token or app password, for `audit verify`. */
  credentialCreations(): Promise<AuditEvent[]>;
  /** Every allowed event of these actions (sequenced or not), for `audit verify`. */
  allowedEvents(actions: readonly string[]): Promise<AuditEvent[]>;
  /** Events not yet in the tree, oldest insert first. */
  unsequenced(limit: number): Promise<UnsequencedAuditEvent[]>;
  assignSeq(id: number, seq: number, leafHash: Buffer): Promise<void>;
  treeSize(): Promise<number>;
  setTreeSize(size: number): Promise<void>;
  putNodes(nodes: { level: number; index: number; hash: Buffer }[]): Promise<void>;
  node(level: number, index: number): Promise<Buffer | undefined>;
  insertCheckpoint(c: { treeSize: number; rootHash: Buffer; note: string; createdAt: string }): Promise<void>;
  checkpoints(): Promise<StoredCheckpoint[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Sequenced events in order, in pages, so verification runs in bounded memory. */
  sequenced(pageSize?: number): AsyncGenerator<{ event: AuditEvent; leafHash: Buffer | null }>;
  query(q: AuditQuery): Promise<AuditEvent[]>;
  forDocument(documentId: string, limit: number): Promise<AuditEvent[]>;
  forOrganisation(organisationId: string): Promise<AuditEvent[]>;
}

/** A dead-lettered job: it ran out of attempts and stays in the table as 'failed'. */
export interface FailedJob {
  id: number;
  kind: string;
  /** The stored JSON payload, as written. */
  payload: string;
  attempts: number;
  lastError: string | null;
  finishedAt: string | null;
}

/** How many jobs the queue holds, by state, across every process (the metrics' gauges). */
export interface JobCounts {
  queued: number;
  running: number;
  failed: number;
}

/** What retrying a dead-lettered job did: queued again, not a failed job (unknown id too), or refused because a live job has its unique key. */
export type RequeueOutcome = 'requeued' | 'not_failed' | 'duplicate_live';

/**
 * Services queue jobs through the typed queue of the job kinds (domain/jobs/define-job.ts), and
 * operators see and retry dead-lettered ones; leasing and completing belong to the worker (jobs/),
 * which uses the adapter.
 */
export interface JobsRepository extends JobQueue {
  /** Dead-lettered jobs, the most recently failed first. */
  failed(limit?: number): Promise<FailedJob[]>;
  counts(): Promise<JobCounts>;
  /** Puts a failed job back in the queue, due at `runAt`, with its attempts reset to 0 and its error kept. */
  requeueFailed(id: number, runAt: string): Promise<RequeueOutcome>;
}

export interface Notification {
  id: string;
  userId: string;
  organisationId: string;
  kind: string;
  documentId: string | null;
  versionId: string | null;
  message: string;
  createdAt: string;
  readAt: string | null;
}

export interface NotificationsRepository {
  insert(n: Notification): Promise<void>;
  /** Newest first. */
  forUser(userId: string, limit?: number): Promise<Notification[]>;
}

export interface SessionRow {
  idHash: string;
  userId: string;
  csrfToken: string;
  /** 'mfa' while the second factor is still owed, 'mfa_setup' while it must be set up, 'active' after. */
  stage: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface SessionsRepository {
  insert(s: SessionRow): Promise<void>;
  byHash(idHash: string): Promise<SessionRow | undefined>;
  touch(idHash: string, at: string): Promise<void>;
  setStage(idHash: string, stage: string): Promise<void>;
  delete(idHash: string): Promise<void>;
  deleteForUser(userId: string): Promise<void>;
}

export interface SignInThrottlesRepository {
  /** Failures counted in each key's current window; keys without one (or whose window ended) count 0. */
  failures(keys: string[], now: string): Promise<Map<string, number>>;
  /** Counts one failure against a key in one statement; an ended window starts afresh. */
  recordFailure(key: string, now: string, windowEndsAt: string): Promise<void>;
  clear(key: string): Promise<void>;
  /** Deletes counters whose window has ended; returns how many. */
  sweep(now: string): Promise<number>;
}

export interface DeadPropertyRow {
  namespace: string;
  name: string;
  value: string;
}

export interface DavRepository {
  properties(documentId: string): Promise<DeadPropertyRow[]>;
  propertiesOfMany(resourceIds: string[]): Promise<(DeadPropertyRow & { documentId: string })[]>;
  setProperty(documentId: string, namespace: string, name: string, value: string): Promise<void>;
  removeProperty(documentId: string, namespace: string, name: string): Promise<void>;
  /** Replaces the target's dead properties with the source's. */
  copyProperties(fromDocumentId: string, toDocumentId: string): Promise<void>;
}

export interface ResourceLock {
  token: string;
  /** The organisation that owns the locked resource. */
  organisationId: string;
  documentId: string | null;
  collectionId: string | null;
  depth: '0' | 'infinity';
  scope: 'exclusive' | 'shared';
  userId: string;
  owner: string | null;
  /** The WebDAV path the lock was taken on ("/dav/org/a/b"), for lockdiscovery's lock-root. */
  rootPath: string;
  timeoutSeconds: number;
  expiresAt: string;
  createdAt: string;
}

export interface LocksRepository {
  insert(l: ResourceLock): Promise<void>;
  /** Unexpired locks on one organisation's resources. */
  liveInOrganisation(organisationId: string, now: string): Promise<ResourceLock[]>;
  byToken(token: string): Promise<ResourceLock | undefined>;
  refresh(token: string, timeoutSeconds: number, expiresAt: string): Promise<void>;
  /** True if a lock was removed. */
  delete(token: string): Promise<boolean>;
  deleteExpired(now: string): Promise<void>;
}

/** Small named values kept between runs (e.g. the scanner signature version last seen). */
export interface SettingsRepository {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/** The levels an upload is counted at: its account, its client address, its organisation, and everyone. */
export type UploadSlotScope = 'account' | 'client' | 'organisation' | 'total';

/** One upload in progress, in whichever process receives it. */
export interface UploadSlot {
  id: string;
  /** The process holding it (random per process). */
  holder: string;
  /** Null for no account / no address: that level does not count it. */
  accountId: string | null;
  clientAddress: string | null;
  organisationId: string;
  acquiredAt: string;
  /** The lease: renewed while the upload runs; once past, the slot no longer counts. */
  expiresAt: string;
}

/** Upload slots shared by every process (services/upload-admission.ts decides; this only stores). */
export interface UploadSlotsRepository {
  /**
   * Within a transaction: waits until no other admission, in any process, is between counting and
   * taking a slot, and keeps it so until this transaction ends. Without it two processes could
   * each count room for one more and both take it.
   */
  lockAdmission(): Promise<void>;
  /** Deletes slots whose lease ended at or before `now`; returns how many. */
  deleteExpired(now: string): Promise<number>;
  /** Live slots (lease ending after `now`) at each level for these keys; a null key counts 0. */
  liveCounts(keys: { accountId: string | null; clientAddress: string | null; organisationId: string }, now: string): Promise<Record<UploadSlotScope, number>>;
  insert(slot: UploadSlot): Promise<void>;
  /** Moves a held slot's lease end; false if the slot is gone (released, or expired and swept). */
  renew(id: string, expiresAt: string): Promise<boolean>;
  /** True if a slot was removed. */
  delete(id: string): Promise<boolean>;
  /** Live slots, oldest first: for diagnosis and tests. */
  live(now: string): Promise<UploadSlot[]>;
}

/** Blobs committed but not yet copied to the offsite replica: how many, and since when the oldest waits. */
export interface ReplicaLag {
  pending: number;
  /** Commit time of the oldest version still waiting, or null when none waits. */
  oldestCommittedAt: string | null;
}

/** The offsite replica's ledger (blob_replicas) and the versions the scrub reads. */
export interface BlobReplicasRepository {
  markReplicated(blobId: string, versionId: string, at: string): Promise<void>;
  /** The replica copy is gone (`refused` null), or the replica refused to delete it (why). */
  markDeleted(blobId: string, versionId: string, at: string, refused: string | null): Promise<void>;
  markScrubbed(blobId: string, versionId: string, at: string): Promise<void>;
  /** Records that both copies are bad; true when it was not already recorded (so the alarm is raised once). */
  markUnrecoverable(blobId: string, versionId: string, at: string): Promise<boolean>;
  clearUnrecoverable(blobId: string): Promise<void>;
  lag(): Promise<ReplicaLag>;
  /** Live versions (key not destroyed) whose both copies were last found bad. */
  unrecoverable(): Promise<number>;
  /** Live versions (with a key) in id order after `afterId`, or a random sample of `sample` of them. */
  liveVersions(options: { limit: number; afterId?: string; random?: boolean }): Promise<Version[]>;
}

export type { FederationRepository } from './identity/repositories.js';
export type { DisposalRepository, HoldsRepository, RetentionPlacement, RetentionRepository } from './records/repositories.js';

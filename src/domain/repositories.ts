// Ports: the database as services see it. `Store` is the unit of work (the repositories, and short
// transactions that hand out the same set); each repository is described by what services ask of it,
// in domain words. db/ implements them over Kysely (SQLite and PostgreSQL); main.ts wires one in.
// Adapter-only operations (job leasing, organisation keys for the key ring) are not here: services never call them.
// Most repositories are declared in their area's folder (documents/repositories.ts, audit/repositories.ts, …)
// and re-exported here, so callers import every port from this one module.
import type { ArrangementsRepository } from './arrangements/repositories.js';
import type { AuditRepository } from './audit/repositories.js';
import type { BlobReplicasRepository, CollectionsRepository, DavRepository, DocumentsRepository, OrphanBlobsRepository } from './documents/repositories.js';
import type { FederationRepository } from './identity/repositories.js';
import type { BrandingRepository } from './branding/repositories.js';
import type { SessionsRepository, SignInThrottlesRepository, UsersRepository } from './identity/account-repositories.js';
import type { ScimRepository } from './identity/scim-repositories.js';
import type { JobsRepository } from './jobs/repositories.js';
import type { LocksRepository } from './locks/repositories.js';
import type { MailRepository } from './mail/repositories.js';
import type { DisposalRepository, HoldsRepository, RetentionRepository, SubjectAccessRepository } from './records/repositories.js';
import type { SearchIndex } from './search/repositories.js';
import type { Organisation } from './types.js';
import type { UploadSlotsRepository } from './uploads/repositories.js';

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
  /** Subject access requests, the parts organisations play in them and the records in each response. */
  subjectAccess: SubjectAccessRepository;
  replicas: BlobReplicasRepository;
  /** The garbage collection of orphan blobs: its candidates, and which blobs something names. */
  orphanBlobs: OrphanBlobsRepository;
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

export interface Notification {
  id: string;
  userId: string;
  organisationId: string;
  kind: string;
  documentId: string | null;
  versionId: string | null;
  /** The subject access request it is about, if any: shown only while its reader may still answer it. */
  requestId?: string | null;
  message: string;
  createdAt: string;
  readAt: string | null;
}

export interface NotificationsRepository {
  insert(n: Notification): Promise<void>;
  /** Newest first. */
  forUser(userId: string, limit?: number): Promise<Notification[]>;
}

/** Small named values kept between runs (e.g. the scanner signature version last seen). */
export interface SettingsRepository {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` under `key` unless a value is there already; answers the value kept (this one or the earlier). */
  claim(key: string, value: string): Promise<string>;
  set(key: string, value: string): Promise<void>;
  /**
   * Stores `value` under `key` only if the value there is still `expected` (undefined: none yet); true when
   * it did. One statement, so of several processes that read the same value and replace it, exactly one does.
   */
  replace(key: string, expected: string | undefined, value: string): Promise<boolean>;
}

export type { FederationRepository } from './identity/repositories.js';
export type { DisposalRepository, DocumentsInSeriesPage, HoldsRepository, RetentionPlacement, RetentionRepository, SubjectAccessRepository } from './records/repositories.js';
export type * from './arrangements/repositories.js';
export type * from './audit/repositories.js';
export type * from './documents/repositories.js';
export type * from './identity/account-repositories.js';
export type * from './jobs/repositories.js';
export type * from './locks/repositories.js';
export type * from './uploads/repositories.js';

// The Store: every repository over one executor, and short transactions that hand out the same set.
// Implements the Store port services depend on (domain/repositories.ts); tests and main.ts see the concrete repositories.
import type { Kysely, Transaction } from 'kysely';
import type { SignInSeals } from '../domain/identity/sign-in-seals.js';
import type { SearchKeys } from '../domain/ports.js';
import type { Store as StorePort } from '../domain/repositories.js';
import type { GatherBehind } from './coalesced-inserts.js';
import type { DatabaseHandle, DialectCaps } from './kysely.js';
import { ArrangementsRepo } from './repos/arrangements.repo.js';
import { AuditRepo } from './repos/audit.repo.js';
import { BrandingRepo } from './repos/branding.repo.js';
import { CollectionsRepo } from './repos/collections.repo.js';
import { DocumentsRepo } from './repos/documents.repo.js';
import { JobsRepo } from './repos/jobs.repo.js';
import { LocksRepo } from './repos/locks.repo.js';
import { MailRepo } from './repos/mail.repo.js';
import { NotificationsRepo } from './repos/notifications.repo.js';
import { OrganisationsRepo } from './repos/organisations.repo.js';
import { SessionsRepo } from './repos/sessions.repo.js';
import { SignInThrottlesRepo } from './repos/sign-in-throttles.repo.js';
import { UsersRepo } from './repos/users.repo.js';
import { DavRepo } from './repos/dav.repo.js';
import { SettingsRepo } from './repos/settings.repo.js';
import { UploadSlotsRepo } from './repos/upload-slots.repo.js';
import { DisposalRepo } from './repos/disposal.repo.js';
import { FederationRepo } from './repos/federation.repo.js';
import { ScimRepo } from './repos/scim.repo.js';
import { HoldsRepo } from './repos/holds.repo.js';
import { SubjectAccessRepo } from './repos/subject-access.repo.js';
import { RetentionRepo } from './repos/retention.repo.js';
import { BlobReplicasRepo } from './repos/replicas.repo.js';
import { OrphanBlobsRepo } from './repos/orphan-blobs.repo.js';
import { PostgresSearchIndex } from './repos/search.postgres.js';
import { SqliteSearchIndex } from './repos/search.sqlite.js';
import type { Schema } from './schema.js';

export interface Repos {
  organisations: OrganisationsRepo;
  users: UsersRepo;
  collections: CollectionsRepo;
  documents: DocumentsRepo;
  arrangements: ArrangementsRepo;
  audit: AuditRepo;
  jobs: JobsRepo;
  notifications: NotificationsRepo;
  sessions: SessionsRepo;
  signInThrottles: SignInThrottlesRepo;
  dav: DavRepo;
  locks: LocksRepo;
  settings: SettingsRepo;
  uploadSlots: UploadSlotsRepo;
  retention: RetentionRepo;
  holds: HoldsRepo;
  disposal: DisposalRepo;
  subjectAccess: SubjectAccessRepo;
  replicas: BlobReplicasRepo;
  orphanBlobs: OrphanBlobsRepo;
  mail: MailRepo;
  search: SqliteSearchIndex | PostgresSearchIndex;
  federation: FederationRepo;
  branding: BrandingRepo;
  scim: ScimRepo;
}

/**
 * `root`: the repositories outside any transaction, whose audit inserts are coalesced (AuditRepo),
 * gathering behind the log's sync in flight where the database has one, and whose SQLite search reads
 * run on the search reader (kysely.ts searchReads); within a transaction they read the transaction's.
 */
function reposFor(db: Kysely<Schema> | Transaction<Schema>, caps: DialectCaps, auditSealKey: Buffer, searchKeys: SearchKeys, signInSeals: SignInSeals, root?: { gatherBehind?: GatherBehind; searchReads?: DatabaseHandle['searchReads'] }): Repos {
  return {
    organisations: new OrganisationsRepo(db),
    users: new UsersRepo(db, caps, signInSeals),
    collections: new CollectionsRepo(db, caps),
    documents: new DocumentsRepo(db, caps),
    arrangements: new ArrangementsRepo(db),
    audit: new AuditRepo(db, caps, auditSealKey, { coalesce: root !== undefined, gatherBehind: root?.gatherBehind }),
    jobs: new JobsRepo(db, caps),
    notifications: new NotificationsRepo(db),
    sessions: new SessionsRepo(db),
    signInThrottles: new SignInThrottlesRepo(db),
    dav: new DavRepo(db),
    locks: new LocksRepo(db),
    settings: new SettingsRepo(db),
    uploadSlots: new UploadSlotsRepo(db),
    retention: new RetentionRepo(db),
    holds: new HoldsRepo(db, caps),
    disposal: new DisposalRepo(db),
    subjectAccess: new SubjectAccessRepo(db, caps),
    replicas: new BlobReplicasRepo(db),
    orphanBlobs: new OrphanBlobsRepo(db),
    mail: new MailRepo(db),
    search: caps.dialect === 'sqlite' ? new SqliteSearchIndex(db, root?.searchReads) : new PostgresSearchIndex(db, searchKeys),
    federation: new FederationRepo(db, signInSeals),
    branding: new BrandingRepo(db),
    scim: new ScimRepo(db, signInSeals),
  };
}

export class Store implements StorePort {
  readonly repos: Repos;
  readonly caps: DialectCaps;

  /**
   * `auditSealKey`: derived from the master key, so only this service can seal audit events.
   * `searchKeys`: the per-organisation search keys (storage/search-keys.ts); PostgreSQL's blind index
   * needs them, and without them a PostgreSQL search index refuses to work (SQLite does not use them).
   * `signInSeals`: under keys of the master key (storage/sign-in-seals.ts), so only this service writes a
   * password hash, MFA state or credential that signs anyone in; without them people cannot be written.
   */
  constructor(
    private readonly handle: DatabaseHandle,
    private readonly auditSealKey: Buffer,
    private readonly searchKeys: SearchKeys = missingSearchKeys,
    private readonly signInSeals: SignInSeals = missingSignInSeals,
  ) {
    this.caps = handle.caps;
    this.repos = reposFor(handle.db, handle.caps, auditSealKey, searchKeys, signInSeals, { gatherBehind: handle.commitAfterSync, searchReads: handle.searchReads });
  }

  /** The repositories within a transaction begun elsewhere (a migration's: migrate()'s `applying`). */
  reposWithin(trx: Transaction<Schema> | Kysely<Schema>): Repos {
    return reposFor(trx, this.handle.caps, this.auditSealKey, this.searchKeys, this.signInSeals);
  }

  get db(): Kysely<Schema> {
    return this.handle.db;
  }

  /**
   * Runs `work` in one transaction. Keep it short: never stream a file inside one. Resolves once the
   * commit is durable, waited for after the connection is released so others can commit meanwhile
   * and share the sync; with `awaitDurable: false`, at commit (see the port for the one use it has).
   */
  async transaction<T>(work: (repos: Repos) => Promise<T>, options: { awaitDurable?: boolean } = {}): Promise<T> {
    // A transaction the database ended (contention, a lost connection) rejects as UNAVAILABLE, "try
    // again", translated where the driver raised it (driver-errors.ts).
    const result = await this.handle.db.transaction().execute((trx) => work(reposFor(trx, this.handle.caps, this.auditSealKey, this.searchKeys, this.signInSeals)));
    if (options.awaitDurable !== false) await this.handle.durable();
    return result;
  }

  /** Resolves once every write committed before the call is on disk (see DatabaseHandle.durable). */
  durable(): Promise<void> {
    return this.handle.durable();
  }

  /** SQLite only: a consistent copy of the database in the new file `into`, made off the event loop (DatabaseHandle.snapshotInto). */
  snapshotInto(into: string): Promise<void> {
    if (!this.handle.snapshotInto) throw new Error('Only an SQLite database is copied into a file (PostgreSQL\'s snapshot is a transaction: db/snapshot.ts).');
    return this.handle.snapshotInto(into);
  }

  async close(): Promise<void> {
    // Audit events gathered for a shared commit are written before the connection goes.
    await this.repos.audit.drained();
    await this.handle.close();
  }
}

const noKeys = (): never => {
  throw new Error('This Store was opened without search keys, so it cannot use the PostgreSQL search index (pass DerivedSearchKeys to new Store).');
};
const missingSearchKeys: SearchKeys = { termKey: noKeys, textKey: noKeys };

const noSeals = (): never => {
  throw new Error('This Store was opened without sign-in seals, so it cannot write or check people\'s sign-in secrets (pass DerivedSignInSeals to new Store).');
};
const missingSignInSeals: SignInSeals = { password: noSeals, mfa: noSeals, credential: noSeals, scimToken: noSeals, identityProvider: noSeals, federatedLink: noSeals, matches: noSeals, sealTotpSecret: noSeals, openTotpSecret: noSeals };

// Port: WebDAV locks on documents and collections. Part of the Store's repositories
// (domain/repositories.ts `locks`).

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

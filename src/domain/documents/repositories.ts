// Ports: the content as services see it: collections, documents and their versions (text state and
// thumbnails included), WebDAV dead properties, and the offsite replica's ledger of their blobs.
// Part of the Store's repositories (domain/repositories.ts `collections`, `documents`, `dav`, `replicas`).
import type { CollectionFacts, DocumentFacts } from '../audit/access-facts-record.js';
import type { TextStatus } from '../search/types.js';
import type { Classification, Collection, Document, DocumentStatus, ScanStatus, Version } from '../types.js';

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
  /** The live child of exactly that name (a WebDAV path's step). */
  childByName(organisationId: string, parentId: string | null, name: string): Promise<Collection | undefined>;
  /** The live children holding that name in any case (nameKey), oldest first: one at most, but as DocumentsRepository.holdersOfName says. */
  childrenHoldingName(organisationId: string, parentId: string | null, name: string): Promise<Collection[]>;
  /**
   * In the transaction that gives a collection `name` under a parent (null: the organisation's top level) —
   * a create, a rename or move, a folder copy: waits until no other transaction is claiming that name there,
   * then returns the live collection holding it now, if any. A check made before the transaction is only
   * advice; two requests taking one name at once are ordered here, and the later sees the earlier's folder.
   * Under a parent it is the same claim as DocumentsRepository.claimName's of that name in that collection, so a
   * document and a folder taking one name are ordered too (services/name-claims.ts asks both). In any case, as
   * DocumentsRepository.claimName.
   */
  claimName(organisationId: string, parentId: string | null, name: string): Promise<Collection[]>;
  listByOrganisation(organisationId: string): Promise<Collection[]>;
  /** Writes a collection's name, place and the facts derived from its place (domain/placement.ts). */
  place(id: string, p: { name: string; parentId: string | null; serviceArea: string; classification: string; arrangementId: string | null }): Promise<void>;
  softDelete(id: string, at: string): Promise<void>;
  /** Every collection's id, parent, time in the bin and the facts access is decided on, as stored (deleted ones too), for `audit verify`. */
  everyPlacement(): Promise<CollectionFacts[]>;
}

export type DocumentPatch = Partial<{
  name: string; collectionId: string; status: DocumentStatus; deletedAt: string | null; classification: string;
  arrangementId: string | null; serviceArea: string;
}>;

/** DocumentsRepository.inCollection's choice of rows. */
export interface InCollectionOptions {
  includeDeleted?: boolean;
  limit?: number;
  after?: string;
  afterId?: string;
  classifications?: readonly Classification[];
}

export interface DocumentsRepository {
  insertDocument(d: Omit<Document, 'size' | 'sha256' | 'mediaType' | 'sourceModifiedAt'>): Promise<void>;
  insertVersion(v: Version): Promise<void>;
  /** A document with its current version's size, hash and media type. */
  byId(id: string): Promise<Document | undefined>;
  /**
   * `byId`, holding the document against other changes until the transaction ends. Every transaction
   * that changes a document and its versions or its search index takes the document first (this, or
   * updateVersionScan), so none of them waits on another in a cycle.
   */
  byIdForChange(id: string): Promise<Document | undefined>;
  /** `byId` and its current version (what `versionById(document.currentVersionId)` gives), in one read. */
  withCurrentVersion(id: string): Promise<{ document: Document; version: Version } | undefined>;
  /** Those of the ids that exist (with their current versions' facts), in no particular order. */
  byIds(ids: readonly string[]): Promise<Document[]>;
  /** Documents' ids, collections, times in the bin, statuses and the facts access is decided on, as stored (every status), in id order after `afterId`, for `audit verify`. */
  placementPage(afterId: string | null, limit: number): Promise<(DocumentFacts & { deletedAt: string | null })[]>;
  /** The live document of exactly that name in a collection (a WebDAV path's last step). */
  byName(collectionId: string, name: string): Promise<Document | undefined>;
  /**
   * The live documents holding that name in a collection in any case (domain/names.ts nameKey), oldest first:
   * one at most, but where the upgrade to case-insensitive names found several (migration 202612260000).
   */
  holdersOfName(collectionId: string, name: string): Promise<Document[]>;
  /**
   * In the transaction that gives a document `name` in a collection (an upload, copy, move, rename or
   * restore): waits until no other transaction is claiming that name there, then returns the live
   * document holding it now, if any. A check made before the transaction (before an upload's bytes
   * arrived) is only advice; two requests taking one name at once are ordered here, and the later sees
   * the earlier's document. It is the same claim as CollectionsRepository.claimName's of that name under that
   * collection, so a document and a sub-collection taking one name are ordered too. A name is claimed in any
   * case (its nameKey): `Minutes.docx` and `minutes.docx` wait for each other, and either finds the other.
   */
  claimName(collectionId: string, name: string): Promise<Document[]>;
  /**
   * The documents of a collection (live ones; binned ones too with `includeDeleted`; never disposed ones) in
   * order of name, then id: every one of them unless `limit` is given. `after` alone starts after that name;
   * with `afterId`, after that (name, id), which is unique even among binned documents sharing a name.
   * `classifications` leaves out documents of any other classification.
   */
  inCollection(collectionId: string, options?: InCollectionOptions): Promise<Document[]>;
  recentInOrganisations(organisationIds: string[], limit: number): Promise<Document[]>;
  versions(documentId: string): Promise<Version[]>;
  version(documentId: string, number: number): Promise<Version | undefined>;
  versionById(id: string): Promise<Version | undefined>;
  /** Those of the ids that exist, in no particular order. */
  versionsByIds(ids: readonly string[]): Promise<Version[]>;
  versionsByScanStatus(statuses: ScanStatus[], organisationId?: string): Promise<Version[]>;
  /** Readable (clean or released) versions created since `since`, by id, after `afterId`. */
  versionsSince(since: string, limit: number, afterId?: string): Promise<Version[]>;
  /** Points the document at a new current version if its current number is still `expectedCurrent`. */
  setCurrentVersion(documentId: string, expectedCurrent: number, version: Version, status: DocumentStatus, at: string): Promise<boolean>;
  update(id: string, patch: DocumentPatch, at: string): Promise<void>;
  /**
   * Takes the version's document (as byIdForChange does) before the version. `releaseReason`: a release from
   * quarantine's written reason, stored apart from `detail` (which every reader of the version is shown).
   */
  updateVersionScan(versionId: string, scan: { status: ScanStatus; detail: string | null; engine: string | null; at: string; releaseReason?: string }): Promise<void>;
  /** Crypto-shredding: without the wrapped key no copy of the blob (nor of its thumbnail) can ever be decrypted. */
  destroyVersionKey(versionId: string): Promise<void>;
  /** A version's text extraction state and thumbnail (search). */
  textState(versionId: string): Promise<VersionTextState | undefined>;
  /** Ends (or restarts) a version's extraction; `thumbnail` undefined leaves the stored one, null forgets it. */
  setTextState(versionId: string, state: { status: TextStatus; reason: string | null }, thumbnail?: ThumbnailRef | null): Promise<void>;
  /**
   * Forgets a version's thumbnail when it is still the blob named (a lost one, found by a read), leaving its
   * text as it is; false when another thumbnail, or none, is recorded by now.
   */
  forgetThumbnail(versionId: string, blobId: string): Promise<boolean>;
  /**
   * What else names `blobId` besides `versionId`'s thumbnail: a version's content, another version's thumbnail,
   * or nothing. Nothing Strongroom writes names one blob twice, so an answer is a row written into the database directly.
   */
  blobNamedBesides(blobId: string, versionId: string): Promise<'content' | 'thumbnail' | null>;
  /**
   * Current versions whose text is in one of `statuses` and that extraction could read (scanned clean
   * or released, key not destroyed, document not disposed), in id order after `afterId`, each with its
   * document's organisation: the reindex sweep.
   */
  versionsAwaitingText(options: { statuses: readonly TextStatus[]; organisationId?: string; afterId?: string; limit: number }): Promise<{ id: string; organisationId: string; size: number; authorOrganisationId: string | null }[]>;
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

/** Blobs committed but not yet copied to the offsite replica: how many, and since when the oldest waits. */
export interface ReplicaLag {
  pending: number;
  /** Commit time of the oldest version still waiting, or null when none waits. */
  oldestCommittedAt: string | null;
}

/** The offsite replica's ledger (blob_replicas) and the versions the scrub reads. */
export interface BlobReplicasRepository {
  markReplicated(blobId: string, versionId: string, at: string): Promise<void>;
  /**
   * A restore copied the version's blob into the new primary store under a new id, which the replica does
   * not hold: the version names it and waits for the replica again (the lag gauges count it).
   */
  restoredAs(versionId: string, blobId: string): Promise<void>;
  /** The replica copy is gone (`refused` null), or the replica refused to delete it (why). */
  markDeleted(blobId: string, versionId: string, at: string, refused: string | null): Promise<void>;
  markScrubbed(blobId: string, versionId: string, at: string): Promise<void>;
  /** Records that both copies are bad; true when it was not already recorded (so the alarm is raised once). */
  markUnrecoverable(blobId: string, versionId: string, at: string): Promise<boolean>;
  clearUnrecoverable(blobId: string): Promise<void>;
  /** The whole vault's lag, or one organisation's (its own versions): a council is shown only its own. */
  lag(organisationId?: string): Promise<ReplicaLag>;
  /** Live versions (key not destroyed) whose both copies were last found bad: the vault's, or one organisation's. */
  unrecoverable(organisationId?: string): Promise<number>;
  /** Live versions (with a key) in id order after `afterId`, or a random sample of `sample` of them. */
  liveVersions(options: { limit: number; afterId?: string; random?: boolean }): Promise<Version[]>;
}

/** The two blob stores the garbage collection sweeps. */
export type SweptStore = 'primary' | 'replica';

/** A blob a sweep found that nothing named: when a sweep first saw it, and whether a later one decided to delete it. */
export interface OrphanBlobCandidate {
  blobId: string;
  firstSeenAt: string;
  /** Set once a sweep found it unreferenced past the grace period, in the statement that checked; never cleared. */
  condemnedAt: string | null;
}

/**
 * The garbage collection's memory (orphan_blob_candidates) and the one question it asks the database:
 * which blob ids something still names. Writing a version or thumbnail for a condemned blob is refused
 * by the documents repository, so a condemned blob can be deleted without a commit racing it.
 */
export interface OrphanBlobsRepository {
  /**
   * Of `blobIds`, those the database names for this store: a version's blob or thumbnail (destroyed and
   * quarantined versions included, for as long as their row names it); for the replica also its ledger
   * (blob_replicas: every blob the replica was given, under the id it was given; a restore re-ids the
   * primary's blobs, and older backups still name the replica's).
   */
  referencedAmong(store: SweptStore, blobIds: readonly string[]): Promise<Set<string>>;
  /** The store's candidates by blob id: all of them, or only those `among` names (a sweep asks a batch at a time, never the whole table). */
  candidates(store: SweptStore, page?: { among?: readonly string[] }): Promise<OrphanBlobCandidate[]>;
  /** Records these as candidates first seen `at`; those already recorded keep their first-seen time. */
  record(store: SweptStore, blobIds: readonly string[], at: string): Promise<void>;
  /** Marks these candidates as listed by a sweep `at` (a later mark is kept). */
  markListed(store: SweptStore, blobIds: readonly string[], at: string): Promise<void>;
  /**
   * After a whole listing of the store that began at `since` and marked every candidate it found: forgets,
   * in one statement, the candidates last listed (or recorded) before `since` (their blob is gone), but
   * never a condemned one. Answers how many it forgot.
   */
  forgetUnlisted(store: SweptStore, since: string): Promise<number>;
  /**
   * Forgets these candidates, but never a condemned one, even one condemned since the caller read it: a
   * condemned row is the fence (blob-references.ts) that refuses a late commit naming its deleted blob.
   */
  forget(store: SweptStore, blobIds: readonly string[]): Promise<void>;
  /**
   * Condemns a candidate in one statement, only if it was first seen at or before `seenBy` and nothing
   * (as referencedAmong) names it now: true when condemned (or already condemned).
   */
  condemn(store: SweptStore, blobId: string, seenBy: string, at: string): Promise<boolean>;
  /** A restore's: the candidates were another store's (a restore gives every blob a new id). */
  forgetAll(): Promise<void>;
  /** The database server's time: one clock for every node that sweeps, however far theirs drift apart. */
  databaseNow(): Promise<Date>;
}

// Ports: the records-management tables as services see them (the file plan and retention events, legal
// holds, disposal batches, certificates and stubs). Part of the Store's repositories (domain/repositories.ts).
import type { DisposalBatch, DisposalItem, DisposalStub, ItemDecision, ItemOutcome } from './disposal.js';
import type { RetentionEvent } from './events.js';
import type { HoldItem, HoldRef, LegalHold } from './holds.js';
import type { SubjectAccessItem, SubjectAccessOutcome, SubjectAccessPart, SubjectAccessRequest } from './subject-access.js';
import type { RecordSeries, SeriesRevision } from './series.js';

/** Where a document sits for retention: its own series and extension, and the collections above it. */
export interface RetentionPlacement {
  documentId: string;
  organisationId: string;
  createdAt: string;
  /** The document's own series (set by a records manager), or null: its nearest collection's. */
  ownSeriesCode: string | null;
  retainUntil: string | null;
  /** The collection the document's row names. */
  collectionId: string;
  /** The document's collection first, then each parent up to the top, with its parent and the series filed on each (or null). */
  collections: { id: string; parentId: string | null; seriesCode: string | null }[];
}

/** The file plan (record series and their revisions), where records are filed, and retention events. */
/** One page of an organisation's documents in a series (RetentionRepository.documentsInSeriesPage). */
export interface DocumentsInSeriesPage {
  ids: string[];
  /** The last document read (in a series or not), where the next page starts; null when this page was the last. */
  last: string | null;
}

export interface RetentionRepository {
  listSeries(organisationId: string): Promise<RecordSeries[]>;
  series(organisationId: string, code: string): Promise<RecordSeries | undefined>;
  /** Adds a series at revision 1 and stores that revision. False if the code is taken in the organisation. */
  insertSeries(series: RecordSeries, change: { reason: string; changedBy: string | null }): Promise<boolean>;
  /** Writes the series (its revision already bumped) if the stored revision is still `expectedRevision`, and stores the revision. */
  saveSeries(series: RecordSeries, expectedRevision: number, change: { reason: string; changedBy: string | null }): Promise<boolean>;
  seriesRevisions(organisationId: string, code: string): Promise<SeriesRevision[]>;
  setCollectionSeries(collectionId: string, seriesCode: string | null): Promise<void>;
  collectionSeries(collectionId: string): Promise<string | null>;
  setDocumentSeries(documentId: string, seriesCode: string | null): Promise<void>;
  setRetainUntil(documentId: string, date: string | null): Promise<void>;
  /** Retention placement of each of these documents that exists (live, deleted or disposed). */
  placements(documentIds: readonly string[]): Promise<RetentionPlacement[]>;
  /**
   * Every document of the organisation not yet disposed (in the bin too) whose series, own or inherited,
   * is one of `seriesCodes` (all series when omitted): for sweeps and for listing what a series change moves.
   */
  documentsInSeries(organisationId: string, seriesCodes?: readonly string[]): Promise<string[]>;
  /**
   * The same, a page at a time: of the organisation's next `limit` documents not disposed after `after` (in id
   * order), those in a series; `last` is where the next page starts, null once none is left.
   */
  documentsInSeriesPage(organisationId: string, after: string | null, limit: number, seriesCodes?: readonly string[]): Promise<DocumentsInSeriesPage>;
  insertEvent(event: RetentionEvent): Promise<void>;
  event(id: string): Promise<RetentionEvent | undefined>;
  clearEvent(id: string, at: string, by: string | null): Promise<void>;
  /** Events recorded for any of these documents or collections (cleared ones too). */
  eventsFor(places: { documentIds: readonly string[]; collectionIds: readonly string[] }): Promise<RetentionEvent[]>;
  /** Series codes set on the collection itself, on any collection below it or on any document in them (not inherited ones). */
  seriesSetBelow(collectionId: string): Promise<string[]>;
}

export interface HoldsRepository {
  insert(hold: LegalHold): Promise<void>;
  byId(id: string): Promise<LegalHold | undefined>;
  /** The organisation's holds, active first, newest first. */
  list(organisationId: string): Promise<LegalHold[]>;
  addItem(item: HoldItem): Promise<void>;
  items(holdId: string): Promise<HoldItem[]>;
  /** Releases a hold if it is still active; false if it was already released. */
  release(id: string, change: { at: string; by: string | null; reason: string }): Promise<boolean>;
  /**
   * The active holds over each of these documents, directly or through any collection above it, read
   * fresh (a hold placed a moment ago counts). Documents under no hold are absent from the map.
   */
  activeForDocuments(documentIds: readonly string[]): Promise<Map<string, HoldRef[]>>;
  /** The active holds over these collections, directly or through any collection above them. */
  activeForCollections(collectionIds: readonly string[]): Promise<Map<string, HoldRef[]>>;
  /**
   * Within a transaction that places a hold: locks the rows of the documents and collections about to
   * be held (exclusively, where the database has row locks), so it is ordered against `lockForDestroying`.
   */
  lockForPlacing(places: { documentIds: readonly string[]; collectionIds: readonly string[] }): Promise<void>;
  /**
   * Within a transaction that destroys a document: locks its row exclusively and each collection above
   * it shared. A hold being placed on any of them commits first (and is then seen) or waits for this one.
   */
  lockForDestroying(documentId: string): Promise<void>;
  /**
   * Within a transaction that changes what a hold freezes (binning, moving, renaming, reclassifying, a new
   * version), before decide() is asked again in it: locks these documents' rows exclusively, then these
   * collections exclusively (they are about to change: a folder binned or moved with everything below it)
   * and every collection above any of them shared, each kind in id order as `lockForPlacing` takes them.
   * A hold being placed on any of them commits first (and the decision then sees it) or waits for this one.
   */
  lockForChanging(places: { documentIds: readonly string[]; collectionIds: readonly string[] }): Promise<void>;
  /** Every hold of every organisation, released ones too: for `audit verify`, which checks each against its events. */
  everyHold(): Promise<LegalHold[]>;
  /** Every hold item of every organisation, for `audit verify`. */
  everyItem(): Promise<HoldItem[]>;
}

export interface DisposalRepository {
  insertBatch(batch: DisposalBatch, items: DisposalItem[]): Promise<void>;
  batch(id: string): Promise<DisposalBatch | undefined>;
  /** The organisation's batches, newest first. */
  batches(organisationId: string, limit?: number): Promise<DisposalBatch[]>;
  items(batchId: string): Promise<DisposalItem[]>;
  /** Documents already in a batch that is not yet executed (a sweep does not propose them again). */
  documentsInOpenBatches(organisationId: string): Promise<Set<string>>;
  decide(batchId: string, documentId: string, decision: { decision: ItemDecision; by: string; at: string; extendTo: string | null; reason: string | null }): Promise<void>;
  /** Moves the batch from `from` to `to` with the given fields; false if it was no longer in `from`. */
  setStatus(batchId: string, from: DisposalBatch['status'], to: DisposalBatch['status'], fields: Partial<Pick<DisposalBatch, 'approvedAt' | 'approvedBy' | 'executedAt' | 'certificateId'>>): Promise<boolean>;
  /** Records an item's outcome, unless it already has one (the first recorded stands). */
  setOutcome(batchId: string, documentId: string, outcome: ItemOutcome, at: string): Promise<void>;
  insertCertificate(c: { id: string; batchId: string; organisationId: string; issuedAt: string; body: string }): Promise<void>;
  certificate(id: string): Promise<{ id: string; batchId: string; organisationId: string; issuedAt: string; body: string } | undefined>;
  insertStub(stub: DisposalStub): Promise<void>;
  stub(documentId: string): Promise<DisposalStub | undefined>;
  stubs(batchId: string): Promise<DisposalStub[]>;
  /** Records the certificate on the stubs of the batch's destroyed documents. */
  setStubsCertificate(batchId: string, certificateId: string): Promise<void>;
  /** Documents of the organisation in the bin (soft-deleted at or before `deletedBefore`) and not yet disposed, oldest deletion first. */
  binExpired(organisationId: string, deletedBefore: string, limit: number): Promise<string[]>;
  /** For each of these documents, the hold ids it was last shown excluded by in any batch (sorted, comma-joined). */
  lastExclusions(organisationId: string, documentIds: readonly string[]): Promise<Map<string, string>>;
  /** Every batch of every organisation, for `audit verify` (an approval must be vouched for by its event). */
  everyBatch(): Promise<DisposalBatch[]>;
  /** Every item of every batch that carries a decision, for `audit verify`. */
  everyDecidedItem(): Promise<DisposalItem[]>;
}

export interface SubjectAccessRepository {
  insertRequest(request: SubjectAccessRequest): Promise<void>;
  request(id: string): Promise<SubjectAccessRequest | undefined>;
  /**
   * Reads the request locked against every other change to it until the transaction ends (PostgreSQL; SQLite
   * has one writer), so two changes decided on the same state are made one after the other.
   */
  lockRequest(id: string): Promise<SubjectAccessRequest | undefined>;
  /** The organisation's own requests, open first, then by due date. */
  requestsOf(organisationId: string): Promise<SubjectAccessRequest[]>;
  /** The requests another organisation asked this one to search for, open first, then by due date. */
  requestsAskedOf(organisationId: string): Promise<SubjectAccessRequest[]>;
  extend(id: string, extension: { dueOn: string; reason: string }): Promise<boolean>;
  /** Closes an open request; false if it was no longer open. */
  close(id: string, closing: { outcome: SubjectAccessOutcome; note: string | null; by: string | null; at: string }): Promise<boolean>;
  insertPart(part: SubjectAccessPart): Promise<void>;
  parts(requestId: string): Promise<SubjectAccessPart[]>;
  setPartHold(requestId: string, organisationId: string, holdId: string): Promise<void>;
  /** The open request one of whose parts keeps its records under this hold, if any. */
  openRequestHolding(holdId: string): Promise<SubjectAccessRequest | undefined>;
  /** Marks the part searched (or, with null, not yet searched again). */
  setPartSearched(requestId: string, organisationId: string, searched: { at: string; by: string | null } | null): Promise<void>;
  insertItem(item: SubjectAccessItem): Promise<void>;
  /** The items of a request, removed ones too, in the order they were added; of one part if `organisationId` is given. */
  items(requestId: string, organisationId?: string): Promise<SubjectAccessItem[]>;
  removeItem(itemId: string, removal: { by: string | null; at: string }): Promise<boolean>;
  /** Every request, part and item (removed ones too), of every organisation: for `audit verify`. */
  everyRequest(): Promise<SubjectAccessRequest[]>;
  everyPart(): Promise<SubjectAccessPart[]>;
  everyItem(): Promise<SubjectAccessItem[]>;
}

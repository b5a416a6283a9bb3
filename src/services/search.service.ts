// Search: what a person may find (the query parsed, the readable scope from AccessService applied inside
// the index's query, snippets made from decrypted text for the shown hits only, every search audited with
// a keyed hash of the query), each document's text status and thumbnail, and the extract-text job.
import { createHmac } from 'node:crypto';
import { DomainError, IntegrityError, invalid, notFound } from '../domain/errors.js';
import { extractTextJob } from '../domain/jobs/kinds.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { JobCompletion, Store } from '../domain/repositories.js';
import { parseSearchQuery } from '../domain/search/query.js';
import { DOCUMENT_TYPES, SEARCH_COUNT_CAP, type DocumentType, type ReadableScope, type SearchQuery, type FacetCount, type IndexResults, type SearchFilters, type SearchSort, type TextStatus } from '../domain/search/types.js';
import { CLASSIFICATIONS, type Actor, type Channel, type Version } from '../domain/types.js';
import { scopeNarrowed, searchShows } from '../domain/access/readable-scope.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { target } from './document-ingestion.js';
import { documentTypeOf } from '../domain/search/document-type.js';
import { thumbnailBinding, type TextIndexing } from './text-indexing.js';
import type { SearchBudget } from './search-budget.js';

export interface SearchRequest {
  /** What the person typed; parsed by domain/search/query.ts (never pasted into FTS syntax). */
  q: string;
  filters: SearchFilters;
  sort: SearchSort;
  /** 1-based; at most MAX_PAGE. */
  page: number;
}

export interface SearchResultHit {
  documentId: string;
  versionId: string;
  name: string;
  organisation: { id: string; name: string };
  /** `name` is null where the reader may not open the folder (they may still read the document). */
  collection: { id: string; name: string | null };
  /** From the hit's best section; offsets are UTF-16 indexes into `text`, end exclusive. */
  snippet: { text: string; highlights: Array<[start: number, end: number]> } | null;
  /** The page of the best section, for PDFs and images; null where the format has no pages. */
  page: number | null;
  score: number;
  updatedAt: string;
  type: DocumentType;
  /** Whether GET /api/v1/documents/{id}/thumbnail has an image. */
  thumbnail: boolean;
}

/**
 * A facet value; `label` is set where a person needs a name rather than an id (organisation,
 * collection), and left out for a collection the reader may not open.
 */
export interface LabelledFacetCount extends FacetCount {
  label?: string;
}

export interface SearchResponseFacets {
  organisation: LabelledFacetCount[];
  collection: LabelledFacetCount[];
  serviceArea: LabelledFacetCount[];
  classification: LabelledFacetCount[];
  type: LabelledFacetCount[];
  year: LabelledFacetCount[];
}

export interface SearchResponse {
  q: string;
  /** Counted exactly up to SEARCH_COUNT_CAP (1,000); when more match, it is the cap and `totalIsLowerBound` is true. */
  total: number;
  /** More than `total` documents match; the facets then count the 1,000 most recently changed of them. */
  totalIsLowerBound: boolean;
  page: number;
  pageSize: number;
  hits: SearchResultHit[];
  facets: SearchResponseFacets;
}

export interface TextStatusView {
  status: TextStatus;
  reason: string | null;
}

/** What a reindex did: extraction jobs added, and versions whose job was already queued or running. */
export interface ReindexOutcome {
  queued: number;
  alreadyQueued: number;
}

/** Versions queued per transaction by a reindex: short transactions, so uploads and the worker carry on. */
const REINDEX_BATCH = 500;

export const SEARCH_PAGE_SIZE = 20;
export const SEARCH_MAX_PAGE = 50;

/** Larger than any first page the thumbnailer draws (a 240-pixel PNG, at most about 230 KB): a bigger record is damage. */
const THUMBNAIL_MAX_BYTES = 4 * 1024 * 1024;

export interface SearchServiceOptions {
  store: Store;
  access: AccessService;
  /** Thumbnails, read from the primary store alone (they have no replica copy, so nothing heals them). */
  blobs: EncryptedBlobs;
  clock: Clock;
  serviceAreas: readonly string[];
  /** Keys the query's hash in the audit event (derived from the master key), so a dictionary cannot reverse it. */
  queryAuditKey: Buffer;
  /** What the actor may read, from decide()'s rules with arrangements read now: `AccessService.readableScope`. */
  scopeOf: (actor: Actor) => Promise<ReadableScope>;
  /**
   * The person as they are now (IdentityService.actorNow): their teams, clearance and roles read again, and
   * refused (audited, 401) once they were switched off, or the credential they searched with ended, meanwhile.
   */
  actorNow: (actor: Actor) => Promise<Actor>;
  /** A section's text cut around the matches, in plain and highlighted parts (domain/search/snippet.ts makeSnippet). */
  snippet: (text: string, query: SearchQuery) => readonly { text: string; highlighted: boolean }[];
  /** The extract-text, search-rename (jobs queued before renames wrote the index themselves), search-purge and compact-search jobs. */
  indexing: TextIndexing;
  /** Each person's and organisation's search time on this node; a search past either share is refused before it runs. */
  budget: SearchBudget;
  /** How long one search statement may run before the search is refused as too slow (IndexQuery.timeoutMs). */
  timeoutMs: number;
}

/** How many times one search asks the index when what its person may read keeps narrowing while it runs. */
const SCOPE_ASKED_AT_MOST = 3;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_ID_LENGTH = 100;

export class SearchService {
  constructor(private readonly o: SearchServiceOptions) {}

  /**
   * Searches what `actor` may read; BAD_QUERY / INVALID (400) for a query or filter that cannot be used
   * (or a search stopped by the timeout), RATE_LIMITED (429) past the person's or organisation's search time,
   * UNAUTHENTICATED (401, audited) when the person was switched off or their credential ended while it ran.
   */
  async search(asked: Actor, request: SearchRequest, channel: Channel): Promise<SearchResponse> {
    let actor = asked;
    const query = parseSearchQuery(request.q);
    const page = request.page;
    if (!Number.isInteger(page) || page < 1 || page > SEARCH_MAX_PAGE) {
      throw invalid(`The page must be a whole number from 1 to ${SEARCH_MAX_PAGE}; narrow the search to see more.`, { field: 'page' });
    }
    const filters = this.validFilters(request.filters);
    if (request.sort !== 'relevance' && request.sort !== 'date') throw invalid('Sort by "relevance" or "date".', { field: 'sort' });
    // The scope comes from decide()'s rules, with arrangements read now: a suspension counts at once.
    let scope = await this.o.scopeOf(actor);
    let results: IndexResults;
    for (let asked = 1; ; asked++) {
      // Refused before the index is asked when this person, or their organisation, has spent its share;
      // the time in the index is charged whether it answers, fails or is stopped by the timeout.
      const charge = this.o.budget.admit(actor);
      try {
        results = await this.o.store.repos.search.search({
          query, scope, filters, sort: request.sort, offset: (page - 1) * SEARCH_PAGE_SIZE, limit: SEARCH_PAGE_SIZE, countCap: SEARCH_COUNT_CAP, timeoutMs: this.o.timeoutMs,
        });
      } finally {
        charge.finish();
      }
      // The statement can run for seconds: an arrangement suspended or ended, a team taken away or a clearance
      // lowered meanwhile counts for what this answers, as it would at the next search. The person and the scope
      // are read again (the person as they are now, not as the request began: a scope worked out again from the
      // actor it began with saw only the arrangements change), and a narrower scope asks the index again, so no
      // hit, snippet, total or facet comes from a reach the person no longer has; a person switched off, or whose
      // credential ended, meanwhile is refused (401, audited) and shown nothing.
      actor = await this.o.actorNow(actor);
      const scopeNow = await this.o.scopeOf(actor);
      if (!scopeNarrowed(scope, scopeNow)) break;
      scope = scopeNow;
      if (asked === SCOPE_ASKED_AT_MOST) throw new DomainError('CONFLICT', 'What you may read changed while you searched. Search again.');
    }

    const repos = this.o.store.repos;
    // Each hit's documents and version rows, read now, must still be ones the scope shows: a document
    // moved, reclassified, binned or quarantined since the search statement is left out rather than
    // shown under its new name, and so is one a tampered index row (PostgreSQL's copy of the scope
    // columns) let through.
    const versions = new Map((await repos.documents.versionsByIds(results.hits.map((h) => h.versionId))).map((v) => [v.id, v]));
    const versionOf = new Map(results.hits.map((h) => [h.documentId, versions.get(h.versionId)]));
    const documents = new Map((await repos.documents.byIds(results.hits.map((h) => h.documentId)))
      .filter((d) => searchShows(scope, d, versionOf.get(d.id))).map((d) => [d.id, d]));
    // Decrypted text for the shown hits only; snippets are made here and never stored. Where the text
    // belongs (organisation, document) comes from the documents row, never from the index's rows, so a
    // row re-pointed in the database cannot show another document's text under this one's name.
    const texts = await this.o.store.repos.search.sectionTexts(results.hits.flatMap((h) => {
      const document = documents.get(h.documentId);
      return document ? [{ organisationId: document.organisationId, documentId: document.id, versionId: h.versionId, section: h.section }] : [];
    }));
    const organisationIds = new Set([...results.facets.organisation.map((f) => f.value), ...[...documents.values()].map((d) => d.organisationId)]);
    const collectionIds = new Set([...results.facets.collection.map((f) => f.value), ...[...documents.values()].map((d) => d.collectionId)]);
    const organisationNames = new Map<string, string>();
    for (const id of organisationIds) {
      const organisation = await repos.organisations.byId(id);
      if (organisation) organisationNames.set(id, organisation.name);
    }
    // A readable document can lie in a folder its reader may not open (a document classified lower
    // than its folder, a partner's sub-folder outside the arrangement): its name is shown only to
    // whoever decide() lets list it, as breadcrumbs show it (CollectionsService.trail).
    const collections = await repos.collections.byIds([...collectionIds]);
    const listable = await this.o.access.can(actor, collections.map((c) => ({ action: 'collection.list' as const, resource: collectionResource(c) })));
    const collectionNames = new Map(collections.filter((c, i) => listable[i] && c.deletedAt === null).map((c) => [c.id, c.name]));

    const hits: SearchResultHit[] = [];
    for (const hit of results.hits) {
      const document = documents.get(hit.documentId);
      if (!document) continue;
      const text = texts.get(`${hit.versionId}:${hit.section}`);
      const state = await repos.documents.textState(hit.versionId);
      hits.push({
        documentId: document.id, versionId: hit.versionId, name: document.name,
        organisation: { id: document.organisationId, name: organisationNames.get(document.organisationId) ?? '' },
        collection: { id: document.collectionId, name: collectionNames.get(document.collectionId) ?? null },
        snippet: text === undefined ? null : joinSnippet(this.o.snippet(text, query)),
        page: hit.page, score: hit.score, updatedAt: document.updatedAt, type: hitType(document.mediaType), thumbnail: state?.thumbnail != null,
      });
    }
    const label = (names: Map<string, string>) => (f: FacetCount): LabelledFacetCount => (names.has(f.value) ? { ...f, label: names.get(f.value)! } : f);
    const facets: SearchResponseFacets = {
      ...results.facets,
      organisation: results.facets.organisation.map(label(organisationNames)),
      collection: results.facets.collection.map(label(collectionNames)),
    };

    // Never the query text: a keyed hash of it (the same query gives the same hash, for an investigator
    // who is told the query), the filters (ids and codes) and how many results it had.
    const now = this.o.clock.now();
    const ids: Record<string, string> = {
      queryHmac: createHmac('sha256', this.o.queryAuditKey).update(request.q, 'utf8').digest('hex'),
      results: String(results.total), page: String(page), sort: request.sort,
    };
    if (results.totalIsLowerBound) ids.resultsIsLowerBound = 'true';
    for (const [key, value] of Object.entries(filters)) if (value !== undefined) ids[`filter.${key}`] = String(value);
    await repos.audit.insert([auditEvent({ ...actor, channel }, 'search.query', { organisationId: actor.organisationId, ids }, { allow: true, reason: 'search', via: null }, now)]);

    return { q: request.q, total: results.total, totalIsLowerBound: results.totalIsLowerBound, page, pageSize: SEARCH_PAGE_SIZE, hits, facets };
  }

  /** The current version's text status; decided like document.read (NOT_FOUND otherwise). */
  async textStatus(actor: Actor, documentId: string): Promise<TextStatusView> {
    const document = await this.o.store.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    await this.o.access.require(actor, 'document.read', documentResource(document), target(document));
    const state = await this.o.store.repos.documents.textState(document.currentVersionId);
    return { status: state?.status ?? 'pending', reason: state?.reason ?? null };
  }

  /**
   * The current version's first-page PNG, read and checked whole before it is handed on (a thumbnail is a
   * few kilobytes), or null when it has none; decided like document.download, so a version under quarantine
   * or review shows no picture of itself either. A thumbnail the store does not have (deleted outside a
   * restore) is missing, not a failure: forgotten and drawn again (`TextIndexing.thumbnailLost`), answered
   * as none. One that fails its check (damaged, or its row pointed at another version's blob) is never
   * shown either: answered as none too, so nobody is stuck, but recorded as a finding, and a row naming
   * another's blob raises the integrity alarm (`TextIndexing.thumbnailFailedCheck`). Until 7 December it
   * answered 500 "stored copies are damaged" and queued a scrub of no version; until that evening, one
   * failing its check was forgotten as quietly as a missing one.
   */
  async thumbnail(actor: Actor, documentId: string): Promise<Buffer | null> {
    const repos = this.o.store.repos;
    const document = await repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const version = await this.currentVersionOf(document);
    const resource = version ? { ...documentResource(document), versionScan: version.scanStatus } : documentResource(document);
    await this.o.access.require(actor, 'document.download', resource, target(document, version?.id));
    if (!version) return null;
    const thumbnail = (await repos.documents.textState(version.id))?.thumbnail ?? null;
    if (thumbnail === null) return null;
    try {
      // A size no thumbnail has (a row changed by hand) is damage too, and is not read.
      if (!Number.isSafeInteger(thumbnail.size) || thumbnail.size <= 0 || thumbnail.size > THUMBNAIL_MAX_BYTES) {
        throw new IntegrityError(`The thumbnail's recorded size (${thumbnail.size}) is not one a thumbnail has.`);
      }
      // Opened under the binding of the document decided on, as a download is: another document's picture
      // fails its check rather than show, whatever the rows say.
      return await this.o.blobs.readRange({
        ...thumbnailBinding({ id: version.id, organisationId: document.organisationId, documentId: document.id }),
        blobId: thumbnail.blobId, keyId: thumbnail.keyId, wrappedKey: thumbnail.wrappedKey, size: thumbnail.size,
      }, { start: 0, end: thumbnail.size - 1 });
    } catch (error) {
      // An outage of the store stays an outage (503). A thumbnail missing is lost, quietly; one failing its
      // check (damage, or a row naming another version's blob) is a finding, and perhaps the alarm. Either is
      // forgotten and drawn again, and answered as none.
      if (!(error instanceof DomainError && (error.code === 'NOT_FOUND' || error.code === 'INTEGRITY'))) throw error;
      if (error.code === 'NOT_FOUND') await this.o.indexing.thumbnailLost(version, thumbnail.blobId, error);
      else await this.o.indexing.thumbnailFailedCheck(version, thumbnail.blobId, error);
      return null;
    }
  }

  /**
   * The document's current version, only if it is the document's own: a current_version_id pointed at
   * another document's version (written in the database) is no version of this one, so its thumbnail,
   * decided on this document, is never shown.
   */
  private async currentVersionOf(document: { id: string; currentVersionId: string }): Promise<Version | undefined> {
    const version = await this.o.store.repos.documents.versionById(document.currentVersionId);
    return version && version.documentId === document.id ? version : undefined;
  }

  /**
   * Whether `thumbnail()` would give this person an image, without opening it: the document page asks
   * before it shows one. Asked of can() (a page deciding what to offer audits no refusal).
   */
  async hasThumbnail(actor: Actor, documentId: string): Promise<boolean> {
    const repos = this.o.store.repos;
    const document = await repos.documents.byId(documentId);
    const version = document ? await this.currentVersionOf(document) : undefined;
    if (!document || !version) return false;
    const [allowed] = await this.o.access.can(actor, [{ action: 'document.download', resource: { ...documentResource(document), versionScan: version.scanStatus } }]);
    return allowed === true && (await repos.documents.textState(version.id))?.thumbnail != null;
  }

  /**
   * `strongroom search reindex`: queues extract-text for every current, readable version whose text is
   * pending (stored before search existed, or queued when a job was lost), or also failed with
   * `failed` (after an outage of tesseract or poppler), one short transaction per batch. A version whose
   * job is already queued or running is counted, not queued twice. The operator's alone (`jobs.manage`:
   * it queues work across every council); audited once, as search.reindex with the counts.
   */
  async reindex(actor: Actor, options: { organisationSlug?: string; failed?: boolean; batchSize?: number } = {}): Promise<ReindexOutcome> {
    const repos = this.o.store.repos;
    let organisationId: string | undefined;
    if (options.organisationSlug !== undefined) {
      const organisation = await repos.organisations.bySlug(options.organisationSlug);
      if (!organisation) throw new DomainError('NOT_FOUND', `No organisation has the slug "${options.organisationSlug.slice(0, 64)}"; "strongroom org list" shows them.`);
      organisationId = organisation.id;
    }
    const ids: Record<string, string> = { statuses: options.failed ? 'pending,failed' : 'pending' };
    const decision = await this.o.access.requireOrganisation(actor, 'jobs.manage', organisationId ?? actor.organisationId ?? '', ids);
    const statuses: TextStatus[] = options.failed ? ['pending', 'failed'] : ['pending'];
    const batchSize = options.batchSize ?? REINDEX_BATCH;
    const outcome: ReindexOutcome = { queued: 0, alreadyQueued: 0 };
    let afterId: string | undefined;
    for (;;) {
      const batch = await repos.documents.versionsAwaitingText({ statuses, organisationId, afterId, limit: batchSize });
      if (batch.length === 0) break;
      const now = this.o.clock.now();
      const added = await this.o.store.transaction(async (tx) => {
        let n = 0;
        // Each extraction is the work of its version's storer's council (services/lifecycle.ts chargedTo), taking
        // turns with that council's own. As the vault's own (a reindex across every council), it put the daily
        // backup and every other job of the vault's own behind all of it.
        for (const version of batch) {
          const job = { now, organisationId: version.authorOrganisationId ?? version.organisationId, bytes: version.size };
          if (await tx.jobs.enqueue(extractTextJob, { versionId: version.id }, job)) n += 1;
        }
        return n;
      });
      outcome.queued += added;
      outcome.alreadyQueued += batch.length - added;
      afterId = batch[batch.length - 1]!.id;
      if (batch.length < batchSize) break;
    }
    ids.queued = String(outcome.queued);
    ids.alreadyQueued = String(outcome.alreadyQueued);
    await repos.audit.insert([auditEvent(actor, 'search.reindex', { organisationId: organisationId ?? null, ids }, decision, this.o.clock.now())]);
    return outcome;
  }

  /** The extract-text job handler: idempotent; an outdated version (no longer current) does nothing. */
  async extract(versionId: string, signal: AbortSignal, completion?: JobCompletion): Promise<void> {
    await this.o.indexing.extract(versionId, signal, completion);
  }

  /** Shape second (a filter naming something the person cannot see simply matches nothing in their scope). */
  private validFilters(filters: SearchFilters): SearchFilters {
    const out: SearchFilters = {};
    for (const key of ['organisationId', 'collectionId'] as const) {
      const value = filters[key];
      if (value === undefined || value === '') continue;
      if (value.length > MAX_ID_LENGTH || !/^[A-Za-z0-9-]+$/.test(value)) throw invalid(`The ${key === 'organisationId' ? 'organisation' : 'collection'} filter is not a valid id.`, { field: key === 'organisationId' ? 'organisation' : 'collection' });
      out[key] = value;
    }
    if (filters.serviceArea !== undefined && filters.serviceArea !== '') {
      if (!this.o.serviceAreas.includes(filters.serviceArea)) throw invalid(`Unknown service area "${filters.serviceArea.slice(0, 40)}". Use one of: ${this.o.serviceAreas.join(', ')}.`, { field: 'serviceArea' });
      out.serviceArea = filters.serviceArea;
    }
    if (filters.classification !== undefined) {
      if (!(CLASSIFICATIONS as readonly string[]).includes(filters.classification)) throw invalid(`Unknown classification. Use one of: ${CLASSIFICATIONS.join(', ')}.`, { field: 'classification' });
      out.classification = filters.classification;
    }
    if (filters.type !== undefined) {
      if (!(DOCUMENT_TYPES as readonly string[]).includes(filters.type)) throw invalid(`Unknown type. Use one of: ${DOCUMENT_TYPES.join(', ')}.`, { field: 'type' });
      out.type = filters.type;
    }
    for (const key of ['from', 'to'] as const) {
      const value = filters[key];
      if (value === undefined || value === '') continue;
      if (!DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
        throw invalid(`"${key}" must be a date written YYYY-MM-DD, such as 2026-03-31.`, { field: key });
      }
      out[key] = value;
    }
    if (out.from !== undefined && out.to !== undefined && out.from > out.to) throw invalid('"from" must not be after "to".', { field: 'from' });
    return out;
  }
}

/** Parts → one string with the highlighted ranges as offsets into it (what REST and the pages receive). */
function joinSnippet(parts: readonly { text: string; highlighted: boolean }[]): { text: string; highlights: Array<[number, number]> } {
  let text = '';
  const highlights: Array<[number, number]> = [];
  for (const part of parts) {
    if (part.highlighted) highlights.push([text.length, text.length + part.text.length]);
    text += part.text;
  }
  return { text, highlights };
}

function hitType(mediaType: string): DocumentType {
  return documentTypeOf(mediaType);
}

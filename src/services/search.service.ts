// Search: what a person may find (the query parsed, the readable scope from AccessService applied inside
// the index's query, snippets made from decrypted text for the shown hits only, every search audited with
// a keyed hash of the query), each document's text status and thumbnail, and the extract-text job.
import type { Readable } from 'node:stream';
import type { DocumentType, FacetCount, SearchFilters, SearchSort, TextStatus } from '../domain/search/types.js';
import type { Actor, Channel } from '../domain/types.js';

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
  collection: { id: string; name: string };
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

/** A facet value; `label` is set where a person needs a name rather than an id (organisation, collection). */
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
  total: number;
  page: number;
  pageSize: number;
  hits: SearchResultHit[];
  facets: SearchResponseFacets;
}

export interface TextStatusView {
  status: TextStatus;
  reason: string | null;
}

export const SEARCH_PAGE_SIZE = 20;
export const SEARCH_MAX_PAGE = 50;

export class SearchService {
  /** Searches what `actor` may read; BAD_QUERY / INVALID (400) for a query or filter that cannot be used. */
  async search(actor: Actor, request: SearchRequest, channel: Channel): Promise<SearchResponse> {
    void actor; void request; void channel;
    throw new Error('not yet implemented');
  }

  /** The current version's text status; decided like document.read (NOT_FOUND otherwise). */
  async textStatus(actor: Actor, documentId: string): Promise<TextStatusView> {
    void actor; void documentId;
    throw new Error('not yet implemented');
  }

  /** The current version's first-page PNG (decrypted as read), or null when it has none; decided like document.download. */
  async thumbnail(actor: Actor, documentId: string): Promise<Readable | null> {
    void actor; void documentId;
    throw new Error('not yet implemented');
  }

  /** The extract-text job handler: idempotent; an outdated version (no longer current) does nothing. */
  async extract(versionId: string, signal: AbortSignal): Promise<void> {
    void versionId; void signal;
    throw new Error('not yet implemented');
  }
}

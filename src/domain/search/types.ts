// Full-text search in domain words: what extraction produces, what a query is once parsed, what a
// person may see (the readable scope), and what a search answers. No I/O, no SQL, no FTS syntax:
// the adapters (db/repos/search.*) translate these into FTS5 or PostgreSQL, and never see the
// query string a person typed.
import type { Classification, ServiceArea } from '../types.js';

/** How far a version's text has been extracted. */
export const TEXT_STATUSES = ['pending', 'done', 'partial', 'failed'] as const;
export type TextStatus = (typeof TEXT_STATUSES)[number];

/** One page of a PDF (or an image's only page), or one section of a format without pages. */
export interface TextSection {
  /** 1-based page number for PDFs and images; null where the format has no pages (DOCX, e-mail, text). */
  page: number | null;
  text: string;
}

/** What a `TextExtractor` made of one version. */
export interface ExtractedText {
  /**
   * `done`: all of it. `partial`: some of it, `reason` says why the rest is missing (a cap, a page that
   * timed out, an attachment that could not be read). `failed`: nothing usable (`reason` says why).
   */
  status: Exclude<TextStatus, 'pending'>;
  reason: string | null;
  sections: TextSection[];
  /** Pages seen and pages read by OCR, where the format has pages. */
  pages?: number;
  ocrPages?: number;
}

/** Coarse kinds of file, for the "type" facet and filter (from the version's detected media type). */
export const DOCUMENT_TYPES = ['pdf', 'word', 'spreadsheet', 'email', 'image', 'text', 'other'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/**
 * A parsed query. Terms are already normalised (domain/search/terms.ts), so both dialects match the
 * same words. A document matches when every `all` clause matches somewhere in it (one of the clause's
 * alternatives: `OR`) and no `none` term appears anywhere in it. A phrase matches within one section.
 */
export type QueryTerm =
  | { kind: 'word'; term: string }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'phrase'; terms: string[] };

export interface QueryClause {
  /** Alternatives joined by OR; one is enough. */
  anyOf: QueryTerm[];
}

export interface SearchQuery {
  all: QueryClause[];
  none: QueryTerm[];
}

export interface SearchFilters {
  organisationId?: string;
  collectionId?: string;
  serviceArea?: ServiceArea;
  classification?: Classification;
  type?: DocumentType;
  /** Inclusive UK calendar dates (YYYY-MM-DD) on the document's last change. */
  from?: string;
  to?: string;
}

export type SearchSort = 'relevance' | 'date';

/**
 * One way a person may read documents, as the domain's rules grant it (domain/access): documents of
 * `organisationId`, in these service areas (or all of them), at or below `maxClassification`; when
 * `arrangementId` is set, only that arrangement's joint workspace there. A document is readable when
 * some grant covers it and it is searchable at all (available, not deleted, not disposed).
 */
export interface ReadableGrant {
  organisationId: string;
  serviceAreas: readonly ServiceArea[] | 'all';
  maxClassification: Classification;
  arrangementId: string | null;
  /** The arrangement that grants it, or null for the person's own organisation. */
  via: string | null;
}

export interface ReadableScope {
  grants: readonly ReadableGrant[];
  /** The system actor: every searchable document of every organisation (grants are then ignored). */
  everything?: boolean;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchFacets {
  organisation: FacetCount[];
  collection: FacetCount[];
  serviceArea: FacetCount[];
  classification: FacetCount[];
  type: FacetCount[];
  year: FacetCount[];
}

/** One matching document: its best section (for the snippet and page). */
export interface IndexHit {
  documentId: string;
  versionId: string;
  /** The section's position in the version's text (0-based), for fetching its text for the snippet. */
  section: number;
  page: number | null;
  score: number;
}

/**
 * How many matching documents a search counts exactly. Counting and faceting every match of a common
 * word costs as much as the rest of the search together; past this many, a search reports "more than
 * 1,000" (`totalIsLowerBound`) and its facets describe the 1,000 most recently changed matches.
 * Paging never reaches past it (20 a page, 50 pages).
 */
export const SEARCH_COUNT_CAP = 1000;

export interface IndexResults {
  /**
   * Matching documents the scope lets the person read, before paging, counted up to the request's
   * `countCap`: when more match, `total` is the cap and `totalIsLowerBound` is true.
   */
  total: number;
  totalIsLowerBound: boolean;
  /**
   * The facets count the same set as `total`: every match, or when the count was capped, the first
   * `countCap` matches by last change (newest first, then document id), whatever the sort of the hits.
   */
  facets: SearchFacets;
  hits: IndexHit[];
}

// The search index port. Two adapters: SQLite FTS5 inside the encrypted database file, and PostgreSQL
// (a blind index of keyed term hashes in a tsvector, text encrypted for snippets). Same queries, same
// results on both; the readable scope is applied inside the query, never after paging.
import type { DocumentType, IndexResults, ReadableScope, SearchFilters, SearchQuery, SearchSort, TextSection } from './types.js';

/** What is indexed for one document: its current version's text, and its name. */
export interface IndexedDocument {
  organisationId: string;
  documentId: string;
  versionId: string;
  name: string;
  type: DocumentType;
  sections: readonly TextSection[];
}

export interface IndexQuery {
  query: SearchQuery;
  scope: ReadableScope;
  filters: SearchFilters;
  sort: SearchSort;
  offset: number;
  limit: number;
  /**
   * Count exactly up to this many matches (default SEARCH_COUNT_CAP); facets then describe the first
   * this many by last change. The hits' order never depends on it, so page N is the same page
   * whatever the cap.
   */
  countCap?: number;
  /**
   * How long each statement of the search may run; past it the search is refused with BAD_QUERY
   * (SEARCH_TOO_SLOW). PostgreSQL cancels the statement (statement_timeout); SQLite, whose statements
   * run on a thread of their own, stops waiting for it and replaces the thread.
   */
  timeoutMs?: number;
}

export const SEARCH_TOO_SLOW = 'Your search took too long. Use fewer or more specific words.';

/** A shown hit's section, with the document it is shown under. */
export interface SectionRef {
  organisationId: string;
  documentId: string;
  versionId: string;
  section: number;
}

export interface SearchIndex {
  /** Replaces whatever the document had in the index with this version's text (a new version replaces the old). */
  replaceDocument(entry: IndexedDocument): Promise<void>;
  /** A rename: the name matches from now on; the text stays. */
  renameDocument(documentId: string, name: string): Promise<void>;
  /** Removes documents' text and index rows (purge, disposal, crypto-shredding). */
  removeDocuments(documentIds: readonly string[]): Promise<void>;
  /** Removes the text of versions (a destroyed version, when it was the indexed one). */
  removeVersions(versionIds: readonly string[]): Promise<void>;
  /** Makes removed text leave the storage for good (FTS5 `optimize`; see docs/search.md for PostgreSQL). */
  compact(): Promise<void>;
  search(request: IndexQuery): Promise<IndexResults>;
  /**
   * The stored text of the sections the shown hits point at (decrypted where it is stored encrypted), keyed
   * `${versionId}:${section}`. `organisationId` and `documentId` are the document's own (from its row, not
   * the index's): only text stored for that document is returned, and sealed text must prove it was sealed
   * for that organisation and document, so an index row pointed at another document's version cannot
   * show that document's text (IntegrityError).
   */
  sectionTexts(refs: readonly SectionRef[]): Promise<Map<string, string>>;
}

// The PostgreSQL SearchIndex: a blind index (search-blind.ts) in tsvectors with a GIN index, one or
// more rows per section, and the text for snippets sealed under the organisation's search text key.
// A query may span organisations, so each clause is hashed once per organisation in the scope.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { SearchKeys } from '../../domain/ports.js';
import { DomainError } from '../../domain/errors.js';
import { SEARCH_TOO_SLOW, type IndexedDocument, type IndexQuery, type SearchIndex, type SectionRef } from '../../domain/search/repositories.js';
import { tokenize } from '../../domain/search/terms.js';
import type { IndexResults, QueryTerm } from '../../domain/search/types.js';
import type { Schema } from '../schema.js';
import { openText, sealText, tsqueryAny, tsvectorChunks } from './search-blind.js';
import { runSearch, type Executor } from './search-plan.js';
import { NAME_SECTION } from './search.sqlite.js';

interface SectionRow {
  section: number;
  page: number | null;
  text: string;
}

/** Rows per INSERT (at most 8 parameters each) and the tsvector literal bytes after which a batch is sent anyway. */
const TERM_ROWS_PER_INSERT = 1000;
const TERM_BYTES_PER_INSERT = 4_000_000;

/**
 * What ts_rank gives a section matching a clause of one prefix: a prefix's lexeme is stored without
 * positions (search-blind.ts), and ts_rank counts a position-less entry once and, under its default
 * normalisation, ignores the section's length, so every matching section ranks alike. Ranking such a
 * clause reads no tsvector: reading each matching section's (kilobytes, out of line) to compute this
 * one value was most of a prefix search's time. Folded to a constant when the statement is planned.
 */
const POSITIONLESS_RANK = sql`ts_rank(tsvector 'p', tsquery 'p')`;

/**
 * How many rows of search_documents one scan reads in the time one lookup of a matching document
 * takes (an index descent and a heap fetch against a filter test per row: about 10 to 14 on the
 * bench machine). More matching documents than the copy's rows divided by this, and the scope is
 * scanned rather than looked up per match; at 100,000 documents, past 6,250 matches.
 */
const ROWS_SCANNED_PER_LOOKUP = 16;

/**
 * Organisations whose hashes one match tsquery ORs together. A tsquery's operands are capped at about
 * 1 MB (some 40,000 lexemes of 24 hex characters), and a query has up to 20 words (MAX_QUERY_TERMS, a
 * phrase's words counted), so one tsquery holds at most 10,000. A scope of more organisations than this
 * (only the whole vault's, as a reindex reads it) tests one tsquery per group.
 */
const ORGANISATIONS_PER_TSQUERY = 500;

export interface PostgresSearchIndexOptions {
  /** Scan the scope when more documents than this match (default: search_documents' estimated rows / 16, at least 500). For tests of both ways. */
  scanScopeAbove?: number;
  /** Organisations one match tsquery ORs together (default ORGANISATIONS_PER_TSQUERY). For tests of large scopes. */
  organisationsPerTsquery?: number;
}

export class PostgresSearchIndex implements SearchIndex {
  readonly #scanScopeAbove: RawBuilder<unknown>;
  readonly #organisationsPerTsquery: number;

  constructor(private readonly db: Executor, private readonly keys: SearchKeys, options: PostgresSearchIndexOptions = {}) {
    // reltuples: the planner's own estimate, kept by VACUUM and ANALYZE (-1 before the first).
    this.#scanScopeAbove = options.scanScopeAbove !== undefined
      ? sql`${options.scanScopeAbove}`
      : sql`greatest(500, (select reltuples from pg_class where oid = 'search_documents'::regclass) / ${ROWS_SCANNED_PER_LOOKUP})`;
    this.#organisationsPerTsquery = options.organisationsPerTsquery ?? ORGANISATIONS_PER_TSQUERY;
  }

  async replaceDocument(entry: IndexedDocument): Promise<void> {
    await this.#inTransaction(async (db) => {
      // The new search_documents row copies its document's and version's scope columns (migration
      // 202612060000). Both rows are locked here first, document then version, the order every
      // transaction that changes both takes them in (DocumentsRepository.byIdForChange), so a change
      // in flight is waited for before any index row is locked, and two extractions of one document
      // run one after the other.
      await sql`select 1 from documents where id = ${entry.documentId} for no key update`.execute(db);
      await sql`select 1 from versions where id = ${entry.versionId} for share`.execute(db);
      await this.#deleteWhere(db, sql`document_id = ${entry.documentId}`);
      await sql`insert into search_documents (document_id, version_id, organisation_id, type) values (${entry.documentId}, ${entry.versionId}, ${entry.organisationId}, ${entry.type})`.execute(db);
      const sections: SectionRow[] = [
        { section: NAME_SECTION, page: null, text: entry.name },
        ...entry.sections.map((s, index) => ({ section: index, page: s.page, text: s.text })),
      ];
      await this.#insertSections(db, entry.organisationId, entry.documentId, entry.versionId, sections);
    });
  }

  async renameDocument(documentId: string, name: string): Promise<void> {
    await this.#inTransaction(async (db) => {
      const rows = await sql<{ organisation_id: string; version_id: string }>`
        delete from search_sections where document_id = ${documentId} and section = ${NAME_SECTION} returning organisation_id, version_id`.execute(db);
      for (const row of rows.rows) await this.#insertSections(db, row.organisation_id, documentId, row.version_id, [{ section: NAME_SECTION, page: null, text: name }]);
    });
  }

  async removeDocuments(documentIds: readonly string[]): Promise<void> {
    if (documentIds.length === 0) return;
    await this.#inTransaction((db) => this.#deleteWhere(db, sql`document_id in (${sql.join(documentIds.map((id) => sql`${id}`))})`));
  }

  async removeVersions(versionIds: readonly string[]): Promise<void> {
    if (versionIds.length === 0) return;
    await this.#inTransaction((db) => this.#deleteWhere(db, sql`version_id in (${sql.join(versionIds.map((id) => sql`${id}`))})`));
  }

  /**
   * Nothing here is text in clear, so a deleted row's bytes are hashes and ciphertext until VACUUM
   * reuses the space (autovacuum does; VACUUM FULL would rewrite the tables but locks them). Run a
   * plain VACUUM so the dead tuples are marked free now, and the GIN pending list is merged.
   */
  async compact(): Promise<void> {
    if (this.db.isTransaction) return;
    await sql`vacuum search_sections, search_terms, search_documents`.execute(this.db);
  }

  /**
   * A clause's matches are read in one bitmap heap scan for every organisation in the scope: one
   * tsquery ORs each organisation's hashes (`tsv @@` for words and phrases, `prefixes @@` for
   * prefixes), and `organisation_id` keeps it to the scope's organisations. Plain lexemes need no
   * recheck, so the scan reads the narrow rows only, never a tsvector. (Read with a lateral scan per
   * organisation, the organisations' rows being interleaved on the table's pages, a page holding
   * matches of three organisations was read three times; before that, one OR of
   * `organisation_id = o and tsv @@ o's hashes` per organisation rechecked the whole OR on every row,
   * reading each matching section's tsvector.) An honest row matches another organisation's hash only
   * if two keyed hashes collide, as rare across organisations as within one (96 bits); ranking pairs
   * each row with its own organisation's query all the same. A row written into the database directly
   * can carry any organisation's hashes, now as before (the old per-organisation scan trusted its
   * organisation_id just as much): it can change which of the searcher's readable documents match,
   * never what the scope lets them read (docs/threat-model.md).
   * The match rows carry their ctid, so ranking reads the readable ones' tsvectors by TID, once each,
   * with no index lookup and no second `@@` (they are exactly the matching chunks). The ctid is that
   * of a row version the statement's snapshot sees, and it cannot be removed while the statement runs.
   */
  async search(request: IndexQuery): Promise<IndexResults> {
    if (request.timeoutMs === undefined || this.db.isTransaction) return this.#search(this.db, request);
    // Its own read-only transaction, so the timeout (SET LOCAL) ends with it and binds no other statement.
    const timeout = String(Math.max(1, Math.floor(request.timeoutMs)));
    try {
      return await (this.db as Kysely<Schema>).transaction().setAccessMode('read only').execute(async (tx) => {
        await sql`select set_config('statement_timeout', ${timeout}, true)`.execute(tx);
        return this.#search(tx, request);
      });
    } catch (error) {
      // 57014 query_canceled: the timeout stopped it. The same query would be as slow again, so it is the
      // query that must change (400), not "the database is unavailable, try again" (db/driver-errors.ts).
      if ((error as { code?: unknown } | null)?.code === '57014') throw new DomainError('BAD_QUERY', SEARCH_TOO_SLOW, { cause: error, details: { reason: 'too_slow' } });
      throw error;
    }
  }

  async #search(db: Executor, request: IndexQuery): Promise<IndexResults> {
    const organisations = await this.#organisationsInScope(db, request);
    if (organisations.length === 0) return runSearch(db, { ...request, scope: { grants: [] } }, () => sql``, null);
    // Each organisation's hashes of a clause's terms, as a VALUES list (organisation_id, words,
    // prefixes, query): the words' and phrases' tsquery (for `tsv`), the prefixes' (for `prefixes`),
    // and all of them (for ranking a clause with prefixes against both columns).
    const queries = (terms: readonly QueryTerm[]): RawBuilder<unknown> => {
      const words = terms.filter((t) => t.kind !== 'prefix');
      const prefixes = terms.filter((t) => t.kind === 'prefix');
      const tsquery = (org: string, of: readonly QueryTerm[]) => (of.length === 0 ? sql`cast(null as tsquery)` : sql`${tsqueryAny(this.keys.termKey(org), of)}::tsquery`);
      return sql`(values ${sql.join(organisations.map((org) => sql`(${org}, ${tsquery(org, words)}, ${tsquery(org, prefixes)}, ${tsquery(org, terms)})`))})
        as q(organisation_id, words, prefixes, query)`;
    };
    // The match test on a search_terms row `t` against the row `q` of queries().
    const test = (terms: readonly QueryTerm[]): RawBuilder<unknown> => {
      const words = terms.some((t) => t.kind !== 'prefix');
      const prefixes = terms.some((t) => t.kind === 'prefix');
      if (words && prefixes) return sql`(t.tsv @@ q.words or t.prefixes @@ q.prefixes)`;
      return words ? sql`t.tsv @@ q.words` : sql`t.prefixes @@ q.prefixes`;
    };
    // A clause with prefixes ranks against both columns together (`||` shifts no position: prefixes
    // have none), so its score is what one column holding both gave; a clause of words reads `tsv` alone.
    const rank = (terms: readonly QueryTerm[]): RawBuilder<unknown> =>
      terms.some((t) => t.kind === 'prefix') ? sql`ts_rank(t.tsv || t.prefixes, q.query)` : sql`ts_rank(t.tsv, q.words)`;
    // A clause's matches in every organisation of the scope at once: one tsquery ORs each
    // organisation's hashes (up to ORGANISATIONS_PER_TSQUERY of them; more make one tsquery per group,
    // OR'ed, still one bitmap heap scan), so the scan visits each page of search_terms once.
    const tsqueriesOf = (of: readonly QueryTerm[]): string[] => {
      const groups: string[] = [];
      for (let i = 0; i < organisations.length; i += this.#organisationsPerTsquery) {
        groups.push(organisations.slice(i, i + this.#organisationsPerTsquery).map((org) => `(${tsqueryAny(this.keys.termKey(org), of)})`).join(' | '));
      }
      return groups;
    };
    const matchTest = (terms: readonly QueryTerm[]): RawBuilder<unknown> => {
      const words = terms.filter((t) => t.kind !== 'prefix');
      const prefixes = terms.filter((t) => t.kind === 'prefix');
      const tests = [
        ...(words.length === 0 ? [] : tsqueriesOf(words).map((q) => sql`t.tsv @@ ${q}::tsquery`)),
        ...(prefixes.length === 0 ? [] : tsqueriesOf(prefixes).map((q) => sql`t.prefixes @@ ${q}::tsquery`)),
      ];
      return tests.length === 1 ? tests[0]! : sql`(${sql.join(tests, sql` or `)})`;
    };
    const matching = (columns: RawBuilder<unknown>, terms: readonly QueryTerm[]): RawBuilder<unknown> =>
      sql`select ${columns} from (select t.ctid as row_ref, t.section_id, t.document_id, t.section, t.page from search_terms t
        where t.organisation_id in (${sql.join(organisations.map((org) => sql`${org}`))}) and ${matchTest(terms)}) t`;
    const clause = (i: number, rankWithin?: RawBuilder<unknown>, matches?: RawBuilder<unknown>): RawBuilder<unknown> => {
      const terms = request.query.all[i]!.anyOf;
      if (rankWithin === undefined) return matching(sql`t.row_ref, t.section_id, t.document_id, t.section, t.page, 0 as score`, terms);
      const rows = matches === undefined
        ? sql`t.section_id in (${rankWithin}) and ${test(terms)}`
        : sql`t.ctid = any(array(select row_ref from (${matches}) m))`;
      if (terms.length === 1 && terms[0]!.kind === 'prefix') {
        const sections = matches === undefined
          ? sql`select t.section_id, t.document_id, t.section, t.page from search_terms t join ${queries(terms)} on q.organisation_id = t.organisation_id where ${rows}`
          : sql`select section_id, document_id, section, page from (${matches}) m`;
        return sql`select section_id, document_id, section, page, ${POSITIONLESS_RANK} as score from (${sections}) r group by section_id, document_id, section, page`;
      }
      return sql`select t.section_id, t.document_id, t.section, t.page, max(${rank(terms)}) as score
        from search_terms t join ${queries(terms)} on q.organisation_id = t.organisation_id
        where ${rows}
        group by t.section_id, t.document_id, t.section, t.page`;
    };
    const excluded = request.query.none.length === 0 ? null : matching(sql`t.document_id`, request.query.none);
    return runSearch(db, request, clause, excluded, { scopeFrom: { scanAbove: this.#scanScopeAbove } });
  }

  /**
   * Opened with the key of the organisation the document belongs to and bound to that document, both
   * from the caller (the documents row), never from the index row: a row claiming another document's
   * version, or another organisation's, fails its integrity check instead of showing that text.
   */
  async sectionTexts(refs: readonly SectionRef[]): Promise<Map<string, string>> {
    const texts = new Map<string, string>();
    for (const ref of refs) {
      const rows = await sql<{ text_sealed: Buffer }>`
        select text_sealed from search_sections where version_id = ${ref.versionId} and section = ${ref.section}`.execute(this.db);
      const row = rows.rows[0];
      if (row) texts.set(`${ref.versionId}:${ref.section}`, openText(this.keys.textKey(ref.organisationId), ref, row.text_sealed));
    }
    return texts;
  }

  /** The organisations whose documents the scope can reach: their keys hash the query's terms. */
  async #organisationsInScope(db: Executor, request: IndexQuery): Promise<string[]> {
    if (request.scope.everything) {
      const only = request.filters.organisationId;
      const rows = await sql<{ organisation_id: string }>`select distinct organisation_id from search_documents
        ${only === undefined ? sql`` : sql`where organisation_id = ${only}`}`.execute(db);
      return rows.rows.map((r) => r.organisation_id).sort();
    }
    const organisations = new Set(request.scope.grants.map((g) => g.organisationId));
    if (request.filters.organisationId !== undefined) return organisations.has(request.filters.organisationId) ? [request.filters.organisationId] : [];
    return [...organisations].sort();
  }

  /**
   * All of a version's sections in one statement, then all their term chunks in batches: one
   * statement per row made the build wait on round trips. Batches stay below PostgreSQL's 65,535
   * bound parameters and keep each statement a few megabytes at most.
   */
  async #insertSections(db: Executor, organisationId: string, documentId: string, versionId: string, sections: readonly SectionRow[]): Promise<void> {
    const termKey = this.keys.termKey(organisationId);
    const textKey = this.keys.textKey(organisationId);
    const idOf = new Map<number, string | number>();
    for (let i = 0; i < sections.length; i += TERM_ROWS_PER_INSERT) {
      const batch = sections.slice(i, i + TERM_ROWS_PER_INSERT);
      const inserted = await sql<{ id: string | number; section: number }>`insert into search_sections (document_id, version_id, organisation_id, section, page, text_sealed)
        values ${sql.join(batch.map((s) => sql`(${documentId}, ${versionId}, ${organisationId}, ${s.section}, ${s.page}, ${sealText(textKey, { organisationId, documentId, versionId, section: s.section }, s.text)})`))}
        returning id, section`.execute(db);
      for (const r of inserted.rows) idOf.set(Number(r.section), r.id);
    }
    const rows: RawBuilder<unknown>[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (rows.length === 0) return;
      await sql`insert into search_terms (section_id, document_id, organisation_id, section, page, chunk, tsv, prefixes) values ${sql.join(rows)}`.execute(db);
      rows.length = 0;
      bytes = 0;
    };
    for (const s of sections) {
      for (const [chunk, terms] of tsvectorChunks(termKey, tokenize(s.text)).entries()) {
        rows.push(sql`(${idOf.get(s.section)!}, ${documentId}, ${organisationId}, ${s.section}, ${s.page}, ${chunk}, ${terms.words}::tsvector, ${terms.prefixes}::tsvector)`);
        bytes += terms.words.length + terms.prefixes.length;
        if (rows.length >= TERM_ROWS_PER_INSERT || bytes >= TERM_BYTES_PER_INSERT) await flush();
      }
    }
    await flush();
  }

  async #deleteWhere(db: Executor, where: RawBuilder<unknown>): Promise<void> {
    // search_terms rows go with their section (on delete cascade).
    await sql`delete from search_sections where ${where}`.execute(db);
    await sql`delete from search_documents where ${where}`.execute(db);
  }

  #inTransaction(work: (db: Executor) => Promise<void>): Promise<void> {
    if (this.db.isTransaction) return work(this.db);
    return (this.db as Kysely<Schema>).transaction().execute(work);
  }
}

// The SQLite SearchIndex: FTS5 over the normalised terms, inside the encrypted database file. The
// section text (for snippets) is stored beside it; compact() makes removed text leave the index, its
// rows and the log (what it cannot reach: docs/search.md).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { DomainError } from '../../domain/errors.js';
import { SEARCH_TOO_SLOW, type IndexedDocument, type IndexQuery, type SearchIndex, type SectionRef } from '../../domain/search/repositories.js';
import { normaliseTerms } from '../../domain/search/terms.js';
import type { IndexResults, QueryTerm } from '../../domain/search/types.js';
import type { Schema } from '../schema.js';
import { ReadTimedOutError } from '../sqlite-read-worker.js';
import { runSearch, type Executor } from './search-plan.js';

/** The name is indexed as its own section, before the text's sections (0, 1, …). */
export const NAME_SECTION = -1;

/** Section id → document, section, page: a covering index a few MB wide instead of the text's table (migration 202612040100). */
const OWNERS = sql`search_sections s indexed by search_sections_owner`;

/** FTS5 syntax for one parsed term. Terms are letters and digits only (terms.ts); quotes are doubled anyway. */
function ftsTerm(term: QueryTerm): string {
  const quote = (t: string): string => `"${t.replaceAll('"', '""')}"`;
  if (term.kind === 'word') return quote(term.term);
  if (term.kind === 'prefix') return `${quote(term.prefix)}*`;
  return quote(term.terms.join(' '));
}

const ftsAny = (terms: readonly QueryTerm[]): string => terms.map(ftsTerm).join(' OR ');

/**
 * The sections of `rankWithin` matching one clause, scored. bm25 weighs a term by how many sections of
 * the whole index hold it (every council's, every team's, every classification's), so its raw score
 * told a searcher, from their own documents, whether and how often words they may not read appear
 * anywhere in the vault. Each term of the clause is therefore matched on its own, where bm25 is that
 * weight times a factor of the section alone (how often the term occurs in it, and its length), and
 * divided by the best such score among the ranked sections (the searcher's readable matches): the
 * weight cancels, and what remains is the sections' own. An OR clause sums its terms' shares. What
 * bm25 still reads from the whole index is the average section length; docs/threat-model.md.
 */
function rankedClause(terms: readonly QueryTerm[], rankWithin: RawBuilder<unknown>): RawBuilder<unknown> {
  const share = (term: QueryTerm, within: RawBuilder<unknown>): RawBuilder<unknown> => sql`select section_id, document_id, section, page, score / max(score) over () as score from (
      select search_fts.rowid as section_id, s.document_id, s.section, s.page, -bm25(search_fts) as score
      from search_fts cross join ${OWNERS} on s.id = search_fts.rowid
      where search_fts match ${ftsTerm(term)} and +search_fts.rowid in (${within})
    ) t`;
  if (terms.length === 1) return share(terms[0]!, rankWithin);
  // The sections to rank listed once for all the terms' matches, not worked out again for each.
  const shares = terms.map((term) => share(term, sql`select id from ranked_sections`));
  return sql`with ranked_sections(id) as materialized (${rankWithin})
    select section_id, document_id, section, page, sum(score) as score from (${sql.join(shares, sql` union all `)}) u
    group by section_id, document_id, section, page`;
}

export class SqliteSearchIndex implements SearchIndex {
  /**
   * `reads`: where the search's statements and snippet reads run, each stopped after `timeoutMs`
   * (kysely.ts searchReads: the search reader's thread, so the main thread stays free meanwhile);
   * without it (within a transaction, or a bare database) they run on `db`, unstopped. Writes always
   * run on `db`. The reader's connection sees every transaction committed before a statement starts.
   */
  constructor(private readonly db: Executor, private readonly reads?: (timeoutMs?: number) => Kysely<Schema>) {}

  async replaceDocument(entry: IndexedDocument): Promise<void> {
    await this.#inTransaction(async (db) => {
      await this.#deleteWhere(db, sql`document_id = ${entry.documentId}`);
      await sql`insert into search_documents (document_id, version_id, organisation_id, type) values (${entry.documentId}, ${entry.versionId}, ${entry.organisationId}, ${entry.type})`.execute(db);
      await this.#insertSection(db, entry, NAME_SECTION, null, entry.name);
      for (const [index, section] of entry.sections.entries()) await this.#insertSection(db, entry, index, section.page, section.text);
    });
  }

  async renameDocument(documentId: string, name: string): Promise<void> {
    await this.#inTransaction(async (db) => {
      const row = await sql<{ id: number }>`select id from search_sections where document_id = ${documentId} and section = ${NAME_SECTION}`.execute(db);
      for (const { id } of row.rows) {
        await sql`delete from search_fts where rowid = ${id}`.execute(db);
        await sql`update search_sections set text = ${name} where id = ${id}`.execute(db);
        await sql`insert into search_fts (rowid, terms) values (${id}, ${normaliseTerms(name).join(' ')})`.execute(db);
      }
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
   * FTS5 keeps deleted terms in its b-tree segments until they are merged: `optimize` rewrites the
   * index as one segment without them. The connection overwrites deleted rows and freed pages (the old
   * segments, the deleted section text) with zeros as they go (secure_delete, set in kysely.ts), and
   * the truncating checkpoint copies those pages into the file and empties the log that held the older
   * ones. A checkpoint another connection's read or write holds back (another process's, or a search
   * statement still running on a reader thread replaced past its timeout) leaves them in the log: that
   * is an error, so the job runs again. The checkpoint does not wait for that process (busy timeout 0 on
   * the connection, held for the purpose, meanwhile): waiting would stall every request for the
   * whole busy timeout. What this does not remove is in docs/search.md ("SQLite"). Run it outside a
   * transaction, after a disposal batch rather than after every deletion.
   */
  async compact(): Promise<void> {
    await sql`insert into search_fts (search_fts) values ('optimize')`.execute(this.db);
    const busy = await (this.db as Kysely<Schema>).connection().execute(async (connection) => {
      const { rows: [timeout] } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(connection);
      await sql`pragma busy_timeout = 0`.execute(connection);
      try {
        const { rows } = await sql<{ busy: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(connection);
        return rows[0]?.busy !== 0;
      } finally {
        await sql.raw(`pragma busy_timeout = ${Math.trunc(Number(timeout?.timeout ?? 5000))}`).execute(connection);
      }
    });
    if (busy) {
      throw new Error('The search index was compacted, but another connection (a search still finishing, or another process) was reading or writing the database, so the log still holding removed text could not be emptied; the compaction will run again.');
    }
  }

  // CROSS JOIN keeps FTS5 as the outer loop: left to itself SQLite may scan every section and probe
  // the full-text index once per row, which costs the same for a rare word as for a common one. Each
  // matching section's document is read from the narrow search_sections_owner index, named because
  // SQLite reads a rowid lookup from the table (whose rows hold the text) whatever the indexes; a
  // ranked section's number and page come from the same index entry.
  // `rankWithin` (the sections to rank) filters FTS5's rows by rowid after the match, before bm25 is
  // computed for them: the unary + keeps the rowid test out of FTS5's own plan, which would run the
  // match, and bm25's count of matching rows over the whole index, once per section.
  async search(request: IndexQuery): Promise<IndexResults> {
    const db = this.#reader(request.timeoutMs);
    const clause = (i: number, rankWithin?: RawBuilder<unknown>): RawBuilder<unknown> => {
      const terms = request.query.all[i]!.anyOf;
      if (rankWithin !== undefined) return rankedClause(terms, rankWithin);
      return sql`select s.id as section_id, s.document_id, 0 as score
          from search_fts cross join ${OWNERS} on s.id = search_fts.rowid
          where search_fts match ${ftsAny(terms)}`;
    };
    const excluded =
      request.query.none.length === 0
        ? null
        : sql`select s.document_id from search_fts cross join ${OWNERS} on s.id = search_fts.rowid where search_fts match ${ftsAny(request.query.none)}`;
    try {
      return await runSearch(db, request, clause, excluded);
    } catch (error) {
      // As PostgreSQL's statement_timeout is answered (search.postgres.ts): the same query would be as
      // slow again, so it is the query that must change (400), not "try again".
      if (error instanceof ReadTimedOutError) throw new DomainError('BAD_QUERY', SEARCH_TOO_SLOW, { cause: error, details: { reason: 'too_slow' } });
      throw error;
    }
  }

  /** Only text stored for the document the caller shows it under (the whole file is encrypted; there is no seal to check). */
  async sectionTexts(refs: readonly SectionRef[]): Promise<Map<string, string>> {
    const texts = new Map<string, string>();
    const db = this.#reader();
    for (const ref of refs) {
      const row = await sql<{ text: string }>`select text from search_sections
        where version_id = ${ref.versionId} and section = ${ref.section} and document_id = ${ref.documentId} and organisation_id = ${ref.organisationId}`.execute(db);
      if (row.rows[0]) texts.set(`${ref.versionId}:${ref.section}`, row.rows[0].text);
    }
    return texts;
  }

  #reader(timeoutMs?: number): Executor {
    return this.reads === undefined || this.db.isTransaction ? this.db : this.reads(timeoutMs);
  }

  async #insertSection(db: Executor, entry: IndexedDocument, section: number, page: number | null, text: string): Promise<void> {
    const inserted = await sql<{ id: number }>`insert into search_sections (document_id, version_id, organisation_id, section, page, text)
      values (${entry.documentId}, ${entry.versionId}, ${entry.organisationId}, ${section}, ${page}, ${text}) returning id`.execute(db);
    await sql`insert into search_fts (rowid, terms) values (${inserted.rows[0]!.id}, ${normaliseTerms(text).join(' ')})`.execute(db);
  }

  async #deleteWhere(db: Executor, where: RawBuilder<unknown>): Promise<void> {
    await sql`delete from search_fts where rowid in (select id from search_sections where ${where})`.execute(db);
    await sql`delete from search_sections where ${where}`.execute(db);
    await sql`delete from search_documents where ${where}`.execute(db);
  }

  /** Inside the caller's transaction when there is one (Store.transaction), else a short one of its own. */
  #inTransaction(work: (db: Executor) => Promise<void>): Promise<void> {
    if (this.db.isTransaction) return work(this.db);
    return (this.db as Kysely<Schema>).transaction().execute(work);
  }
}

// What both search adapters share: the readable scope, the filters, the facets and the paging, as one
// SQL plan around the dialect's own "which sections match this clause" subqueries. Every clause is a
// set of document ids, intersected; the scope and filters are a WHERE on the joined documents row
// (read now, so a move, reclassification, deletion or suspended arrangement counts at once); totals,
// facets and hits come from that same set, and offset/limit are applied last, in SQL.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { CLASSIFICATIONS } from '../../domain/types.js';
import type { IndexQuery } from '../../domain/search/repositories.js';
import { SEARCH_COUNT_CAP, type FacetCount, type IndexHit, type IndexResults, type ReadableGrant, type SearchFacets } from '../../domain/search/types.js';
import type { Schema } from '../schema.js';
import { ukDayEnd, ukMidnight } from '../../domain/uk-time.js';

export type Executor = Kysely<Schema> | Transaction<Schema>;

/**
 * Rows for the sections matching one clause. Without `rankWithin`: every matching section as
 * (section_id, document_id, score 0) at least, for totals and facets, which do not need the ranking
 * function's cost. With it (a subquery of section ids): only those of the matching sections (the
 * readable matches, or the date sort's page) as (section_id, document_id, section, page, score), each
 * scored as it would be among all matches, since the ranking's statistics are the whole index's;
 * higher is better. `section` and `page` ride along from the row the clause read them from, so
 * choosing each document's best section looks nothing up.
 *
 * `matches`, given with `rankWithin` under relevance: the same sections as rows of this clause's own
 * unscored match (every column the adapter put in them), restricted to readable documents. An adapter
 * whose match rows can find their index row again without a lookup (PostgreSQL: the row's ctid, valid
 * for the statement's snapshot) ranks exactly those rows; one that cannot ignores it.
 */
export type ClauseSections = (clause: number, rankWithin?: RawBuilder<unknown>, matches?: RawBuilder<unknown>) => RawBuilder<unknown>;

export const emptyFacets = (): SearchFacets => ({ organisation: [], collection: [], serviceArea: [], classification: [], type: [], year: [] });

export const emptyResults = (): IndexResults => ({ total: 0, totalIsLowerBound: false, hits: [], facets: emptyFacets() });

const list = (values: readonly string[]): RawBuilder<unknown> => sql.join(values.map((v) => sql`${v}`));

function grantSql(grant: ReadableGrant): RawBuilder<unknown> {
  const levels = CLASSIFICATIONS.slice(0, CLASSIFICATIONS.indexOf(grant.maxClassification) + 1);
  const parts: RawBuilder<unknown>[] = [sql`d.organisation_id = ${grant.organisationId}`, sql`d.classification in (${list(levels)})`];
  if (grant.serviceAreas !== 'all') {
    if (grant.serviceAreas.length === 0) return sql`1 = 0`;
    parts.push(sql`d.service_area in (${list(grant.serviceAreas)})`);
  }
  if (grant.arrangementId !== null) parts.push(sql`d.arrangement_id = ${grant.arrangementId}`);
  return sql`(${sql.join(parts, sql` and `)})`;
}

/** The scope and filters as a WHERE on `d` (the documents' columns); `type`: where the indexed type is read. */
function whereSql(request: IndexQuery, type: RawBuilder<unknown>): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`d.status = 'available'`, sql`d.deleted_at is null`];
  if (!request.scope.everything) parts.push(sql`(${sql.join(request.scope.grants.map(grantSql), sql` or `)})`);
  const f = request.filters;
  if (f.organisationId !== undefined) parts.push(sql`d.organisation_id = ${f.organisationId}`);
  if (f.collectionId !== undefined) parts.push(sql`d.collection_id = ${f.collectionId}`);
  if (f.serviceArea !== undefined) parts.push(sql`d.service_area = ${f.serviceArea}`);
  if (f.classification !== undefined) parts.push(sql`d.classification = ${f.classification}`);
  if (f.type !== undefined) parts.push(sql`${type} = ${f.type}`);
  if (f.from !== undefined) parts.push(sql`d.updated_at >= ${ukMidnight(f.from)}`);
  const end = f.to === undefined ? null : ukDayEnd(f.to);
  if (end !== null) parts.push(sql`d.updated_at < ${end}`);
  return sql.join(parts, sql` and `);
}

/**
 * The CTEs the count, facets and relevance ranking build on: c0..cN (sections per clause), x
 * (excluded documents), matched (the readable matching documents with what facets need). The indexed version must still be
 * one its document's readers may read: the index may hold an older version's text until the current
 * one's extraction replaces it, and a rescan can find that older version infected meanwhile; its
 * words and snippets leave results at once, like a quarantined document's.
 */
function ctes(request: IndexQuery, clause: ClauseSections, excluded: RawBuilder<unknown> | null, scopeFrom: PlanOptions['scopeFrom'] | null): RawBuilder<unknown> {
  const clauses = request.query.all.map((_, i) => sql`${sql.raw(`c${i}`)} as materialized (${clause(i)})`);
  // The matching documents as one set (INTERSECT / EXCEPT sort or hash once), joined to documents
  // by primary key: an IN (subquery) per clause can be re-scanned for every row on SQLite.
  const ids = sql.join(request.query.all.map((_, i) => sql`select distinct document_id from ${sql.raw(`c${i}`)}`), sql` intersect `);
  const keys = excluded === null ? ids : sql`${ids} except select document_id from x`;
  const head = sql`with ${sql.join([...clauses, ...(excluded === null ? [] : [sql`x as (${excluded})`])])},
    keys as materialized (${keys})`;
  if (scopeFrom) {
    // Each matching document's own search_documents row holds its documents columns and its indexed
    // version's scan status (copied by the database's triggers: migration 202612060000), so the scope
    // needs no other table. Two ways to read it, chosen as the statement runs (PostgreSQL skips the
    // branch whose one-time filter is false, and a CTE no executed node reads is never computed):
    // a lookup per matching document, or, when they are many, one scan of the copy under the scope,
    // hashed against them. See PlanOptions.scopeFrom.
    const scopeTest = sql`d.version_scan_status in ('clean', 'released') and ${whereSql(request, sql`d.type`)}`;
    return sql`${head},
    broad as materialized (select (select count(*) from keys) > ${scopeFrom.scanAbove} as yes),
    scoped as materialized (select ${MATCHED_COLUMNS} from ${SCOPE_COPY} d where ${scopeTest}),
    matched as materialized (
      select ${MATCHED_COLUMNS} from keys k cross join ${SCOPE_COPY} d
      where d.id = k.document_id and ${scopeTest} and not (select yes from broad)
      union all
      select d.* from scoped d join keys k on k.document_id = d.id where (select yes from broad)
    )`;
  }
  // SQLite's way (PostgreSQL always reads the copy above): each lookup through a covering index keyed
  // by document id first, walked in the keys' order; `indexed by` because SQLite would pick
  // search_documents' primary-key index, which does not cover the row (migration 202612080000).
  return sql`${head},
    matched as materialized (
      select d.id, d.organisation_id, d.collection_id, d.service_area, d.classification, d.updated_at, sd.version_id, sd.type
      from keys k cross join documents d cross join search_documents sd indexed by search_documents_scope cross join versions v
      where d.id = k.document_id and sd.document_id = d.id and v.id = sd.version_id and v.document_id = d.id
        and v.scan_status in ('clean', 'released') and ${whereSql(request, sql`sd.type`)}
    )`;
}

/** What `matched` holds for each readable matching document, read from `d`. */
const MATCHED_COLUMNS = sql`d.id, d.organisation_id, d.collection_id, d.service_area, d.classification, d.updated_at, d.version_id, d.type`;

/** search_documents with its copied columns under the documents' names, as `d` reads them. */
const SCOPE_COPY = sql`(select document_id as id, doc_organisation_id as organisation_id, doc_collection_id as collection_id,
      doc_service_area as service_area, doc_classification as classification, doc_arrangement_id as arrangement_id, doc_status as status,
      doc_updated_at as updated_at, doc_deleted_at as deleted_at, version_id, type, version_scan_status from search_documents)`;

interface HitRow {
  document_id: string;
  version_id: string;
  section: number | string;
  page: number | string | null;
  score: number | string;
}

/**
 * One row of the first statement: the total, a facet value, a date-sorted page's document, or (under
 * relevance) a ranked hit, whose `count` is its position in the ranking.
 */
interface PlanRow {
  facet: keyof SearchFacets | 'total' | 'page' | 'hit';
  value: string;
  count: number | string;
  version_id: string | null;
  section: number | string | null;
  page: number | string | null;
  score: number | string | null;
}

export interface PlanOptions {
  /**
   * Read the scope from search_documents' copy of each document's columns (PostgreSQL, whose triggers
   * keep it) instead of joining documents, search_documents and versions. PostgreSQL keeps no
   * statistics for a CTE, guesses 200 matching documents whatever the count, and so always looked
   * each match up in those three tables in turn (about four buffers each); at 100,000 documents a
   * common word matched 20,000 documents, a fifth of them readable, and the lookups were half the
   * search. With the copy there is one table, and when more documents match than `scanAbove` (an SQL
   * number) the copy is scanned once under the scope and hashed against the matches instead of looked
   * up per match. SQLite orders the joins well by itself and has no copy.
   */
  scopeFrom?: { scanAbove: RawBuilder<unknown> };
}

/** Newest change first, then document id: the order of the capped count and of the date sort. */
const BY_DATE = sql`updated_at desc, id`;

/**
 * Runs the plan. One statement finds the readable matching documents without ranking them and keeps
 * the first `countCap` (+1, to know whether there were more) by last change: its facets and count
 * describe those. Under relevance the same statement then ranks the readable matches' sections only
 * (the matched set is found once, and the ranking function runs for no section the person cannot
 * read) and returns the page. Under the date sort the page is read from the same ordered rows, and a
 * second statement ranks the sections of the page's documents alone, for the score and snippet. A
 * hit's score is its best section's (the sum over clauses of bm25 or ts_rank, so dialects rank alike
 * but not identically); the section shown is the best one of its text, the name only when no text
 * matched.
 */
export async function runSearch(
  db: Executor, request: IndexQuery, clause: ClauseSections, excluded: RawBuilder<unknown> | null, options: PlanOptions = {},
): Promise<IndexResults> {
  if (!request.scope.everything && request.scope.grants.length === 0) return emptyResults();
  const cap = Math.max(1, request.countCap ?? SEARCH_COUNT_CAP);
  const byDate = request.sort === 'date';
  const ranked = !byDate && request.limit > 0;
  // Under the date sort the page comes from the same ordered rows, so they reach at least to its end.
  const window = byDate ? Math.max(cap + 1, request.offset + request.limit) : cap + 1;
  const none = sql`cast(null as text)`;
  const noHit = sql`cast(null as integer), cast(null as integer), cast(null as real)`;
  const facet = (name: string, column: string): RawBuilder<unknown> =>
    sql`select ${name}, ${sql.raw(column)}, count(*), ${none}, ${noHit} from shown group by ${sql.raw(column)}`;
  const pageRows = byDate && request.limit > 0
    ? sql`union all select * from (select 'page', id, 0, version_id, ${noHit} from window_rows order by ${BY_DATE} limit ${request.limit} offset ${request.offset}) p`
    : sql``;
  const hitRows = ranked
    ? sql`union all select 'hit', document_id, position, version_id, section, page, score from hits
        where position > ${request.offset} and position <= ${request.offset + request.limit}`
    : sql``;
  const result = await sql<PlanRow>`${ctes(request, clause, excluded, options.scopeFrom ?? null)},
    window_rows as materialized (select * from matched order by ${BY_DATE} limit ${window}),
    shown as materialized (select * from window_rows order by ${BY_DATE} limit ${cap})
    ${ranked ? sql`, ${rankingCtes(request, clause)}` : sql``}
    select 'total' as facet, ${none} as value, count(*) as count, ${none} as version_id,
      cast(null as integer) as section, cast(null as integer) as page, cast(null as real) as score
      from (select 1 from window_rows limit ${cap + 1}) t
    union all ${facet('organisation', 'organisation_id')}
    union all ${facet('collection', 'collection_id')}
    union all ${facet('serviceArea', 'service_area')}
    union all ${facet('classification', 'classification')}
    union all ${facet('type', 'type')}
    union all select 'year', substr(updated_at, 1, 4), count(*), ${none}, ${noHit} from shown group by substr(updated_at, 1, 4)
    ${pageRows}
    ${hitRows}`.execute(db);
  const facets = emptyFacets();
  let counted = 0;
  const page: { documentId: string; versionId: string }[] = [];
  const ranking: { position: number; hit: IndexHit }[] = [];
  for (const row of result.rows) {
    if (row.facet === 'total') counted = Number(row.count);
    else if (row.facet === 'page') page.push({ documentId: row.value, versionId: row.version_id! });
    else if (row.facet === 'hit') {
      ranking.push({ position: Number(row.count), hit: toHit({ document_id: row.value, version_id: row.version_id!, section: row.section!, page: row.page, score: row.score! }) });
    } else facets[row.facet].push({ value: row.value, count: Number(row.count) });
  }
  for (const key of Object.keys(facets) as (keyof SearchFacets)[]) facets[key].sort(byCountThenValue);
  const total = Math.min(counted, cap);
  const totalIsLowerBound = counted > cap;
  if (total === 0 || request.limit <= 0) return { total, totalIsLowerBound, facets, hits: [] };
  const hits = byDate ? await datePage(db, request, clause, page) : ranking.sort((a, b) => a.position - b.position).map((r) => r.hit);
  return { total, totalIsLowerBound, facets, hits };
}

/**
 * Each document's best section among `scores` (section_id, document_id, section, page, score): text
 * before the name, then score, then position. Materialized, so PostgreSQL computes it once rather than
 * again for each row it is joined to.
 */
const bestSections = (scores: RawBuilder<unknown>): RawBuilder<unknown> => sql`best as materialized (
      select ss.document_id, ss.section, ss.page, max(ss.score) over (partition by ss.document_id) as score,
        row_number() over (partition by ss.document_id order by case when ss.section < 0 then 1 else 0 end, ss.score desc, ss.section) as rn
      from (${scores}) ss
    )`;

/** Sections' summed scores over the clauses r0..rN (section_id, document_id, section, page, score each). */
const summedScores = (request: IndexQuery): RawBuilder<unknown> => {
  const union = sql.join(request.query.all.map((_, i) => sql`select section_id, document_id, section, page, score from ${sql.raw(`r${i}`)}`), sql` union all `);
  return sql`select section_id, document_id, section, page, sum(score) as score from (${union}) u group by section_id, document_id, section, page`;
};

/**
 * The relevance ranking, after ctes(): r0..rN score only the sections of readable matching documents
 * (c0..cN already list every matching section, unscored), and `hits` numbers every such document by
 * its best section's score, then last change, then id. Materialized: FTS5's bm25 cannot be evaluated
 * once SQLite flattens the clause into the aggregate around it.
 *
 * `hits` puts each document's `matched` row (last change, version) beside its best section by grouping
 * the two on the document id, not by joining them: PostgreSQL has no statistics for CTEs, estimates a
 * row or two for each, and joined them in a nested loop, comparing every pair (19 million comparisons,
 * 2 s, for a common word at 100,000 documents). Grouping sorts or hashes once. A document with no
 * scored section (it changed since the match) is left out, as the join left it out.
 */
function rankingCtes(request: IndexQuery, clause: ClauseSections): RawBuilder<unknown> {
  const scored = request.query.all.map((_, i) => {
    const readable = sql`select section_id from ${sql.raw(`c${i}`)} where document_id in (select id from matched)`;
    const matches = sql`select * from ${sql.raw(`c${i}`)} where document_id in (select id from matched)`;
    return sql`${sql.raw(`r${i}`)} as materialized (${clause(i, readable, matches)})`;
  });
  return sql`${sql.join(scored)},
    ${bestSections(summedScores(request))},
    hits as (
      select document_id, max(version_id) as version_id, max(section) as section, max(page) as page, max(score) as score,
        row_number() over (order by max(score) desc, max(updated_at) desc, document_id) as position
      from (
        select m.id as document_id, m.version_id, m.updated_at, cast(null as integer) as section, cast(null as integer) as page, cast(null as real) as score
        from matched m
        union all
        select b.document_id, cast(null as text), cast(null as text), b.section, b.page, b.score from best b where b.rn = 1
      ) u
      group by document_id
      having count(version_id) = 1 and count(score) = 1
    )`;
}

/**
 * The date sort's page is already chosen (the first statement's ordered rows, read under the scope):
 * rank only those documents' matching sections, for the score shown and the best section's snippet.
 */
async function datePage(
  db: Executor, request: IndexQuery, clause: ClauseSections, page: readonly { documentId: string; versionId: string }[],
): Promise<IndexHit[]> {
  if (page.length === 0) return [];
  const within = sql`select id from search_sections where document_id in (${sql.join(page.map((p) => sql`${p.documentId}`))})`;
  // Materialized, as in the relevance plan: FTS5's bm25 cannot be evaluated once SQLite flattens the
  // clause into the aggregate around it.
  const clauses = request.query.all.map((_, i) => sql`${sql.raw(`r${i}`)} as materialized (${clause(i, within)})`);
  const rows = await sql<HitRow>`with ${sql.join(clauses)},
    ${bestSections(summedScores(request))}
    select document_id, null as version_id, section, page, score from best where rn = 1`.execute(db);
  const best = new Map(rows.rows.map((r) => [r.document_id, r]));
  // Every page document matched every clause a moment ago; one whose text changed since is still
  // shown, under its name, rather than shifting the page.
  return page.map((p) => {
    const row = best.get(p.documentId);
    return row ? toHit({ ...row, version_id: p.versionId }) : { documentId: p.documentId, versionId: p.versionId, section: -1, page: null, score: 0 };
  });
}

const toHit = (r: HitRow): IndexHit => ({
  documentId: r.document_id,
  versionId: r.version_id,
  section: Number(r.section),
  page: r.page === null ? null : Number(r.page),
  score: Number(r.score),
});

function byCountThenValue(a: FacetCount, b: FacetCount): number {
  return b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
}

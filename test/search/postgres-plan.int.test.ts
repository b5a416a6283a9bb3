// PostgreSQL's query plan for a search, read with EXPLAIN ANALYZE on the statements the adapter really runs.
// Its cost at 100,000 documents is set by how many tsvectors it reads (docs/performance.md "Search"):
// each is a few kB, TOASTed, so reading one is a TOAST index lookup and several chunk reads. Finding
// the matches must read none (the GIN index answers a word or prefix without a recheck, so no plan
// node over search_terms may test `@@` on the row), and ranking must read each readable match's once,
// by the TID its match row carries, with no index lookup. The scope is read from the matches'
// search_documents rows (their copy of the documents columns), with no documents or versions lookup,
// either per match or in one scan, whichever the number of matches calls for as the statement runs.
// The tables here are small, so sequential scans are switched off for this database: the planner picks
// the plans it picks at 100,000 documents, and the test checks what those plans test on each row (JIT
// is off too: the disabled scans' costs would have every statement compiled, a second each).
// PostgreSQL only: SQLite has its own plan test.
import { randomBytes, randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearchQuery } from '../../src/domain/search/query.js';
import type { ReadableScope, SearchSort } from '../../src/domain/search/types.js';
import { PostgresSearchIndex } from '../../src/db/repos/search.postgres.js';
import type { Schema } from '../../src/db/schema.js';
import { MasterKey } from '../../src/storage/keys.js';
import { DerivedSearchKeys } from '../../src/storage/search-keys.js';
import { adminUrl, createMigratedDatabase, withAdminClient, type TestDatabase } from '../support/postgres.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Subplan Name'?: string;
  Filter?: string;
  'Actual Loops'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

const FILLER = Array.from({ length: 80 }, (_, k) => `filler${k}`).join(' ');

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe('PostgreSQL search plan', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let db: Kysely<Schema>;
  let index: PostgresSearchIndex;
  const keys = new DerivedSearchKeys(MasterKey.fromBytes(randomBytes(32)));
  const statements: { sql: string; parameters: readonly unknown[] }[] = [];
  const organisations = [randomUUID(), randomUUID()];
  const outsider = randomUUID();
  const scope: ReadableScope = {
    grants: organisations.map((organisationId) => ({ organisationId, serviceAreas: 'all' as const, maxClassification: 'OFFICIAL' as const, arrangementId: null, via: null })),
  };

  beforeAll(async () => {
    database = await createMigratedDatabase('srpgplan');
    const name = new URL(database.url).pathname.slice(1);
    await withAdminClient(adminUrl(), (client) => client.query(`alter database "${name}" set enable_seqscan = off`));
    await withAdminClient(adminUrl(), (client) => client.query(`alter database "${name}" set jit = off`));
    pool = new pg.Pool({ connectionString: database.url, max: 1 });
    db = new Kysely<Schema>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => void statements.push({ sql: event.query.sql, parameters: event.query.parameters }),
    });
    index = new PostgresSearchIndex(db, keys);
    const at = '2026-11-30T12:00:00.000Z';
    for (const [n, organisationId] of organisations.entries()) {
      await db.insertInto('organisations').values({ id: organisationId, slug: `o-${n}-${randomBytes(4).toString('hex')}`, name: 'Council', kind: 'council', region: 'North', created_at: at } as never).execute();
      const collectionId = randomUUID();
      await db.insertInto('collections').values({ id: collectionId, organisation_id: organisationId, parent_id: null, name: 'payroll', name_key: 'payroll', service_area: 'payroll', classification: 'OFFICIAL', arrangement_id: null, created_at: at, deleted_at: null } as never).execute();
      for (let i = 0; i < 20; i++) {
        const documentId = randomUUID();
        const versionId = randomUUID();
        await db.insertInto('documents').values({
          id: documentId, organisation_id: organisationId, collection_id: collectionId, name: `doc ${i}.pdf`, name_key: `doc ${i}.pdf`, classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
          current_version: 1, current_version_id: versionId, legal_hold: 0, arrangement_id: null, created_at: at, updated_at: at, deleted_at: null,
        } as never).execute();
        await db.insertInto('versions').values({
          id: versionId, document_id: documentId, organisation_id: organisationId, number: 1, size: 1, sha256: '0'.repeat(64), media_type: 'application/pdf', blob_id: randomUUID(),
          wrapped_key: null, key_id: 'k', scan_status: 'clean', scan_detail: null, scan_engine: null, scanned_at: null, author_id: null, created_at: at,
        } as never).execute();
        const words = i % 2 === 0 ? 'council tax rates' : 'council tax draft';
        // Long enough that the row passes 2 kB and its tsvectors go out of line, as real sections' do.
        await index.replaceDocument({ organisationId, documentId, versionId, name: `doc ${i}.pdf`, type: 'pdf', sections: [{ page: 1, text: `${words} number ${i} ${FILLER}` }] });
      }
    }
    // Index rows of an organisation outside the scope that carry an in-scope organisation's hashes, as a
    // database writer could copy them: the match must not read them (organisation_id in the scope's).
    await db.insertInto('organisations').values({ id: outsider, slug: `o-out-${randomBytes(4).toString('hex')}`, name: 'Other council', kind: 'council', region: 'North', created_at: at } as never).execute();
    await sql`insert into search_sections (document_id, version_id, organisation_id, section, page, text_sealed)
      select 'outside-' || document_id, version_id, ${outsider}, section, page, text_sealed from search_sections`.execute(db);
    await sql`insert into search_terms (section_id, document_id, organisation_id, section, page, chunk, tsv, prefixes)
      select o.id, o.document_id, o.organisation_id, o.section, o.page, t.chunk, t.tsv, t.prefixes
      from search_terms t join search_sections s on s.id = t.section_id join search_sections o on o.document_id = 'outside-' || s.document_id and o.section = s.section`.execute(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** The plan nodes of every statement one search runs, per statement. */
  async function plansOf(query: string, sort: SearchSort): Promise<PlanNode[][]> {
    statements.length = 0;
    const results = await index.search({ query: parseSearchQuery(query), scope, filters: {}, sort, offset: 0, limit: 5 });
    expect(results.hits.length).toBeGreaterThan(0);
    const searches = statements.filter((s) => s.sql.trimStart().startsWith('with'));
    const plans: PlanNode[][] = [];
    for (const s of searches) {
      const explained = await pool.query(`explain (analyze, format json) ${s.sql}`, s.parameters as unknown[]);
      plans.push(nodesOf((explained.rows[0] as { 'QUERY PLAN': { Plan: PlanNode }[] })['QUERY PLAN'][0]!.Plan));
    }
    return plans;
  }

  const onTerms = (nodes: PlanNode[]): PlanNode[] => nodes.filter((n) => n['Relation Name'] === 'search_terms');

  it.each(['council', 'council tax -draft', 'counc* OR rates', '"council tax" rates'])('relevance, %s: one match scan for both organisations, ranking reads each match by TID once', async (query) => {
    const [plan, ...more] = await plansOf(query, 'relevance');
    expect(more).toEqual([]);
    const scans = onTerms(plan!);
    // One index scan per clause (and exclusion), run once for both organisations of the scope (each
    // reads the table's pages once) and returning their rows only, and one TID scan per clause for ranking.
    const parsed = parseSearchQuery(query);
    const matches = scans.filter((n) => n['Node Type'] === 'Bitmap Heap Scan');
    expect(matches.length).toBe(parsed.all.length + (parsed.none.length > 0 ? 1 : 0));
    expect(matches.map((n) => n['Actual Loops'])).toEqual(matches.map(() => 1));
    // Every clause's first term is in the text section of each of the scope's 40 documents, and in the outsider's 40 copies.
    expect(plan!.find((n) => n['Subplan Name'] === 'CTE c0')!['Actual Rows']).toBe(40);
    expect(scans.filter((n) => n['Node Type'] === 'Tid Scan').length).toBe(parsed.all.length);
    expect(new Set(scans.map((n) => n['Node Type']))).toEqual(new Set(['Bitmap Heap Scan', 'Tid Scan']));
    for (const node of scans) expect(node.Filter ?? '').not.toContain('@@');
    // The scope is read from each match's search_documents row alone (the copy the triggers keep),
    // with no lookup in documents or versions.
    const matched = plan!.find((n) => n['Subplan Name'] === 'CTE matched');
    expect(matched).toBeDefined();
    expect([...new Set(nodesOf(matched!).flatMap((n) => n['Relation Name'] ?? []))]).toEqual(['search_documents']);
    expect(plan!.filter((n) => n['Relation Name'] === 'documents' || n['Relation Name'] === 'versions')).toEqual([]);
    // Each document's best section is chosen from the ranked rows' own section and page, with no lookup.
    expect(plan!.filter((n) => n['Relation Name'] === 'search_sections')).toEqual([]);
  });

  it('relevance, counc*: one prefix ranks every match alike, reading no tsvector at all', async () => {
    const [plan, ...more] = await plansOf('counc*', 'relevance');
    expect(more).toEqual([]);
    const scans = onTerms(plan!);
    expect(scans.map((n) => n['Node Type'])).toEqual(['Bitmap Heap Scan']);
    expect(scans[0]!.Filter ?? '').not.toContain('@@');
    // The score is the one ts_rank would give: a prefix's lexeme has no positions.
    const results = await index.search({ query: parseSearchQuery('counc*'), scope, filters: {}, sort: 'relevance', offset: 0, limit: 5 });
    const { rows } = await pool.query(`select ts_rank(tsvector 'x y:1', tsquery 'x') as rank`);
    expect(new Set(results.hits.map((h) => h.score))).toEqual(new Set([(rows[0] as { rank: number }).rank]));
  });

  it.each([
    ['few matching documents: a lookup of each', undefined, 'Index Scan'],
    ['many: one scan of the copy under the scope', 0, 'Seq Scan'],
  ] as const)('the scope is read one way only as the statement runs, %s', async (_, scanScopeAbove, way) => {
    const scoped = new PostgresSearchIndex(db, keys, { scanScopeAbove });
    statements.length = 0;
    const results = await scoped.search({ query: parseSearchQuery('council'), scope, filters: {}, sort: 'relevance', offset: 0, limit: 5 });
    expect(results.total).toBe(40);
    const [statement] = statements.filter((s) => s.sql.trimStart().startsWith('with'));
    const explained = await pool.query(`explain (analyze, format json) ${statement!.sql}`, statement!.parameters as unknown[]);
    const nodes = nodesOf((explained.rows[0] as { 'QUERY PLAN': { Plan: PlanNode }[] })['QUERY PLAN'][0]!.Plan);
    const copyReads = nodes.filter((n) => n['Relation Name'] === 'search_documents');
    expect(copyReads.map((n) => n['Node Type']).sort()).toEqual(['Index Scan', 'Seq Scan']);
    expect(copyReads.filter((n) => (n['Actual Loops'] ?? 0) > 0).map((n) => n['Node Type'])).toEqual([way]);
  });

  /** Blocks read from search_terms' TOAST (where its tsvectors are) by what `work` runs on the pool's one connection. */
  async function toastBlocksOf(work: () => Promise<unknown>): Promise<number> {
    const read = async (): Promise<number> => {
      // This backend's own counts reach the statistics when it is next idle; the snapshot is per transaction.
      await pool.query('select pg_stat_force_next_flush()');
      const { rows } = await pool.query(`select coalesce(toast_blks_read, 0) + coalesce(toast_blks_hit, 0) as blocks from pg_statio_user_tables where relname = 'search_terms'`);
      return Number((rows[0] as { blocks: string }).blocks);
    };
    const before = await read();
    await work();
    return (await read()) - before;
  }

  it.each(['council', 'council tax -draft', 'counc* OR rates'])('date sort, %s: finding, counting and choosing the page read no tsvector', async (query) => {
    const [plan] = await plansOf(query, 'date');
    const scans = onTerms(plan!);
    const parsed = parseSearchQuery(query);
    expect(scans.filter((n) => n['Node Type'] === 'Bitmap Heap Scan').length).toBe(parsed.all.length + (parsed.none.length > 0 ? 1 : 0));
    for (const node of scans) expect(node.Filter ?? '').not.toContain('@@');
    // The first statement (matches, scope, count, facets, the page) reads no tsvector; ranking the
    // page's documents, the second, reads theirs. The check itself is live: a phrase's recheck reads them.
    const [first] = statements.filter((s) => s.sql.trimStart().startsWith('with'));
    expect(await toastBlocksOf(() => pool.query(first!.sql, first!.parameters as unknown[]))).toBe(0);
    await index.search({ query: parseSearchQuery('"council tax"'), scope, filters: {}, sort: 'date', offset: 0, limit: 5 });
    const phrase = statements.filter((s) => s.sql.trimStart().startsWith('with')).at(-2)!;
    expect(await toastBlocksOf(() => pool.query(phrase.sql, phrase.parameters as unknown[]))).toBeGreaterThan(0);
  });

  it('an organisation more than one match tsquery holds gives the same answers', async () => {
    const grouped = new PostgresSearchIndex(db, keys, { organisationsPerTsquery: 1 });
    for (const query of ['council', 'council tax -draft', 'counc* OR rates', '"council tax" rates', 'rates -draft*']) {
      for (const sort of ['relevance', 'date'] as const) {
        const request = { query: parseSearchQuery(query), scope, filters: {}, sort, offset: 0, limit: 50 };
        const answer = await grouped.search(request);
        expect(answer.total).toBeGreaterThan(0);
        expect(answer).toEqual(await index.search(request));
      }
    }
    statements.length = 0;
    await grouped.search({ query: parseSearchQuery('council'), scope, filters: {}, sort: 'date', offset: 0, limit: 5 });
    const [first] = statements.filter((s) => s.sql.trimStart().startsWith('with'));
    expect(first!.sql.match(/t\.tsv @@/g)).toHaveLength(2);
  });
});

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
import { Kysely, PostgresDialect } from 'kysely';
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
  Plans?: PlanNode[];
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe('PostgreSQL search plan', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let db: Kysely<Schema>;
  let index: PostgresSearchIndex;
  const keys = new DerivedSearchKeys(MasterKey.fromBytes(randomBytes(32)));
  const statements: { sql: string; parameters: readonly unknown[] }[] = [];
  const organisations = [randomUUID(), randomUUID()];
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
      await db.insertInto('collections').values({ id: collectionId, organisation_id: organisationId, parent_id: null, name: 'payroll', service_area: 'payroll', classification: 'OFFICIAL', arrangement_id: null, created_at: at, deleted_at: null } as never).execute();
      for (let i = 0; i < 20; i++) {
        const documentId = randomUUID();
        const versionId = randomUUID();
        await db.insertInto('documents').values({
          id: documentId, organisation_id: organisationId, collection_id: collectionId, name: `doc ${i}.pdf`, classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
          current_version: 1, current_version_id: versionId, legal_hold: 0, arrangement_id: null, created_at: at, updated_at: at, deleted_at: null,
        } as never).execute();
        await db.insertInto('versions').values({
          id: versionId, document_id: documentId, organisation_id: organisationId, number: 1, size: 1, sha256: '0'.repeat(64), media_type: 'application/pdf', blob_id: randomUUID(),
          wrapped_key: null, key_id: 'k', scan_status: 'clean', scan_detail: null, scan_engine: null, scanned_at: null, author_id: null, created_at: at,
        } as never).execute();
        const words = i % 2 === 0 ? 'council tax rates' : 'council tax draft';
        await index.replaceDocument({ organisationId, documentId, versionId, name: `doc ${i}.pdf`, type: 'pdf', sections: [{ page: 1, text: `${words} number ${i}` }] });
      }
    }
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

  it.each(['council', 'council tax -draft', 'counc* OR rates'])('relevance, %s: matches read no tsvector, ranking reads each by TID once', async (query) => {
    const [plan, ...more] = await plansOf(query, 'relevance');
    expect(more).toEqual([]);
    const scans = onTerms(plan!);
    // One index scan per clause (and exclusion), run once for both organisations of the scope (each
    // reads the table's pages once), and one TID scan per clause for ranking.
    const parsed = parseSearchQuery(query);
    const matches = scans.filter((n) => n['Node Type'] === 'Bitmap Heap Scan');
    expect(matches.length).toBe(parsed.all.length + (parsed.none.length > 0 ? 1 : 0));
    expect(matches.map((n) => n['Actual Loops'])).toEqual(matches.map(() => 1));
    expect(scans.filter((n) => n['Node Type'] === 'Tid Scan').length).toBe(parsed.all.length);
    expect(new Set(scans.map((n) => n['Node Type']))).toEqual(new Set(['Bitmap Heap Scan', 'Tid Scan']));
    for (const node of scans) expect(node.Filter ?? '').not.toContain('@@');
    // The scope is read from each match's search_documents row alone (the copy the triggers keep),
    // with no lookup in documents or versions.
    const matched = plan!.find((n) => n['Subplan Name'] === 'CTE matched');
    expect(matched).toBeDefined();
    expect([...new Set(nodesOf(matched!).flatMap((n) => n['Relation Name'] ?? []))]).toEqual(['search_documents']);
    expect(plan!.filter((n) => n['Relation Name'] === 'documents' || n['Relation Name'] === 'versions')).toEqual([]);
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

  it('date sort, council: the matches read no tsvector', async () => {
    const [plan] = await plansOf('council', 'date');
    const scans = onTerms(plan!);
    expect(scans.filter((n) => n['Node Type'] === 'Bitmap Heap Scan').length).toBe(1);
    for (const node of scans) expect(node.Filter ?? '').not.toContain('@@');
  });
});

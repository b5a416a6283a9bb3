// SQLite's query plan for a search, read with EXPLAIN QUERY PLAN on the statements the adapter really
// runs. Its cost at 100,000 documents is set by the lookups it makes per matching section and document
// (docs/performance.md "Search"): each must go through a narrow covering index, never the tables whose
// rows hold section text or whole documents, and nothing may scan a table from end to end. SQLite only:
// PostgreSQL's planner chooses by statistics, and these indexes exist on SQLite alone.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readableScope } from '../../src/domain/access/readable-scope.js';
import { parseSearchQuery } from '../../src/domain/search/query.js';
import type { SearchSort } from '../../src/domain/search/types.js';
import type { Actor } from '../../src/domain/types.js';
import { migrate } from '../../src/db/migrate.js';
import type { Schema } from '../../src/db/schema.js';
import { SqliteSearchIndex } from '../../src/db/repos/search.sqlite.js';

const member: Actor = {
  kind: 'user', userId: 'u-1', organisationId: 'org-a', roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null,
};

describe('SQLite search plan', () => {
  let dir: string;
  let database: Database.Database;
  let db: Kysely<Schema>;
  const statements: { sql: string; parameters: readonly unknown[] }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sr-search-plan-'));
    database = new Database(path.join(dir, 'plan.db'));
    db = new Kysely<Schema>({
      dialect: new SqliteDialect({ database }),
      log: (event) => void statements.push({ sql: event.query.sql, parameters: event.query.parameters }),
    });
    await migrate(db, { dialect: 'sqlite', binary: 'blob', bigint: 'integer', rowLocks: false });
  });
  afterAll(async () => {
    await db?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  /** The plan lines ("SEARCH d USING …") of every statement one search runs. */
  async function planOf(query: string, sort: SearchSort): Promise<string[]> {
    statements.length = 0;
    await new SqliteSearchIndex(db).search({ query: parseSearchQuery(query), scope: readableScope(member, [], new Date()), filters: {}, sort, offset: 0, limit: 20 });
    const searches = statements.filter((s) => s.sql.includes('search_fts match'));
    expect(searches.length).toBeGreaterThan(0);
    return searches.flatMap((s) =>
      (database.prepare(`explain query plan ${s.sql}`).all(...(s.parameters as unknown[])) as { detail: string }[]).map((row) => row.detail));
  }

  it.each([
    ['relevance', 'council'], ['relevance', 'council tax -draft'], ['relevance', 'counc* OR rates'], ['date', 'council'],
    ['relevance', 'counc* OR rates tax OR budget'], ['date', 'counc* OR rates tax OR budget'],
  ] as [SearchSort, string][])('%s sort, %s: documents, search_documents, versions and section owners through covering indexes, no table scanned', async (sort, query) => {
    const plan = await planOf(query, sort);
    const lookups = (alias: string): string[] => plan.filter((line) => line.startsWith(`SEARCH ${alias} `));
    expect(lookups('d').length).toBeGreaterThan(0);
    for (const line of lookups('d')) expect(line).toMatch(/^SEARCH d USING COVERING INDEX documents_search_scope \(id=\? /);
    expect(lookups('v').length).toBeGreaterThan(0);
    for (const line of lookups('v')) expect(line).toBe('SEARCH v USING COVERING INDEX versions_search_scan (document_id=? AND id=? AND scan_status=?)');
    expect(lookups('sd').length).toBeGreaterThan(0);
    for (const line of lookups('sd')) expect(line).toBe('SEARCH sd USING COVERING INDEX search_documents_scope (document_id=?)');
    expect(lookups('s').length).toBeGreaterThan(0);
    for (const line of lookups('s')) expect(line).toBe('SEARCH s USING COVERING INDEX search_sections_owner (id=?)');
    // A full scan of a table (as opposed to a CTE's rows, an FTS5 match or a covering index).
    expect(plan.filter((line) => /^SCAN (d|v|s|sd|documents|versions|search_sections|search_documents)\b/.test(line))).toEqual([]);
  });

  it('relevance, an OR of twenty terms: the readable matching sections are listed once for all the terms, not once for each', async () => {
    const terms = Array.from({ length: 20 }, (_, i) => `term${i}`);
    const plan = await planOf(terms.join(' OR '), 'relevance');
    // Each term is ranked in its own FTS5 match (bm25's whole-index weights cancel only so); c0, the
    // clause's matching sections, is read once for the matched documents and once for the sections to
    // rank, which every term's match then tests against: read again for each term, an OR of twenty
    // common words took three or four times as long at 20,000 documents (docs/performance.md).
    expect(plan.filter((line) => line === 'SCAN search_fts VIRTUAL TABLE INDEX 0:M1')).toHaveLength(1 + terms.length);
    expect(plan.filter((line) => line === 'SCAN c0')).toHaveLength(2);
  });
});

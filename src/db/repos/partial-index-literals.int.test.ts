// A value a partial index's WHERE clause names is written into each statement as a literal, never bound
// as a parameter. Where a statement has a parameter in the place the index has a literal, SQLite reads the
// bound value to decide whether the index applies, and so prepares the statement afresh every time it runs
// with a new binding: about 50 µs of CPU a run here, and the name an upload claims was such a statement
// (src/db/repos/disposed-status.ts; docs/performance.md, "A statement prepared on every run"). Only SQLite
// plans this way; on PostgreSQL a literal costs nothing either way, so this runs on SQLite alone.
import Database from 'better-sqlite3-multiple-ciphers';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClamd, type TestClamd } from '../../../test/support/clamd.js';
import { auth, createOrganisation, openTestVault, upload, type RestartableTestVault, type TestUser } from '../../../test/support/vault.js';

/** The SQL of every statement run while `work` runs, prepared before or during it. */
async function statementsRun(work: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const scratch = new Database(':memory:');
  const prototype = Object.getPrototypeOf(scratch.prepare('select 1')) as Record<string, (...args: unknown[]) => unknown>;
  scratch.close();
  const originals = new Map(['run', 'get', 'all', 'iterate'].map((method) => [method, prototype[method]!]));
  for (const [method, original] of originals) {
    prototype[method] = function (this: { source: string }, ...args: unknown[]) {
      seen.push(this.source);
      return original.apply(this, args);
    };
  }
  try {
    await work();
  } finally {
    for (const [method, original] of originals) prototype[method] = original;
  }
  return seen;
}

/** A comparison a partial index's WHERE makes with a literal: `status <> 'disposed'`, `status in ('queued', 'running')`. */
interface LiteralTerm { table: string; column: string; operator: string }

/**
 * The terms of each partial index's WHERE clause that compare a column with a literal, read from the
 * schema itself, so an index added later is covered without changing this test.
 */
function literalTerms(indexes: readonly { tbl_name: string; sql: string }[]): LiteralTerm[] {
  const terms: LiteralTerm[] = [];
  for (const { tbl_name: table, sql: definition } of indexes) {
    const where = definition.slice(definition.toLowerCase().lastIndexOf(' where ') + 7);
    for (const [, column, operator] of where.matchAll(/"?(\w+)"?\s*(<>|!=|<=|>=|=|<|>|\bin\b)\s*\(?\s*'/gi)) {
      terms.push({ table, column: column!, operator: operator!.toLowerCase() === '!=' ? '<>' : operator!.toLowerCase() });
    }
  }
  return terms;
}

/** Whether the statement compares the term's column with a parameter the way the index compares it with a literal. */
function bindsInPlaceOfLiteral(statement: string, term: LiteralTerm): boolean {
  if (!new RegExp(`\\b${term.table}\\b`).test(statement)) return false;
  const operator = term.operator === '<>' ? '(?:<>|!=)' : term.operator === 'in' ? 'in\\s*\\(' : term.operator.replace(/[<>=]/g, (c) => `\\${c}`);
  return new RegExp(`"?${term.column}"?\\s*${operator}\\s*\\?`, 'i').test(statement);
}

describe('statements on tables with a partial index, on SQLite', () => {
  let clamd: TestClamd;
  let t: RestartableTestVault;
  let user: TestUser;
  let organisationId: string;
  let collectionId: string;
  beforeAll(async () => {
    clamd = await startTestClamd();
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    organisationId = org.id;
    collectionId = org.collections.payroll!;
    user = await org.user({ teams: ['payroll'] });
  });
  afterAll(async () => {
    await t?.close();
    await clamd?.stop();
  });

  it('binds none of those literals in uploads, new versions, renames, listings with and without the bin, deletion, the bin and series sweeps, text queues and job requeues', async () => {
    const { rows: indexes } = await sql<{ tbl_name: string; sql: string }>`select tbl_name, sql from sqlite_master where type = 'index' and sql like '% where %'`.execute(t.vault.store.db);
    const terms = literalTerms(indexes);
    // The two it was found with are among them.
    expect(terms).toEqual(expect.arrayContaining([{ table: 'documents', column: 'status', operator: '<>' }, { table: 'jobs', column: 'status', operator: 'in' }]));

    const repos = t.vault.store.repos;
    const failedJob = await t.vault.store.db.insertInto('jobs').values({
      kind: 'no-such-kind', payload: '{}', run_at: '2026-12-06T00:00:00.000Z', attempts: 1, max_attempts: 1, status: 'failed',
      created_at: '2026-12-06T00:00:00.000Z', unique_key: 'partial-index-literals', finished_at: '2026-12-06T00:00:00.000Z', last_error: 'failed',
    }).returning('id').executeTakeFirstOrThrow();
    const statements = await statementsRun(async () => {
      const first = await upload(t.app, user, collectionId, 'payslip.txt', 'first');
      expect(first.statusCode).toBe(201);
      const id = first.json().id as string;
      const version = await t.app.inject({ method: 'PUT', url: `/api/v1/documents/${id}/content`, headers: { ...auth(user), 'content-type': 'application/octet-stream' }, payload: 'second' });
      expect(version.statusCode).toBe(200);
      expect((await t.app.inject({ method: 'PATCH', url: `/api/v1/documents/${id}`, headers: auth(user), payload: { name: 'payslip-december.txt' } })).statusCode).toBe(200);
      for (const query of ['', '?includeDeleted=true']) {
        const listing = await t.app.inject({ method: 'GET', url: `/api/v1/collections/${collectionId}${query}`, headers: auth(user) });
        expect(listing.statusCode).toBe(200);
      }
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${id}`, headers: auth(user) })).statusCode).toBe(204);
      expect(await repos.disposal.binExpired(organisationId, '2999-01-01T00:00:00.000Z', 10)).toEqual([id]);
      expect(await repos.retention.documentsInSeries(organisationId)).toEqual([]);
      expect(await repos.documents.recentInOrganisations([organisationId], 10)).toEqual([]);
      await repos.documents.versionsAwaitingText({ statuses: ['pending'], organisationId, limit: 10 });
      expect(await repos.jobs.requeueFailed(failedJob.id, '2999-01-01T00:00:00.000Z')).toBe('requeued');
      await t.vault.worker.runDue();
    });

    const offending = statements.filter((statement) => terms.some((term) => bindsInPlaceOfLiteral(statement, term)));
    expect([...new Set(offending)]).toEqual([]);
    // It saw the statements it is about, and would have caught them as they were.
    const nameClaim = statements.find((statement) => statement.includes('"documents"."name" = ?'));
    const requeue = statements.find((statement) => statement.includes('"live"."status" in'));
    expect(nameClaim).toBeDefined();
    expect(requeue).toBeDefined();
    expect(terms.some((term) => bindsInPlaceOfLiteral(nameClaim!.replace(`'disposed'`, '?'), term))).toBe(true);
    expect(terms.some((term) => bindsInPlaceOfLiteral(requeue!.replace(`('queued', 'running')`, '(?, ?)'), term))).toBe(true);
  });
});

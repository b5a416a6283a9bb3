// Statements SQLite would prepare afresh on every run. SQLite reads the value bound to some parameters while
// it plans, and then marks the statement to be prepared again whenever that parameter is bound, which
// better-sqlite3 does on every run: 50-100 µs of CPU a run here, where running a prepared statement takes a
// few (docs/performance.md, "A statement prepared on every run"). Two such places are kept out of every
// statement the vault's everyday work runs:
// - a parameter where a partial index's WHERE clause has a literal (`status <> 'disposed'`: the name an
//   upload claims was such a statement; src/db/repos/disposed-status.ts);
// - a LIMIT or OFFSET parameter (the active key an upload wraps its file's key with, the job lease;
//   src/db/sqlite-query-compiler.ts writes a number there instead).
// Only SQLite plans this way; on PostgreSQL a literal costs nothing either way, so this runs on SQLite alone.
import Database from 'better-sqlite3-multiple-ciphers';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../services/identity.service.js';
import { startTestClamd, type TestClamd } from '../../test/support/clamd.js';
import { auth, createOrganisation, openTestVault, upload, type RestartableTestVault, type TestUser } from '../../test/support/vault.js';

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

/** A LIMIT or OFFSET the statement binds rather than writes. */
const BOUND_COUNT = /\b(?:limit|offset)\s+\?/i;

describe('the statements of everyday work, on SQLite', () => {
  let clamd: TestClamd;
  let t: RestartableTestVault;
  let user: TestUser;
  let organisationId: string;
  let collectionId: string;
  let davFolder: string;
  let davAuthorization: string;
  beforeAll(async () => {
    clamd = await startTestClamd();
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    organisationId = org.id;
    collectionId = org.collections.payroll!;
    user = await org.user({ teams: ['payroll'] });
    davFolder = `/dav/${org.slug}/payroll/`;
    const { secret } = await t.vault.credentials.createCredential(systemActor(), user.id, 'app_password', 'mapped drive');
    davAuthorization = `Basic ${Buffer.from(`${user.email}:${secret}`).toString('base64')}`;
  });
  afterAll(async () => {
    await t?.close();
    await clamd?.stop();
  });

  it('bind neither a partial index\'s literal nor a row count, in uploads, downloads, new versions, renames, listings with and without the bin, WebDAV, deletion, the bin and series sweeps, text queues, the worker and job requeues', async () => {
    const { rows: indexes } = await sql<{ tbl_name: string; sql: string }>`select tbl_name, sql from sqlite_master where type = 'index' and sql like '% where %'`.execute(t.vault.store.db);
    const terms = literalTerms(indexes);
    // The two it was found with are among them.
    expect(terms).toEqual(expect.arrayContaining([{ table: 'documents', column: 'status', operator: '<>' }, { table: 'jobs', column: 'status', operator: 'in' }]));

    const repos = t.vault.store.repos;
    const failedJob = await t.vault.store.db.insertInto('jobs').values({
      kind: 'no-such-kind', payload: '{}', run_at: '2026-12-06T00:00:00.000Z', attempts: 1, max_attempts: 1, status: 'failed',
      created_at: '2026-12-06T00:00:00.000Z', unique_key: 'statements-prepared-once', finished_at: '2026-12-06T00:00:00.000Z', last_error: 'failed',
    }).returning('id').executeTakeFirstOrThrow();
    const statements = await statementsRun(async () => {
      const first = await upload(t.app, user, collectionId, 'payslip.txt', 'first');
      expect(first.statusCode).toBe(201);
      const id = first.json().id as string;
      const version = await t.app.inject({ method: 'PUT', url: `/api/v1/documents/${id}/content`, headers: { ...auth(user), 'content-type': 'application/octet-stream' }, payload: 'second' });
      expect(version.statusCode).toBe(200);
      expect((await t.app.inject({ method: 'PATCH', url: `/api/v1/documents/${id}`, headers: auth(user), payload: { name: 'payslip-december.txt' } })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}/content`, headers: auth(user) })).statusCode).toBe(200);
      const propfind = await t.app.inject({ method: 'PROPFIND' as 'GET', url: davFolder, headers: { authorization: davAuthorization, depth: '1' } });
      expect(propfind.statusCode).toBe(207);
      expect((await t.app.inject({ method: 'GET', url: `${davFolder}payslip-december.txt`, headers: { authorization: davAuthorization } })).statusCode).toBe(200);
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

    const offending = statements.filter((statement) => terms.some((term) => bindsInPlaceOfLiteral(statement, term)) || BOUND_COUNT.test(statement));
    expect([...new Set(offending)]).toEqual([]);
    // It saw the statements it is about, and would have caught them as they were.
    const nameClaim = statements.find((statement) => statement.includes('"documents"."name" = ?'));
    const requeue = statements.find((statement) => statement.includes('"live"."status" in'));
    expect(nameClaim).toBeDefined();
    expect(requeue).toBeDefined();
    expect(terms.some((term) => bindsInPlaceOfLiteral(nameClaim!.replace(`'disposed'`, '?'), term))).toBe(true);
    expect(terms.some((term) => bindsInPlaceOfLiteral(requeue!.replace(`('queued', 'running')`, '(?, ?)'), term))).toBe(true);
    const activeKey = statements.find((statement) => statement.includes('from "organisation_keys"'));
    // The lease's first candidate set (db/repos/jobs.repo.ts leaseQuery): it is named "expired" since turns came.
    const lease = statements.find((statement) => /^with "expired" as materialized/.test(statement));
    expect(activeKey).toMatch(/ limit 1$/);
    expect(lease).toMatch(/ limit 4\)/);
    expect(BOUND_COUNT.test(activeKey!.replace(/ limit 1$/, ' limit ?'))).toBe(true);
  });
});

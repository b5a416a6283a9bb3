// The operator's list of failed jobs (`strongroom jobs failed`) and the daily pruning of finished jobs, on a
// queue holding 5,000 jobs done in the last month and 2,000 dead-lettered: the list reads its page of failed
// jobs from an index in the order it shows them, and the pruning reads the done jobs old enough to go, never
// every failed or every done job. Until 7 December the list sorted every failed job the queue had kept for
// each page, and each pruning's last batch walked every done job the queue still kept, finished too lately
// to go, on the main connection (docs/performance.md "Finished jobs and a hold's request, read by index").
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/kysely.js';
import { JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { openMigratedHandle, postgresPlan, record, sqlitePlan, type RecordedStatement } from '../support/recorded-statements.js';
import { DIALECTS } from '../support/vault.js';

const DONE = 5000;
const FAILED = 2000;
const OLD_DONE = 10;
const PAGE = 20;

describe.each(DIALECTS)('the finished jobs\' reads on %s', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let jobs: JobsRepo;
  const start = Date.UTC(2026, 10, 1);
  const at = (i: number) => new Date(start + i * 1000).toISOString();
  // Done jobs finished from day 40 on; the first OLD_DONE finished on day 1; failed ones all through.
  const day = 86_400;
  const failedFinishedAt = (i: number) => at(day + i * 600);

  beforeAll(async () => {
    ({ handle, close } = await openMigratedHandle(dialect, 'jobsfin'));
    const db = handle.db;
    jobs = new JobsRepo(db, handle.caps);
    const row = (i: number, status: 'done' | 'failed', runAt: string, finishedAt: string) => ({
      kind: 'replicate', payload: '{}', run_at: runAt, attempts: 1, max_attempts: 5, lease_until: null, last_error: status === 'failed' ? 'boom' : null,
      status, created_at: runAt, finished_at: finishedAt, unique_key: null, lane: 'background', organisation_id: null, turn: i, weight: 1,
    });
    const rows = [
      ...Array.from({ length: OLD_DONE }, (_, i) => row(i, 'done', at(day + i), at(day + i + 1))),
      ...Array.from({ length: DONE }, (_, i) => row(i, 'done', at(40 * day + i * 60), at(40 * day + i * 60 + 1))),
      ...Array.from({ length: FAILED }, (_, i) => row(i, 'failed', at(day + i * 600 - 5), failedFinishedAt(i))),
    ];
    for (let from = 0; from < rows.length; from += 500) await db.insertInto('jobs').values(rows.slice(from, from + 500) as never).execute();
    // PostgreSQL's autovacuum gathers statistics on its own; Strongroom never runs ANALYZE on SQLite.
    if (dialect === 'postgres') await sql`analyze jobs`.execute(db);
  });
  afterAll(async () => {
    await close?.();
  });

  /** Reads of the jobs table at most `rows` rows deep, with no scan of it nor a sort; each that does not is named with its plan. */
  async function expectByIndex(statements: RecordedStatement[], rows: number): Promise<void> {
    expect(statements.length).toBeGreaterThan(0);
    const wrong: string[] = [];
    for (const statement of statements) {
      if (dialect === 'sqlite') {
        const details = await sqlitePlan(handle.db, statement);
        // A search whose range holds only what is wanted, in the order wanted: failed jobs by when they failed, done ones finished before the cutoff.
        const read = details.filter((d) => /\bjobs\b/.test(d) && !/^SEARCH jobs USING INTEGER PRIMARY KEY/.test(d));
        if (details.some((d) => /TEMP B-TREE/.test(d)) || !read.every((d) => /^SEARCH jobs USING (COVERING )?INDEX jobs_finished \(status=\?( AND finished_at<\?)?\)/.test(d))) {
          wrong.push(`${statement.source}\n${details.join('\n')}`);
        }
      } else {
        const nodes = await postgresPlan(handle.db, statement);
        const over = nodes.filter((n) => n['Relation Name'] === 'jobs');
        const read = Math.max(0, ...over.map((n) => (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)));
        // A sort is of the rows found to return or delete, at most `rows`.
        if (over.some((n) => n['Node Type'] === 'Seq Scan') || nodes.some((n) => n['Node Type'] === 'Sort' && (n['Actual Rows'] ?? 0) > rows) || read > rows) {
          wrong.push(`${statement.source}\n${nodes.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''} ${(n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)}`).join('\n')}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }

  it('lists a page of the failed jobs, the most recently failed first, from their own index', async () => {
    const { result, statements } = await record(() => jobs.failed(PAGE));
    expect(result.map((j) => j.finishedAt)).toEqual(Array.from({ length: PAGE }, (_, k) => failedFinishedAt(FAILED - 1 - k)));
    await expectByIndex(statements, PAGE);
  });

  it('prunes the done jobs finished before the cutoff, reading those and no later one', async () => {
    const before = at(30 * day);
    const old = await handle.db.selectFrom('jobs').selectAll().where('status', '=', 'done').where('finished_at', '<', before).execute();
    const { result, statements } = await record(() => jobs.deleteFinished(before, 1000));
    expect(result).toBe(OLD_DONE);
    // Its plan read with the rows it deleted back in place, as it found them.
    await handle.db.insertInto('jobs').values(old as never).execute();
    await expectByIndex(statements, OLD_DONE);
    expect(await jobs.deleteFinished(before, 1000)).toBe(OLD_DONE);
    // Nothing left to prune: the run's last batch, which finds nothing, reads nothing.
    const again = await record(() => jobs.deleteFinished(before, 1000));
    expect(again.result).toBe(0);
    await expectByIndex(again.statements, OLD_DONE);
    const left = await handle.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number | string>().as('n')).where('status', '=', 'done').executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(DONE);
  });
});

// What the operator's failed-jobs list, the daily pruning of done jobs and a hold's release cost on a large vault:
// builds an encrypted SQLite database with the real schema, N done jobs finished over the last 30 days (kept, none
// old enough to prune), N / 50 dead-lettered, and N / 5 subject access requests with two parts and a hold each, with
// the server's 2 MiB main-connection page cache; times a page of 100 failed jobs, the pruning's last batch (which
// finds nothing to delete) and the open request keeping a hold, without migrations 202612250200 and 202612250300's
// indexes (the prune as the statement it replaced) and with them; then what the new jobs index costs a job's life
// (queued, leased, completed: 2,000 jobs, without it and with it).
// Usage: node --no-warnings --import tsx bench/finished-jobs-reads.ts [N]  (default 1,000,000; about 2 minutes)
import { sql } from 'kysely';
import { openSqlite } from '../src/db/kysely.js';
import { up as indexFinishedJobs } from '../src/db/migrations/202612250200_finished_jobs.js';
import { up as indexPartsHold } from '../src/db/migrations/202612250300_subject_access_parts_hold.js';
import { JobsRepo } from '../src/db/repos/jobs.repo.js';
import { SubjectAccessRepo } from '../src/db/repos/subject-access.repo.js';
import { rescanJob } from '../src/domain/jobs/kinds.js';
import { onMigratedDatabase } from './lib/migrated-database.js';
import { timeThrice } from './lib/timed-reads.js';

const n = Number(process.argv[2] ?? 1_000_000);
const requests = Math.floor(n / 5);
const LIFE = 2000;
await onMigratedDatabase('srb-finished-jobs-', async ({ file, key, build }) => {
  // Timed first as the release before them found them: without the two migrations' indexes.
  for (const index of ['jobs_finished', 'subject_access_parts_hold']) await build.db.schema.dropIndex(index).execute();
  const now = Date.UTC(2026, 11, 7);
  const at = (ms: number) => new Date(ms).toISOString();
  const month = 30 * 86_400_000;
  // Done jobs finished through the last 29 days; failed ones through the last year.
  await sql`with recursive k(i) as (select 0 union all select i + 1 from k where i < ${n - 1})
    insert into jobs (kind, payload, run_at, attempts, max_attempts, status, created_at, finished_at, organisation_id, turn)
    select 'extract-text', '{"versionId":"v' || i || '"}', strftime('%Y-%m-%dT%H:%M:%fZ', (${now - month + 86_400_000} + i * ${Math.floor((month - 86_400_000) / n)}) / 1000.0, 'unixepoch'),
      1, 3, 'done', '2026-11-01T00:00:00.000Z', strftime('%Y-%m-%dT%H:%M:%fZ', (${now - month + 86_400_000} + i * ${Math.floor((month - 86_400_000) / n)} + 1000) / 1000.0, 'unixepoch'), null, i from k`.execute(build.db);
  await sql`with recursive k(i) as (select 0 union all select i + 1 from k where i < ${n / 50 - 1})
    insert into jobs (kind, payload, run_at, attempts, max_attempts, status, created_at, finished_at, organisation_id, turn, last_error)
    select 'replicate', '{"versionId":"f' || i || '"}', strftime('%Y-%m-%dT%H:%M:%fZ', (${now - 12 * month} + i * 600000) / 1000.0, 'unixepoch'),
      40, 40, 'failed', '2025-11-01T00:00:00.000Z', strftime('%Y-%m-%dT%H:%M:%fZ', (${now - 12 * month} + i * 600000 + 1000) / 1000.0, 'unixepoch'), null, i, 'bucket unreachable' from k`.execute(build.db);
  await build.db.insertInto('organisations').values([
    { id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: at(now) },
    { id: 'o2', slug: 'o2', name: 'O2', kind: 'district', region: 'North', created_at: at(now) },
  ] as never).execute();
  await sql`with recursive k(i) as (select 0 union all select i + 1 from k where i < ${requests - 1})
    insert into subject_access_requests (id, organisation_id, reference, subject_name, subject_details, received_on, due_on, status, opened_at)
    select 'r' || i, case when i % 2 then 'o2' else 'o1' end, 'SAR-' || i, 'A', '{}', '2025-01-01', '2025-02-01', case when i % 10 = 0 then 'open' else 'closed' end, '2025-01-01T00:00:00.000Z' from k`.execute(build.db);
  await sql`insert into subject_access_parts (request_id, organisation_id, asked_at, hold_id)
    select r.id, o.id, '2025-01-01T00:00:00.000Z', 'h-' || r.id || '-' || o.id from subject_access_requests r, organisations o`.execute(build.db);
  await build.close();
  // Opened again as the server opens its main connection: a 2 MiB page cache.
  const handle = openSqlite({ file, key, mainCacheMib: 2 });
  const jobs = new JobsRepo(handle.db, handle.caps);
  const subjectAccess = new SubjectAccessRepo(handle.db, handle.caps);
  const time = (label: string, read: () => Promise<unknown>) => timeThrice(label, 58, read);
  const cutoff = at(now - month);
  const openHold = `h-r${Math.floor(requests / 20) * 10}-o2`;
  /** Queues, leases and completes LIFE jobs one at a time, as the worker does; the mean per job. */
  const life = async (label: string) => {
    const start = performance.now();
    for (let i = 0; i < LIFE; i++) {
      const t = new Date(now + i * 10);
      await jobs.enqueue(rescanJob, { since: t.toISOString(), signatures: `${label}-${i}` }, { now: t, organisationId: null });
      const [job] = await jobs.lease(rescanJob.lane, t.toISOString(), new Date(t.getTime() + 60_000).toISOString(), 1);
      if (!job) throw new Error('nothing leased');
      await jobs.complete(job.id, job.attempts, t.toISOString());
    }
    process.stdout.write(`${`a job's life (queued, leased, completed), ${label}`.padEnd(58)} ${((performance.now() - start) / LIFE * 1000).toFixed(0)} µs a job (mean of ${LIFE})\n`);
  };
  process.stdout.write(`${n.toLocaleString('en-GB')} done jobs (none to prune), ${(n / 50).toLocaleString('en-GB')} failed, ${requests.toLocaleString('en-GB')} subject access requests; three runs each, on the event loop\n`);
  await time('a page of 100 failed jobs, before', () => jobs.failed(100));
  // The statement the pruning ran until 7 December; it finds nothing to delete here, so it can run again.
  await time('the pruning\'s last batch (none to delete), before', () => sql`delete from jobs where id in (select id from jobs where status = 'done' and finished_at < ${cutoff} order by run_at limit 1000)`.execute(handle.db));
  await time('the open request keeping a hold, before', () => subjectAccess.openRequestHolding(openHold));
  await life('before');
  let start = performance.now();
  await indexFinishedJobs(handle.db);
  process.stdout.write(`${'migration 202612250200 (jobs_finished)'.padEnd(58)} ${(performance.now() - start).toFixed(0)} ms\n`);
  start = performance.now();
  await indexPartsHold(handle.db);
  process.stdout.write(`${'migration 202612250300 (subject_access_parts_hold)'.padEnd(58)} ${(performance.now() - start).toFixed(0)} ms\n`);
  await time('a page of 100 failed jobs, now', () => jobs.failed(100));
  await time('the pruning\'s last batch (none to delete), now', () => jobs.deleteFinished(cutoff, 1000));
  await time('the open request keeping a hold, now', () => subjectAccess.openRequestHolding(openHold));
  await life('now');
  if ((await subjectAccess.openRequestHolding(openHold))?.status !== 'open') throw new Error('the hold\'s open request was not found');
  await handle.close();
});

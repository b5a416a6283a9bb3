// Finished jobs read from an index in the order each reader wants them. The operator's list of dead-lettered
// jobs (`strongroom jobs failed`) asks for the most recently failed first, a page at a time; the only index by
// status was (status, run_at), so each read fetched every failed job the queue has kept (they stay until retried)
// and sorted them all for one page. The daily pruning of done jobs read them in run_at order and kept those
// finished before the cutoff, so its last batch walked every done job kept (a month's) to find none.
// (status, finished_at, id) gives both: a page of failed jobs in order, the done jobs finished before the cutoff
// as one range. Not a partial index over failed jobs: SQLite matches a partial index's `status = 'failed'`
// against every `status = ?` the queue binds, and would prepare the lease and a job's completion afresh at
// every run (db/repos/disposed-status.ts says why); this one costs every job's changes of status an entry.
import type { Kysely } from 'kysely';

export const FINISHED_JOBS_MIGRATION = '202612250200_finished_jobs';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('jobs_finished').on('jobs').columns(['status', 'finished_at', 'id']).execute();
}

// The job lease reads the oldest queued jobs in (run_at, id) order, cut at the batch size. On
// PostgreSQL jobs_due (status, run_at) could not give that order, so every lease read and sorted all
// the queued jobs: 4.4 ms a lease with 20,000 waiting, about the queue of a 10,000-file import, and
// growing with it. With id in the index the lease reads the first few in order. SQLite's index already
// ends in the rowid, which is the id, so it reads in that order as it is.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'postgres') return;
  await sql`create index jobs_due_in_order on jobs (status, run_at, id)`.execute(db);
  await sql`drop index jobs_due`.execute(db);
}

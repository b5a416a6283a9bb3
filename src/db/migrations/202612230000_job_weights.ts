// Weighed turns in the job queue. Turns counted jobs, not their cost: a council's 200 scanned 50 MB PDFs
// (half a minute of OCR each) went one for one with another's 100 letters (10 ms each), whose letters were
// found by search only after about 100 of the long jobs. Each row now has a weight, 1 plus a unit per MiB of
// the content it processes (domain/jobs/define-job.ts, jobWeight), and an organisation's next job takes
// its turn that many turns after its last (db/repos/jobs.repo.ts). Rows queued before weigh 1, as every
// job did. The database holds every weight between 1 and MAX_JOB_WEIGHT (written here as it was): none
// can turn an organisation's turns back, nor push them toward the turns of jobs queued for later (10^15).
import { sql, type Kysely } from 'kysely';

export const JOB_WEIGHTS_MIGRATION = '202612230000_job_weights';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs')
    .addColumn('weight', 'integer', (c) => c.notNull().defaultTo(1).check(sql`weight between 1 and 1000000`))
    .execute();
}

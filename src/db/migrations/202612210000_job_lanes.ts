// Lanes in the job queue, so that work someone is waiting on never queues behind bulk work. Until now the
// worker took every kind in one line, oldest first, one job at a time: a large upload's scan or a security
// notice's e-mail waited behind a whole import's text extraction (150,000 jobs), a long OCR or the daily
// backup. Each row now names its lane, written when it is queued from its kind's definition
// (domain/jobs/define-job.ts), and each lane is leased on its own from an index over the live rows only.
// Rows of the kinds that were in the mail and availability lanes when this was written are put there;
// every other row is background.
import { sql, type Kysely } from 'kysely';

export const JOB_LANES_MIGRATION = '202612210000_job_lanes';

const LANES_WHEN_WRITTEN = { mail: ['send-email', 'send-account-notice-summary'], availability: ['scan-version'] };

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs')
    .addColumn('lane', 'text', (c) => c.notNull().defaultTo(sql`'background'`).check(sql`lane in ('mail', 'availability', 'background')`))
    .execute();
  for (const [lane, kinds] of Object.entries(LANES_WHEN_WRITTEN)) await db.updateTable('jobs').set({ lane }).where('kind', 'in', kinds).execute();
  // Only queued and running rows are ever leased: done ones (a month of them) stay out of this index. The lease
  // names these statuses as literals, as the index has them (db/repos/jobs.repo.ts).
  await db.schema.createIndex('jobs_lane_due').on('jobs').columns(['lane', 'status', 'run_at', 'id'])
    .where(sql<boolean>`status in ('queued', 'running')`).execute();
}

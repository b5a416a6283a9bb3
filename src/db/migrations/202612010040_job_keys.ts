// Jobs: a unique key so the same work enqueued twice is one live job, and an index for the worker's
// look-up of expired leases. At most one queued or running job per key; finished ones keep their key.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, _caps: DialectCaps): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('unique_key', 'text').execute();
  await db.schema
    .createIndex('jobs_live_unique_key')
    .on('jobs')
    .column('unique_key')
    .unique()
    .where(sql<boolean>`status in ('queued', 'running')`)
    .execute();
}

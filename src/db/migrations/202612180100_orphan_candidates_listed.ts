// When a sweep last listed each orphan candidate's blob (services/orphan-blobs.service.ts): a sweep marks the
// candidates its listing found, then forgets in one statement those first seen and last listed before it
// began (their blob is gone from the store), instead of asking the store about each candidate in turn.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orphan_blob_candidates').addColumn('listed_at', 'text').execute();
}

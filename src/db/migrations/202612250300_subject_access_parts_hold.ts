// The subject access request keeping a legal hold found by the part naming the hold. Releasing a hold asks
// whether an open request keeps it (HoldsService.release, before and inside its transaction); with no index on
// the parts' hold, each release read every part of every council's requests, which are kept for good.
import type { Kysely } from 'kysely';

export const SUBJECT_ACCESS_PARTS_HOLD_MIGRATION = '202612250300_subject_access_parts_hold';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('subject_access_parts_hold').on('subject_access_parts').column('hold_id').execute();
}

// The subject access request a notice is about, so a partner's DPO is shown it only while they may still
// answer that request (arrangement in force, request open). Such notices from before name none and are no
// longer shown (the safe side: the subject access register still lists the requests).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').addColumn('request_id', 'text').execute();
}

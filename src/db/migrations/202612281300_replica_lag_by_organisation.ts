// Each council's offsite replica lag read from its own waiting versions. A council's Storage page
// (`/admin/storage`, its org admins and security admins) shows how many of its own versions wait for the
// replica (until 8 December it showed the whole vault's, so one council's admin counted another's uploads as
// they happened). Counted by organisation, SQLite's planner took the index of the organisation's versions
// (versions_organisation_scan) and read every version the council has, and PostgreSQL's read every council's
// waiting versions from versions_awaiting_replica (created_at only), even beside an index by organisation. This
// one replaces it: the same live versions still waiting, by organisation, so a council's count costs what its own
// lag is, and the whole vault's (/metrics) what the vault's is, as before.
import type { Kysely } from 'kysely';
import { AWAITING_REPLICA } from './202612230100_versions_awaiting_replica.js';

export const REPLICA_LAG_BY_ORGANISATION_MIGRATION = '202612281300_replica_lag_by_organisation';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('versions_awaiting_replica_by_organisation').on('versions').columns(['organisation_id', 'created_at']).where(AWAITING_REPLICA).execute();
  await db.schema.dropIndex('versions_awaiting_replica').execute();
}

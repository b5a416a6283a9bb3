// The offsite replica's lag read from the versions it concerns, not from the whole vault. The lag gauges
// (`/metrics`, read at every scrape, and the Storage page) counted the live versions with no replicated
// copy by joining every version to `blob_replicas`: a full scan of the versions table on every read, about
// 9 s on the main connection for a vault of a million versions, three times a scrape (one per gauge).
// Each version now carries when the replica got its blob (`replicated_at`, as `blob_replicas` has it), and a
// partial index holds only the live versions still waiting for it, so the count costs what the lag is.
import { sql, type Kysely } from 'kysely';

export const VERSIONS_AWAITING_REPLICA_MIGRATION = '202612230100_versions_awaiting_replica';

/** The index's condition, written as the lag's query repeats it (db/repos/replicas.repo.ts). */
export const AWAITING_REPLICA = sql<boolean>`replicated_at is null and wrapped_key is not null`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('versions').addColumn('replicated_at', 'text').execute();
  // Copied from the ledger, once; from now on the replication job writes both in one transaction.
  await sql`update versions set replicated_at = (select r.replicated_at from blob_replicas r where r.blob_id = versions.blob_id)
    where exists (select 1 from blob_replicas r where r.blob_id = versions.blob_id and r.replicated_at is not null)`.execute(db);
  await db.schema.createIndex('versions_awaiting_replica').on('versions').column('created_at').where(AWAITING_REPLICA).execute();
}

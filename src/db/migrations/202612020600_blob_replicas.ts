// The offsite replica's ledger: one row per version blob the replica has held (copied, deleted, or a
// delete the replica refused), and what the scrub found about it. A live version with no row here (or
// none with replicated_at) is replica lag. Keyed by blob id, as the replica names its objects.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('blob_replicas')
    .addColumn('blob_id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull())
    /** When the replica last received a whole, durable copy (null: not yet, or deleted since). */
    .addColumn('replicated_at', 'text')
    /** When the replica copy was deleted after the version was destroyed. */
    .addColumn('deleted_at', 'text')
    /** Why the replica refused the delete (a write-once bucket); the key is gone, so it is unreadable anyway. */
    .addColumn('delete_refused', 'text')
    .addColumn('scrubbed_at', 'text')
    /** Set when the scrub found both copies bad or missing; cleared when a good copy is seen again. */
    .addColumn('unrecoverable_at', 'text')
    .execute();
  await db.schema.createIndex('blob_replicas_version').on('blob_replicas').column('version_id').execute();
  await db.schema.createIndex('blob_replicas_unrecoverable').on('blob_replicas').column('unrecoverable_at').execute();
}

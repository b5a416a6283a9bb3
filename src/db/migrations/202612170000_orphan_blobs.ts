// The garbage collection of orphan blobs (services/orphan-blobs.service.ts): each blob a sweep found in
// a store (the primary or the offsite replica) that nothing in the database names, with when a sweep
// first saw it, and `condemned_at` once a later sweep decided to delete it. A version or thumbnail
// written for a condemned blob is refused (db/repos/blob-references.ts), so a delete never races a commit.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('orphan_blob_candidates')
    /** 'primary' or 'replica'. */
    .addColumn('store', 'text', (c) => c.notNull())
    .addColumn('blob_id', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addColumn('condemned_at', 'text')
    .addPrimaryKeyConstraint('orphan_blob_candidates_pk', ['store', 'blob_id'])
    .execute();
  // The fence on every write of a blob reference looks the id up whatever the store.
  await db.schema.createIndex('orphan_blob_candidates_blob').on('orphan_blob_candidates').column('blob_id').execute();
  // "Does any version name this blob as its thumbnail?" is asked for every candidate.
  await db.schema.createIndex('versions_thumbnail_blob').on('versions').column('thumbnail_blob_id').execute();
}

// Write locks bound to resources (a document, or a collection with its depth) instead of WebDAV path
// strings. Locks are short-lived (an hour by default), so the old path-keyed ones are dropped, not converted.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dav_locks').ifExists().execute();
  await db.schema
    .createTable('resource_locks')
    .addColumn('token', 'text', (c) => c.primaryKey())
    // The organisation that owns the locked resource: its admins may list and break the lock.
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('document_id', 'text', (c) => c.references('documents.id'))
    .addColumn('collection_id', 'text', (c) => c.references('collections.id'))
    .addColumn('depth', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('owner', 'text')
    // WebDAV lock-root, for lockdiscovery only; coverage is decided by ids.
    .addColumn('root_path', 'text', (c) => c.notNull())
    .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addCheckConstraint('resource_locks_one_resource', sql`(document_id IS NULL) <> (collection_id IS NULL)`)
    .execute();
  await db.schema.createIndex('resource_locks_organisation').on('resource_locks').columns(['organisation_id', 'expires_at']).execute();
}

// Upload slots: every upload in progress, in any process, holds one row while its body arrives, so
// the upload limits bound the whole cluster rather than each process. A slot is a lease renewed
// while the upload runs; a crashed process's slots expire. The one-row table is what admission
// locks (a row lock on PostgreSQL, the write lock on SQLite) so that counting and taking a slot are
// one step across processes.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema
    .createTable('upload_slots')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('client_address', 'text')
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('upload_slots_expires_at').on('upload_slots').column('expires_at').execute();
  await db.schema
    .createTable('upload_admission')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('admissions', caps.bigint, (c) => c.notNull())
    .execute();
  await db.insertInto('upload_admission').values({ id: 1, admissions: 0 }).execute();
}

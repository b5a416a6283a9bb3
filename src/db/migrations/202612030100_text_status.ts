// Each version's text extraction state (pending from commit until the extract-text job ends it) and its
// first-page thumbnail: an encrypted blob like the version's own, under its own data key and binding.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema.alterTable('versions').addColumn('text_status', 'text', (c) => c.notNull().defaultTo('pending')).execute();
  await db.schema.alterTable('versions').addColumn('text_reason', 'text').execute();
  await db.schema.alterTable('versions').addColumn('thumbnail_blob_id', 'text').execute();
  await db.schema.alterTable('versions').addColumn('thumbnail_wrapped_key', caps.binary).execute();
  await db.schema.alterTable('versions').addColumn('thumbnail_key_id', 'text').execute();
  await db.schema.alterTable('versions').addColumn('thumbnail_size', caps.bigint).execute();
}

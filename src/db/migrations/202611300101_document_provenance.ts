// Where a copied document came from: the source document and, for a copy across organisations, the
// arrangement that allowed reading it. Kept on the copy so the trail survives the source's disposal.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, _caps: DialectCaps): Promise<void> {
  await db.schema.alterTable('documents').addColumn('copied_from_document_id', 'text').execute();
  await db.schema.alterTable('documents').addColumn('copied_via_arrangement_id', 'text').execute();
  await db.schema.createIndex('documents_copied_from').on('documents').column('copied_from_document_id').execute();
}

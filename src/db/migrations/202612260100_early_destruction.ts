// A records manager's early destruction: a disposal batch of kind 'early' proposes, for destruction before
// their retention ends, named documents that are in the bin, with the records manager's reason (the batch's
// row holds the text; its audit events hold only the reason's SHA-256). Every batch before this is a sweep's.
import type { Kysely } from 'kysely';

export const EARLY_DESTRUCTION_MIGRATION = '202612260100_early_destruction';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('disposal_batches').addColumn('kind', 'text', (c) => c.notNull().defaultTo('due')).execute();
  await db.schema.alterTable('disposal_batches').addColumn('early_reason', 'text').execute();
}

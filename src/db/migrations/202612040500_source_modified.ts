// When the file a version came from was last modified at its source (a migrated file share keeps its
// own history): set by `strongroom import` and by an upload that names it; null for everything else.
// On the version, as size and hash are, so the document shows its current version's and an older
// version keeps the time of the file it came from.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('versions').addColumn('source_modified_at', 'text').execute();
}

// An index on the host of each arrangement. Every signed-in request asks which arrangements involve
// the actor's organisation (ArrangementsRepo.involving: hosted by it, or with it as a party); the
// party side had an index, the host side did not, so SQLite read the whole arrangements table on
// every request — every council's arrangements, a cost that grows with the vault, not the council.
// With both sides indexed SQLite answers with a MULTI-INDEX OR of two lookups
// (test/webdav/folder-scale.int.test.ts asserts no statement of a WebDAV GET or PUT scans a table).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('arrangements_host').on('arrangements').column('host_organisation_id').execute();
}

// An organisation's documents read a page at a time in id order. The daily disposal sweep (one a day for
// every organisation) and a series' revision read every document of the council that is not disposed, to
// work out which are filed in a series; the only index by organisation was (organisation_id, updated_at), so
// the read was one statement over the whole council, sorted, with every row and every row's retention facts
// held at once on the main connection. With (organisation_id, id) each page of the read is one index range.
import type { Kysely } from 'kysely';

export const DOCUMENTS_BY_ORGANISATION_ID_MIGRATION = '202612250400_documents_by_organisation_id';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('documents_organisation_id').on('documents').columns(['organisation_id', 'id']).execute();
}

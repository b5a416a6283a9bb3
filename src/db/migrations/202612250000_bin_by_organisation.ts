// An organisation's bin read from an index of binned documents, not found among all of its documents. The
// daily bin purge (one purge-bin job a day for every organisation) asks for the documents deleted before the
// bin's cutoff, oldest first; the only index by organisation was (organisation_id, updated_at), so each run
// read every document of the council, live or long purged (a purged document keeps its deleted_at), and
// sorted the few binned ones: a council's whole size on the main connection, every day, for a bin usually
// empty or nearly so. The index holds only what is in a bin, so the read costs what the bin holds.
import { sql, type Kysely } from 'kysely';

export const BIN_BY_ORGANISATION_MIGRATION = '202612250000_bin_by_organisation';

/**
 * The index's condition: in the bin (deleted, and not yet purged or disposed of). The purge's query repeats
 * it as it is here (db/repos/disposal.repo.ts), as SQLite uses a partial index only for a query that has its
 * WHERE term as one of its own; 'disposed' is a literal for the reason db/repos/disposed-status.ts gives.
 */
export const IN_THE_BIN = sql<boolean>`deleted_at is not null and status <> 'disposed'`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('documents_bin').on('documents').columns(['organisation_id', 'deleted_at', 'id']).where(IN_THE_BIN).execute();
}
